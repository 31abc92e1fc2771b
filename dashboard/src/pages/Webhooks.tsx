import { useEffect, useState } from 'preact/hooks';
import { useAction, useApp, useLoad, usePaged } from '../context';
import { DELIVERY_STATUSES, EVENT_TYPES, fmtDateTime, fmtRelative, fmtUntil } from '../format';
import { href, navigate } from '../router';
import { JsonBlock, SafeText } from '../text';
import type { Delivery, WebhookEventType, Webhook, WebhookWithSecret } from '../types';
import { ConfirmDialog, DeleteCard, Empty, ErrorNotice, Loading, PageHeader, SecretPanel, StatusBadge } from '../ui';

const PAGE = 100;
const DELIVERY_PAGE = 50;

const SECRET_WHY = 'OakAuth keeps it only to sign deliveries and never shows it again.';

/** The endpoint list (#/webhooks) and the form that registers one. */
export function Webhooks() {
  const list = usePaged(async (c, cursor) => {
    const page = await c.listWebhooks({ limit: PAGE, cursor });
    return { items: page.webhooks, next_cursor: page.next_cursor };
  }, []);
  const { items: webhooks, first, more } = list;
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<WebhookWithSecret>();

  return (
    <>
      <PageHeader title="Webhooks">
        {!creating && !created && (
          <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
            New endpoint
          </button>
        )}
      </PageHeader>
      <p class="muted">
        OakAuth posts events (an approval requested, decided or expired, denied calls, key rotations, agent changes) to
        your endpoints, signed the Standard Webhooks way (<code>webhook-id</code>, <code>webhook-timestamp</code>,{' '}
        <code>webhook-signature</code>) with each endpoint's secret. A delivery that fails is tried again with growing
        pauses for more than a day; an endpoint that answers <code>410 Gone</code> is disabled.
      </p>
      {creating && (
        <CreateWebhookForm
          onCancel={() => setCreating(false)}
          onCreated={(res) => {
            setCreating(false);
            setCreated(res);
            first.reload();
          }}
        />
      )}
      {created && (
        <div class="card">
          <SecretPanel
            title="Endpoint created: its signing secret"
            secret={created.secret}
            noun="secret"
            why={SECRET_WHY}
            testId="new-webhook-secret"
            onDone={() => setCreated(undefined)}
          >
            <p class="muted small">
              Give it to the receiver at <code>{created.url}</code>: it verifies each delivery's{' '}
              <code>webhook-signature</code> with it (the Standard Webhooks libraries take the <code>whsec_…</code> form
              as it is).
            </p>
          </SecretPanel>
          <p>
            <a href={href(`webhooks/${created.id}`)}>Open this endpoint and its delivery log</a>
          </p>
        </div>
      )}
      {first.error && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {!first.data && first.loading && <Loading label="Loading endpoints…" />}
      {first.data && webhooks.length === 0 && !creating && !created && (
        <Empty title="No webhook endpoints yet.">
          <p>Register an https endpoint to hear about approvals as they are requested, without watching this dashboard.</p>
          <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
            Add your first endpoint
          </button>
        </Empty>
      )}
      {webhooks.length > 0 && (
        <div class="card table-card">
          <div class="table-wrap">
            <table class="responsive" data-testid="webhooks-table">
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">Events</th>
                  <th scope="col">Status</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {webhooks.map((w) => (
                  <tr key={w.id} data-webhook-id={w.id}>
                    <th scope="row" data-label="Endpoint" class="webhook-url">
                      <div>
                        <a href={href(`webhooks/${w.id}`)}>{w.url}</a>
                        {w.description && (
                          <p class="muted small">
                            <SafeText text={w.description} />
                          </p>
                        )}
                      </div>
                    </th>
                    <td data-label="Events">
                      <EventChips types={w.event_types} />
                    </td>
                    <td data-label="Status">
                      <StatusBadge enabled={w.enabled} />
                    </td>
                    <td data-label="Created">{fmtDateTime(w.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {more.error && <ErrorNotice error={more.error} />}
          {list.hasMore && (
            <button type="button" class="btn" onClick={list.loadMore} disabled={more.pending}>
              {more.pending ? 'Loading…' : 'Load more endpoints'}
            </button>
          )}
        </div>
      )}
    </>
  );
}

function EventChips({ types }: { types: WebhookEventType[] }) {
  return (
    <span class="chips" aria-label="Event types">
      {types.map((t) => (
        <span key={t} class="chip">
          {t}
        </span>
      ))}
    </span>
  );
}

/** What an endpoint form holds: the URL, the event types, the description. */
interface EndpointFields {
  url: string;
  events: WebhookEventType[];
  description: string;
}

/** The endpoint body, or a sentence saying what to fix. The API checks the URL itself and says why it refuses one. */
function endpointBody(v: EndpointFields): { url: string; event_types: WebhookEventType[]; description: string } | string {
  const url = v.url.trim();
  if (!url) return 'Give the endpoint’s URL, like https://hooks.example.com/oakauth.';
  if (!/^https?:\/\//i.test(url)) return 'The URL must start with https:// (plain http:// only to 127.0.0.1 where the deployment allows it, for local work).';
  if (v.events.length === 0) return 'Choose at least one event type.';
  return { url, event_types: v.events, description: v.description.trim() };
}

function EndpointFieldset({ idPrefix, value, onChange }: { idPrefix: string; value: EndpointFields; onChange: (v: EndpointFields) => void }) {
  const toggle = (t: WebhookEventType, on: boolean) =>
    onChange({ ...value, events: EVENT_TYPES.map((e) => e.type).filter((e) => (e === t ? on : value.events.includes(e))) });
  return (
    <>
      <div class="field">
        <label for={`${idPrefix}-url`}>Endpoint URL</label>
        <input
          id={`${idPrefix}-url`}
          type="url"
          class="mono"
          value={value.url}
          maxLength={2048}
          spellcheck={false}
          placeholder="https://hooks.example.com/oakauth"
          aria-describedby={`${idPrefix}-url-help`}
          onInput={(e) => onChange({ ...value, url: e.currentTarget.value })}
        />
        <p id={`${idPrefix}-url-help`} class="help">
          https only, and not a private, loopback or link-local address.
        </p>
      </div>
      <fieldset class="fieldset">
        <legend>Event types</legend>
        <ul class="event-types">
          {EVENT_TYPES.map((e) => (
            <li key={e.type}>
              <label class="check">
                <input type="checkbox" checked={value.events.includes(e.type)} onChange={(ev) => toggle(e.type, ev.currentTarget.checked)} />
                <code>{e.type}</code>
              </label>
              <span class="help">{e.explain}</span>
            </li>
          ))}
        </ul>
      </fieldset>
      <div class="field">
        <label for={`${idPrefix}-description`}>Description (optional)</label>
        <input
          id={`${idPrefix}-description`}
          value={value.description}
          maxLength={1000}
          placeholder="Slack relay for the on-call approver"
          onInput={(e) => onChange({ ...value, description: e.currentTarget.value })}
        />
      </div>
    </>
  );
}

function CreateWebhookForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (w: WebhookWithSecret) => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [fields, setFields] = useState<EndpointFields>({
    url: '',
    events: EVENT_TYPES.filter((e) => e.default).map((e) => e.type),
    description: '',
  });

  async function submit(e: Event) {
    e.preventDefault();
    const body = endpointBody(fields);
    if (typeof body === 'string') return action.setError(body);
    const res = await action.run(() => client.createWebhook({ ...body, description: body.description || undefined }));
    if (res) {
      notify('Endpoint created.');
      onCreated(res);
    }
  }

  return (
    <form class="card form" onSubmit={submit} aria-labelledby="create-webhook-title" noValidate>
      <h2 id="create-webhook-title">New endpoint</h2>
      <EndpointFieldset idPrefix="new-webhook" value={fields} onChange={setFields} />
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        <button type="button" class="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="btn btn-primary" disabled={action.pending}>
          {action.pending ? 'Creating…' : 'Create endpoint'}
        </button>
      </div>
    </form>
  );
}

/** One endpoint (#/webhooks/{id}?status=…): its settings, secret, delivery log and deletion. */
export function WebhookDetail({ webhookId, query }: { webhookId: string; query: URLSearchParams }) {
  const loaded = useLoad((c) => c.getWebhook(webhookId), [webhookId]);
  const [current, setCurrent] = useState<Webhook>();
  const w = current ?? loaded.data;
  const crumbs = (
    <p class="crumbs">
      <a href={href('webhooks')}>← Webhooks</a>
    </p>
  );
  if (!w) {
    return (
      <>
        {crumbs}
        {loaded.error ? <ErrorNotice error={loaded.error} onRetry={loaded.reload} /> : <Loading label="Loading the endpoint…" />}
      </>
    );
  }
  return (
    <>
      {crumbs}
      <PageHeader title="Webhook endpoint">
        <StatusBadge enabled={w.enabled} />
      </PageHeader>
      <p class="webhook-url">
        <code class="strong" data-testid="webhook-url">
          {w.url}
        </code>
      </p>
      <div class="grid">
        <EndpointSettings webhook={w} onSaved={setCurrent} />
        <SecretCard webhook={w} onRotated={setCurrent} />
      </div>
      <Deliveries key={query.toString()} webhook={w} query={query} />
      <DeleteEndpoint webhook={w} />
    </>
  );
}

function EndpointSettings({ webhook: w, onSaved }: { webhook: Webhook; onSaved: (w: Webhook) => void }) {
  const { client, notify } = useApp();
  const save = useAction();
  const toggle = useAction();
  const [fields, setFields] = useState<EndpointFields>({ url: w.url, events: w.event_types, description: w.description });

  async function setEnabled(enabled: boolean) {
    const res = await toggle.run(() => client.updateWebhook(w.id, { enabled }));
    if (res) {
      onSaved(res);
      notify(enabled ? 'Endpoint enabled: deliveries resume.' : 'Endpoint disabled: nothing is sent to it.');
    }
  }
  async function submit(e: Event) {
    e.preventDefault();
    const body = endpointBody(fields);
    if (typeof body === 'string') return save.setError(body);
    const res = await save.run(() => client.updateWebhook(w.id, body));
    if (res) {
      onSaved(res);
      notify('Endpoint saved.');
    }
  }

  return (
    <section class="card" aria-labelledby="endpoint-title">
      <h2 id="endpoint-title">Endpoint</h2>
      <div class="status-row">
        <p>
          {w.enabled
            ? 'Enabled: events of the chosen types are sent to it.'
            : 'Disabled: nothing is sent to it, and redelivering waits until it is enabled again.'}
        </p>
        <button
          type="button"
          class={`btn ${w.enabled ? 'btn-danger-outline' : 'btn-primary'}`}
          disabled={toggle.pending}
          onClick={() => setEnabled(!w.enabled)}
        >
          {w.enabled ? 'Disable endpoint' : 'Enable endpoint'}
        </button>
      </div>
      {w.disabled_reason && !w.enabled && (
        <p class="warning" data-testid="disabled-reason">
          OakAuth disabled it: <SafeText text={w.disabled_reason} />. Enable it once the receiver is fixed.
        </p>
      )}
      {toggle.error && <ErrorNotice error={toggle.error} />}
      <form class="form" onSubmit={submit} noValidate>
        <EndpointFieldset idPrefix="edit-webhook" value={fields} onChange={setFields} />
        {save.error && <ErrorNotice error={save.error} />}
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={save.pending}>
            {save.pending ? 'Saving…' : 'Save endpoint'}
          </button>
        </div>
      </form>
      <p class="muted small">
        Created {fmtDateTime(w.created_at)}; updated {fmtDateTime(w.updated_at)}.
      </p>
    </section>
  );
}

const SECRET_OVERLAPS = [
  { seconds: 0, label: 'Stops signing now' },
  { seconds: 3600, label: 'Keeps signing for 1 hour' },
  { seconds: 86_400, label: 'Keeps signing for 24 hours' },
  { seconds: 604_800, label: 'Keeps signing for 7 days' },
];

/** True while a rotated-out secret still signs. */
function rotating(w: Webhook): boolean {
  return !!w.secret_rotating_until && new Date(w.secret_rotating_until).getTime() > Date.now();
}

function SecretCard({ webhook: w, onRotated }: { webhook: Webhook; onRotated: (w: Webhook) => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [open, setOpen] = useState(false);
  const [overlap, setOverlap] = useState(86_400);
  const [rotated, setRotated] = useState<WebhookWithSecret>();

  async function rotate() {
    const res = await action.run(() => client.rotateWebhookSecret(w.id, { overlap_seconds: overlap }));
    if (res) {
      setOpen(false);
      setRotated(res);
      onRotated(res);
      notify('New signing secret issued.');
    }
  }

  return (
    <section class="card" aria-labelledby="secret-title">
      <h2 id="secret-title">Signing secret</h2>
      {rotated ? (
        <SecretPanel title="New signing secret" secret={rotated.secret} noun="secret" why={SECRET_WHY} testId="new-webhook-secret" onDone={() => setRotated(undefined)}>
          {rotating(rotated) ? (
            <p class="muted" data-testid="secret-overlap">
              The old secret keeps signing until {fmtDateTime(rotated.secret_rotating_until!)}: until then every delivery
              carries two signatures, one per secret, so the receiver can switch to the new one at its own pace.
            </p>
          ) : (
            <p class="muted" data-testid="secret-overlap">
              The old secret no longer signs: switch the receiver to the new one now.
            </p>
          )}
        </SecretPanel>
      ) : (
        <>
          <p class="muted">
            Receivers verify each delivery with the secret, which is shown only when it is made. Rotate it if it may have
            leaked; the old one can keep signing for a while so the receiver can switch without missing a delivery.
          </p>
          {rotating(w) && (
            <p class="small" data-testid="secret-overlap">
              The previous secret also signs until {fmtDateTime(w.secret_rotating_until!)}.
            </p>
          )}
          <button type="button" class="btn" onClick={() => (action.setError(undefined), setOpen(true))}>
            Rotate secret
          </button>
        </>
      )}
      <ConfirmDialog
        open={open}
        title="Rotate this endpoint's secret?"
        confirmLabel="Rotate secret"
        pending={action.pending}
        error={action.error}
        onConfirm={rotate}
        onCancel={() => setOpen(false)}
      >
        <p>A new secret is made and shown once. Give it to the receiver before the old one stops signing.</p>
        <label for="secret-overlap">Old secret</label>
        <select id="secret-overlap" value={overlap} onChange={(e) => setOverlap(Number(e.currentTarget.value))}>
          {SECRET_OVERLAPS.map((o) => (
            <option key={o.seconds} value={o.seconds}>
              {o.label}
            </option>
          ))}
        </select>
      </ConfirmDialog>
    </section>
  );
}

function deliveryStatusInfo(status: string) {
  return DELIVERY_STATUSES.find((s) => s.status === status) ?? { status, label: status, tone: 'muted' as const };
}

/** The endpoint's delivery log, newest first, with a status filter and a Redeliver button on each. */
function Deliveries({ webhook: w, query }: { webhook: Webhook; query: URLSearchParams }) {
  const status = DELIVERY_STATUSES.find((s) => s.status === query.get('status'))?.status;
  const [changed, setChanged] = useState<Map<string, Delivery>>(new Map());
  const list = usePaged(async (c, cursor) => {
    const page = await c.listWebhookDeliveries(w.id, { status, limit: DELIVERY_PAGE, cursor });
    return { items: page.deliveries, next_cursor: page.next_cursor };
  }, [w.id]);
  const { first, more } = list;
  // A redelivered message as the API answered it, until the log is loaded again.
  const deliveries = list.items.map((d) => changed.get(d.id) ?? d);
  const { data } = first;
  useEffect(() => setChanged(new Map()), [data]);

  return (
    <section class="card" aria-labelledby="deliveries-title">
      <div class="section-head">
        <h2 id="deliveries-title">Delivery log</h2>
        <label class="inline-field" for="d-status">
          Status
          <select
            id="d-status"
            value={status ?? ''}
            onChange={(e) => navigate(`webhooks/${w.id}`, { status: e.currentTarget.value }, true)}
          >
            <option value="">Any</option>
            {DELIVERY_STATUSES.map((s) => (
              <option key={s.status} value={s.status}>
                {s.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="btn btn-small" onClick={first.reload} disabled={first.loading}>
          Refresh
        </button>
      </div>
      <p class="muted small">
        Each message keeps its <code>webhook-id</code> through every attempt and a redelivery, so the receiver can drop
        one it already has.
      </p>
      {first.error && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {!first.data && first.loading && <Loading label="Loading deliveries…" />}
      {first.data && deliveries.length === 0 && (
        <Empty title={status ? `No ${deliveryStatusInfo(status).label.toLowerCase()} deliveries.` : 'Nothing delivered yet.'}>
          <p>Messages to this endpoint are listed here with every attempt's outcome.</p>
        </Empty>
      )}
      {deliveries.length > 0 && (
        <ol class="delivery-list" data-testid="delivery-list">
          {deliveries.map((d) => (
            <DeliveryRow key={d.id} delivery={d} enabled={w.enabled} onChanged={(nd) => setChanged((m) => new Map(m).set(nd.id, nd))} />
          ))}
        </ol>
      )}
      {more.error && <ErrorNotice error={more.error} onRetry={list.loadMore} />}
      {list.hasMore && (
        <button type="button" class="btn" onClick={list.loadMore} disabled={more.pending}>
          {more.pending ? 'Loading…' : 'Load older deliveries'}
        </button>
      )}
    </section>
  );
}

function DeliveryRow({ delivery: d, enabled, onChanged }: { delivery: Delivery; enabled: boolean; onChanged: (d: Delivery) => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const info = deliveryStatusInfo(d.status);

  async function redeliver() {
    const res = await action.run(() => client.redeliverWebhook(d.webhook_id, d.id));
    if (res) {
      onChanged(res);
      notify('Queued for delivery again.');
    }
  }

  const lastAnswer =
    d.last_status_code !== null ? (
      <>
        HTTP <span data-testid="delivery-code">{d.last_status_code}</span>
      </>
    ) : d.attempts > 0 ? (
      'no answer'
    ) : (
      'not tried yet'
    );
  return (
    <li class={`delivery-row tone-${info.tone}`} data-delivery-id={d.id} data-status={d.status}>
      <p class="log-head">
        <span class={`badge badge-${info.tone}`} data-testid="delivery-status">
          {info.label}
        </span>
        <code class="strong">{d.event_type}</code>
        <code class="muted small">{d.id}</code>
        <time class="log-time" dateTime={d.created_at} title={fmtDateTime(d.created_at)}>
          {fmtRelative(d.created_at)}
        </time>
      </p>
      <dl class="delivery-facts small">
        <div>
          <dt>Attempts</dt>
          <dd data-testid="delivery-attempts">{d.attempts}</dd>
        </div>
        <div>
          <dt>Last answer</dt>
          <dd>{lastAnswer}</dd>
        </div>
        {d.last_error && (
          <div class="wide">
            <dt>Last error</dt>
            <dd data-testid="delivery-error">
              <SafeText text={d.last_error} />
            </dd>
          </div>
        )}
        {d.status === 'pending' && d.next_attempt_at && (
          <div>
            <dt>Next attempt</dt>
            <dd title={fmtDateTime(d.next_attempt_at)}>{fmtUntil(d.next_attempt_at)}</dd>
          </div>
        )}
        {d.delivered_at && (
          <div>
            <dt>{d.status === 'delivered' ? 'Delivered' : 'Delivered before'}</dt>
            <dd>{fmtDateTime(d.delivered_at)}</dd>
          </div>
        )}
      </dl>
      <details class="small">
        <summary>Payload</summary>
        <JsonBlock value={d.payload} testId="delivery-payload" />
      </details>
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        <button
          type="button"
          class="btn btn-small"
          disabled={action.pending}
          title={enabled ? 'Send it again now, with a fresh series of attempts' : 'The endpoint is disabled: enable it first'}
          onClick={redeliver}
        >
          {action.pending ? 'Queuing…' : 'Redeliver'}
        </button>
      </div>
    </li>
  );
}

function DeleteEndpoint({ webhook: w }: { webhook: Webhook }) {
  const { client, notify } = useApp();
  return (
    <DeleteCard
      title="Delete endpoint"
      intro="Nothing more is sent to it, and its delivery log is deleted with it."
      button="Delete endpoint…"
      dialogTitle="Delete this endpoint?"
      confirmLabel="Delete endpoint"
      remove={() => client.deleteWebhook(w.id)}
      onDeleted={() => {
        notify('Endpoint deleted.');
        navigate('webhooks');
      }}
    >
      <p>
        <code class="webhook-url">{w.url}</code> gets no more events, and its delivery log is gone. This cannot be undone.
      </p>
    </DeleteCard>
  );
}
