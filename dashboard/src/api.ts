import { OakAuthAdmin } from 'oakauth';
import type { AdminClient } from './types';
import type { Session } from './session';

export function createClient(session: Session): AdminClient {
  const client: AdminClient = new OakAuthAdmin({
    adminKey: session.adminKey,
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
    case 403:
      return 'This key may not use the admin API. Admin keys start with oakadm_; agent keys (oak_…) only validate.';
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
