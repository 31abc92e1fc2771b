// How this tab is signed in. An admin key lives in sessionStorage only: it is gone when the tab
// closes, and never in a URL or localStorage. A person's session is an HttpOnly cookie the page
// cannot read; the tab keeps only which organization the person chose (not a secret).
const KEY = 'oakauth.adminKey';
const ORGANIZATION = 'oakauth.organization';

/**
 * The API this build talks to, fixed at build time (VITE_OAKAUTH_API_URL; vite.config.ts checks it and
 * writes the Content-Security-Policy that lets the page connect to it and nowhere else).
 */
export const API_URL: string = import.meta.env.VITE_OAKAUTH_API_URL;

/** Signed in with an admin key (`oakadm_…`). */
export interface KeySession {
  kind: 'key';
  adminKey: string;
  baseUrl: string;
}

/** A person signed in with single sign-on: the cookie, the organization they act in, the session's CSRF token. */
export interface PersonSession {
  kind: 'person';
  baseUrl: string;
  organizationId?: string;
  csrfToken: string;
}

export type Session = KeySession | PersonSession;

export function loadSession(): KeySession | null {
  const adminKey = sessionStorage.getItem(KEY);
  return adminKey ? { kind: 'key', adminKey, baseUrl: API_URL } : null;
}

export function saveSession(s: KeySession): void {
  sessionStorage.setItem(KEY, s.adminKey);
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** The organization a person last chose in this tab. */
export function savedOrganization(): string | null {
  return sessionStorage.getItem(ORGANIZATION);
}

export function saveOrganization(id: string | null): void {
  if (id) sessionStorage.setItem(ORGANIZATION, id);
  else sessionStorage.removeItem(ORGANIZATION);
}

/** Where single sign-on starts: the worker sends the browser to the identity provider and back to `returnTo`. */
export function signInUrl(returnTo: string, invitation?: string): string {
  const q = new URLSearchParams({ return_to: returnTo });
  if (invitation) q.set('invitation', invitation);
  return `${API_URL}/v1/auth/login?${q}`;
}

/** This page's address without its fragment's sign-in error: where the provider should send the browser back. */
export function currentPage(): string {
  return window.location.href.replace(/#?sign_in_error=[^#&]*/, '');
}

/**
 * The `sign_in_error` the worker put in the fragment after a failed sign-in (`#sign_in_error=<code>`,
 * possibly after a route), taken out of the address so a reload does not show it again.
 */
export function takeSignInError(): string | undefined {
  const m = /(^#|#|&)sign_in_error=([^#&]*)/.exec(window.location.hash);
  if (!m) return undefined;
  const rest = window.location.hash.replace(/[#&]?sign_in_error=[^#&]*/, '');
  history.replaceState(null, '', window.location.pathname + window.location.search + (rest && rest !== '#' ? rest : ''));
  return decodeURIComponent(m[2]);
}

const SIGN_IN_ERRORS: Record<string, string> = {
  signup_closed:
    'This OakAuth lets in invited people only. Ask an owner or admin of your organization for an invitation, then open its link.',
  mfa_required: 'Your organization requires a second factor. Sign in again and use your second factor at the identity provider.',
  id_token_invalid: "The identity provider's answer could not be verified, so you were not signed in. Try again; if it keeps failing, tell whoever runs OakAuth.",
  provider_error: 'The identity provider did not complete the sign-in (it refused or failed). Try again.',
  access_denied: 'The sign-in was cancelled at the identity provider.',
  invitation_expired: 'This invitation has expired. Ask for a new one.',
  invitation_revoked: 'This invitation was revoked. Ask for a new one.',
  invitation_used: 'This invitation has been used already.',
  invitation_wrong_account: 'This invitation is for another e-mail address. Sign in with the address it was sent to.',
  invitation_not_found: 'This invitation link is not valid. Check that you copied all of it.',
  invitation_invalid: 'This invitation link is not valid. Check that you copied all of it.',
};

/** A sign-in error code in words. */
export function signInErrorText(code: string): string {
  return SIGN_IN_ERRORS[code] ?? `The sign-in failed (${code}). Try again.`;
}
