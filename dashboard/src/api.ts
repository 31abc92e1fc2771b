import { OakAuthAdmin, OakAuthMalformedResponseError, type OakAuthAdminOptions } from 'oakauth';
import { clientHttp, type Http } from '../../sdk-ts/src/http';
import type {
  AdminClient,
  Approval,
  ApprovalDecision,
  ApprovalFilters,
  ApprovalList,
  CreateWebhook,
  Delivery,
  DeliveryFilters,
  DeliveryList,
  PageParams,
  RotateWebhookSecret,
  UpdateWebhook,
  Webhook,
  WebhookList,
  WebhookWithSecret,
} from './types';
import type { Session } from './session';

/**
 * The SDK's admin client with the approval and webhook routes (issue 15), which its `OakAuthAdmin` does
 * not have yet. They go through the SDK's own transport (the same timeout, retries, redirect refusal and
 * typed errors); once the SDK has them, this class goes and `createClient` makes an `OakAuthAdmin`.
 */
export class DashboardAdmin extends OakAuthAdmin {
  readonly #http: Http;

  constructor(options: OakAuthAdminOptions & { adminKey: string }) {
    super(options);
    this.#http = clientHttp(options.adminKey, 'an admin key is required', options);
  }

  listApprovals(filters: ApprovalFilters = {}): Promise<ApprovalList> {
    return this.#json('GET', '/v1/admin/approvals', { query: filters });
  }
  getApproval(id: string): Promise<Approval> {
    return this.#json('GET', `/v1/admin/approvals/${seg(id)}`);
  }
  /** Approves or denies a pending approval; one that is no longer pending answers 409 (`OakAuthConflictError`). */
  decideApproval(id: string, body: ApprovalDecision): Promise<Approval> {
    // Not repeated after it may have arrived: a retry would meet the decision it made and answer 409.
    return this.#json('POST', `/v1/admin/approvals/${seg(id)}/decision`, { body });
  }

  listWebhooks(page: PageParams = {}): Promise<WebhookList> {
    return this.#json('GET', '/v1/admin/webhooks', { query: page });
  }
  createWebhook(body: CreateWebhook): Promise<WebhookWithSecret> {
    return this.#json('POST', '/v1/admin/webhooks', { body });
  }
  getWebhook(id: string): Promise<Webhook> {
    return this.#json('GET', `/v1/admin/webhooks/${seg(id)}`);
  }
  updateWebhook(id: string, body: UpdateWebhook): Promise<Webhook> {
    return this.#json('PATCH', `/v1/admin/webhooks/${seg(id)}`, { body });
  }
  async deleteWebhook(id: string): Promise<void> {
    await this.#http.request('DELETE', `/v1/admin/webhooks/${seg(id)}`, { retry: 'always' });
  }
  rotateWebhookSecret(id: string, body: RotateWebhookSecret = {}): Promise<WebhookWithSecret> {
    return this.#json('POST', `/v1/admin/webhooks/${seg(id)}/rotate-secret`, { body });
  }
  listDeliveries(webhookId: string, filters: DeliveryFilters = {}): Promise<DeliveryList> {
    return this.#json('GET', `/v1/admin/webhooks/${seg(webhookId)}/deliveries`, { query: filters });
  }
  /** Sends a delivery again now; a disabled endpoint answers 409. */
  redeliver(webhookId: string, deliveryId: string): Promise<Delivery> {
    return this.#json('POST', `/v1/admin/webhooks/${seg(webhookId)}/deliveries/${seg(deliveryId)}/redeliver`);
  }

  async #json<T>(method: string, path: string, options: { body?: unknown; query?: Record<string, string | number | undefined | null> } = {}): Promise<T> {
    // A POST is not repeated after it may have reached the service, as the SDK does.
    const retry = method === 'POST' ? 'connect-only' : 'always';
    const answer = await this.#http.request(method, path, { ...options, retry });
    if (typeof answer.body !== 'object' || answer.body === null || Array.isArray(answer.body)) {
      throw new OakAuthMalformedResponseError(`OakAuth answered ${method} ${path} with HTTP ${answer.status} and no JSON object`, answer.status, answer.text, answer.requestId);
    }
    return answer.body as T;
  }
}

/** One path segment: an id must not change the route. */
function seg(id: string): string {
  if (id === '' || id === '.' || id === '..') throw new TypeError(`not an id: ${JSON.stringify(id)}`);
  return encodeURIComponent(id);
}

export function createClient(session: Session): AdminClient {
  return new DashboardAdmin({
    adminKey: session.adminKey,
    baseUrl: session.baseUrl,
    // The API URL is fixed at build time, where vite.config.ts accepts plain http only to a loopback
    // address (a local worker); the SDK refuses plain http to any other host whatever this says.
    allowInsecureLoopback: true,
    timeout: 15_000,
    // Bound to window: calling the global fetch as a method of another object throws "Illegal invocation".
    fetch: (input: RequestInfo | URL, init?: RequestInit) => window.fetch(input, init),
  });
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
