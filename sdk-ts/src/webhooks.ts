// oakauth/webhooks: checks that a webhook delivery comes from OakAuth, with the Standard Webhooks
// reference library (`standardwebhooks`), and returns its event.
import { Webhook, WebhookVerificationError as StandardWebhookError } from 'standardwebhooks';
import { OakAuthConfigurationError, OakAuthError } from './errors.js';
import type { WebhookEventType } from './types.js';

export type { WebhookEventType } from './types.js';

/** The shortest secret accepted, in bytes once decoded: shorter keys can be guessed offline from one signed message. */
export const MIN_WEBHOOK_SECRET_BYTES = 24;

const SECRET_PREFIX = 'whsec_';
const HEADERS = ['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const;

/**
 * A webhook's body: what happened (`type`), when (`timestamp`, RFC 3339, UTC; not the signing time,
 * which is the `webhook-timestamp` header) and the event's own object (`data`). Event types that a
 * newer OakAuth sends come through as they are.
 */
export interface WebhookEvent {
  type: WebhookEventType;
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * The request's headers: a fetch `Headers`, or an object of header values by name such as Node's
 * `request.headers` (names in any case).
 */
export type WebhookHeaders = { get(name: string): string | null } | Record<string, string | string[] | undefined>;

/**
 * A delivery that does not verify: a header missing, a signature that matches no secret, a
 * `webhook-timestamp` more than 5 minutes from this machine's clock (a replay, or a clock that is
 * off), or a signed body that is not an OakAuth event. Answer it with a 4xx and do not act on it.
 */
export class WebhookVerificationError extends OakAuthError {
  override name: string = 'WebhookVerificationError';
}

/**
 * Verifies webhook deliveries with one endpoint's secret.
 *
 * ```ts
 * import { WebhookVerifier } from 'oakauth/webhooks';
 *
 * const webhooks = new WebhookVerifier(process.env.OAKAUTH_WEBHOOK_SECRET!); // whsec_…
 * // in the handler, with the raw body (not re-serialized JSON):
 * const event = webhooks.verify(rawBody, request.headers);
 * if (event.type === 'approval.requested') notify(event.data);
 * ```
 *
 * Deduplicate on the `webhook-id` header: a retried message keeps its id.
 */
export class WebhookVerifier {
  readonly #webhook: Webhook;

  /**
   * `secret` is the endpoint's `whsec_…` secret, as OakAuth showed it when the endpoint was created
   * or its secret rotated. Throws {@link OakAuthConfigurationError} for anything else, and for a
   * secret shorter than 24 bytes.
   */
  constructor(secret: string) {
    checkSecret(secret);
    this.#webhook = new Webhook(secret);
  }

  /**
   * Checks a delivery and returns its event. `body` is the request body exactly as received (a
   * string, or the bytes); `headers` the request's headers. Throws {@link WebhookVerificationError}
   * when it does not verify.
   */
  verify(body: string | Uint8Array, headers: WebhookHeaders): WebhookEvent {
    const text = bodyText(body);
    const wanted = pickHeaders(headers);
    try {
      this.#webhook.verify(text, wanted, { jsonParse: false });
    } catch (err) {
      const detail = err instanceof StandardWebhookError || err instanceof Error ? err.message : String(err);
      throw new WebhookVerificationError(`OakAuth webhook did not verify: ${detail}`, { cause: err });
    }
    return readEvent(text);
  }
}

/** {@link WebhookVerifier} in one call: `new WebhookVerifier(secret).verify(body, headers)`. */
export function verifyWebhook(secret: string, body: string | Uint8Array, headers: WebhookHeaders): WebhookEvent {
  return new WebhookVerifier(secret).verify(body, headers);
}

/** `whsec_` and standard base64 (padded) of at least {@link MIN_WEBHOOK_SECRET_BYTES} bytes. The errors never repeat the secret. */
function checkSecret(secret: unknown): void {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX)) {
    throw new OakAuthConfigurationError(
      `OakAuth webhooks: the secret must be the endpoint's ${SECRET_PREFIX}… secret, as OakAuth showed it when the endpoint was created or its secret rotated`,
    );
  }
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) {
    throw new OakAuthConfigurationError(`OakAuth webhooks: the secret must be ${SECRET_PREFIX} followed by standard base64`);
  }
  const bytes = (encoded.length / 4) * 3 - (encoded.endsWith('==') ? 2 : encoded.endsWith('=') ? 1 : 0);
  if (bytes < MIN_WEBHOOK_SECRET_BYTES) {
    throw new OakAuthConfigurationError(
      `OakAuth webhooks: the secret has ${bytes} bytes; a webhook secret needs at least ${MIN_WEBHOOK_SECRET_BYTES} (OakAuth's have 32)`,
    );
  }
}

/** The body as the text that was signed; bytes that are not UTF-8 cannot have been. */
function bodyText(body: string | Uint8Array): string {
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) {
    try {
      // ignoreBOM keeps a leading byte-order mark, which the signature covers like any other byte.
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(body);
    } catch (err) {
      throw new WebhookVerificationError('OakAuth webhook did not verify: the body is not UTF-8', { cause: err });
    }
  }
  throw new TypeError('verifyWebhook: the body must be the raw request body, a string or bytes (not parsed JSON)');
}

/** The three Standard Webhooks headers, each exactly once. */
function pickHeaders(headers: WebhookHeaders): Record<string, string> {
  if (typeof headers !== 'object' || headers === null) throw new TypeError('verifyWebhook: headers must be a Headers or an object of header values');
  const lookup =
    typeof headers.get === 'function'
      ? (name: string) => (headers as { get(name: string): string | null }).get(name) ?? undefined
      : (name: string) => {
          const entries = Object.entries(headers as Record<string, unknown>).filter(([key]) => key.toLowerCase() === name);
          if (entries.length > 1) return [];
          return entries[0]?.[1];
        };
  const picked: Record<string, string> = {};
  for (const name of HEADERS) {
    const value = lookup(name);
    if (value === undefined || value === null || value === '') throw new WebhookVerificationError(`OakAuth webhook did not verify: no ${name} header`);
    if (typeof value !== 'string') throw new WebhookVerificationError(`OakAuth webhook did not verify: more than one ${name} header`);
    picked[name] = value;
  }
  // Unix seconds in digits only: the reference library would read "1700000000abc" as a number.
  if (!/^\d{1,12}$/.test(picked['webhook-timestamp']!)) {
    throw new WebhookVerificationError('OakAuth webhook did not verify: webhook-timestamp is not a Unix time in seconds');
  }
  return picked;
}

/** The signed body as an event: `{type, timestamp, data}`. */
function readEvent(text: string): WebhookEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new WebhookVerificationError('OakAuth webhook verified, but its body is not JSON', { cause: err });
  }
  const event = parsed as Record<string, unknown> | null;
  const data = event?.data;
  if (
    typeof event !== 'object' ||
    event === null ||
    Array.isArray(event) ||
    typeof event.type !== 'string' ||
    event.type === '' ||
    typeof event.timestamp !== 'string' ||
    typeof data !== 'object' ||
    data === null ||
    Array.isArray(data)
  ) {
    throw new WebhookVerificationError('OakAuth webhook verified, but its body is not an event {type, timestamp, data}');
  }
  return { type: event.type as WebhookEventType, timestamp: event.timestamp, data: data as Record<string, unknown> };
}
