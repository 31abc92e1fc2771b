import { OakAuthAdmin } from 'oakauth';
import type { AdminClient } from './types';
import { API_URL, type Session } from './session';

/**
 * The admin client for a session: an admin key as a bearer, or a person's cookie with the organization
 * they act in and the session's CSRF token (sent on writes).
 */
export function createClient(session: Session): AdminClient {
  const auth =
    session.kind === 'key'
      ? { adminKey: session.adminKey }
      : { session: { organizationId: session.organizationId, csrfToken: session.csrfToken } };
  const client: AdminClient = new OakAuthAdmin({
    ...auth,
    baseUrl: session.baseUrl,
    // The API URL is fixed at build time, where vite.config.ts accepts plain http only to a loopback
    // address (a local worker); the SDK refuses plain http to any other host whatever this says.
    allowInsecureLoopback: true,
    timeout: 15_000,
    // Bound to window: calling the global fetch as a method of another object throws "Illegal invocation".
    fetch: (input: RequestInfo | URL, init?: RequestInit) => window.fetch(input, init),
  });
  return client;
}

/** A client with the browser's session cookie only: for the sign-in configuration, the session itself, invitations. */
export function cookieClient(): AdminClient {
  return createClient({ kind: 'person', baseUrl: API_URL, csrfToken: '' });
}

interface ErrorLike {
  name?: string;
  message?: string;
  status?: number;
  code?: string;
}

function statusOf(err: unknown): number | undefined {
  const e = err as ErrorLike | null;
  return typeof e?.status === 'number' ? e.status : undefined;
}

function isConnectionFailure(err: unknown): boolean {
  const e = err as ErrorLike | null;
  if (!e || statusOf(err) !== undefined) return false;
  const name = e.name ?? '';
  return /connection|timeout|abort|network/i.test(name) || err instanceof TypeError;
}

/** True when the API refused the admin key itself: the session is over. */
export function isAuthFailure(err: unknown): boolean {
  return statusOf(err) === 401;
}

/** How every plan-limit sentence starts: `ErrorNotice` adds a link to the usage page to those. */
const PLAN_LIMIT_LEAD = 'Plan limit reached: ';

/** The API's 402 `plan_limit` message ("the Free plan allows 1 agent; upgrade to Pro for more") as a sentence. */
function planLimitText(message: string | undefined): string {
  const detail = message?.replace(/^plan_limit: /, '').trim();
  return PLAN_LIMIT_LEAD + (detail ? detail.replace(/\.?$/, '.') : 'your plan allows no more of these.');
}

/** Whether an error sentence is a plan limit's (a 402 `plan_limit` answer). */
export function isPlanLimitText(text: string): boolean {
  return text.startsWith(PLAN_LIMIT_LEAD);
}

/** A sentence for the person at the screen, saying what went wrong and what to try. */
export function describeError(err: unknown, baseUrl: string): string {
  const status = statusOf(err);
  const message = (err as ErrorLike | null)?.message?.trim();
  if (isConnectionFailure(err)) {
    if (/timeout|timed out/i.test(`${(err as ErrorLike).name} ${message}`)) {
      return `The API at ${baseUrl} did not answer in time. Try again in a moment.`;
    }
    return `Could not reach the API at ${baseUrl}. Check that the worker is running and that its CORS_ORIGINS setting includes ${window.location.origin}.`;
  }
  switch (status) {
    case 401:
      return 'The API did not accept this admin key. Check that you pasted the whole key (it starts with oakadm_).';
    case 403: {
      const code = (err as ErrorLike).code;
      const detail = message?.replace(/^[a-z_]+: /, '');
      if (code === 'forbidden') return `You cannot do this here: ${detail}.`;
      if (code === 'csrf_failed') return 'The API refused this change from this page (CSRF check). Reload the page and try again.';
      if (detail && code) return detail.charAt(0).toUpperCase() + detail.slice(1);
      return 'This key may not use the admin API. Admin keys start with oakadm_; agent keys (oak_…) only validate.';
    }
    case 402:
      if ((err as ErrorLike).code === 'plan_limit') return planLimitText(message);
      break;
    case 404:
      return 'Not found: it may have been deleted, or it belongs to another organization.';
    case 409:
      return message || 'That conflicts with the current state: reload and try again.';
    case 429: {
      // The API throttles failed sign-ins as well as busy clients; the SDK passes on its Retry-After.
      const wait = (err as { retryAfter?: number }).retryAfter;
      return `Too many requests or failed sign-ins. Try again ${wait ? `in ${wait} seconds` : 'in a moment'}.`;
    }
  }
  if (status !== undefined && status >= 500) {
    return `The API failed (HTTP ${status}). Try again; if it keeps failing, check the worker's logs.`;
  }
  return message || 'Something went wrong.';
}
