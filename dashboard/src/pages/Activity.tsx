import { useEffect, useRef, useState } from 'preact/hooks';
import { useAction, useApp, useLoad, usePaged } from '../context';
import { fmtDateTime, fmtNumber, fmtRate, fmtRelative } from '../format';
import { href, navigate } from '../router';
import type { AdminAction, AdminEvent, Agent, AuditVerification, ChainVerification, Condition } from '../types';
import { conditionText } from '../conditions';
import { escapeText } from '../text';
import { Empty, ErrorNotice, Loading, PageHeader } from '../ui';
import { allAgents } from './Logs';

const PAGE = 50;
/** The API verifies at most this many agents in one request. */
const VERIFY_MAX_AGENTS = 200;

const ACTIONS: Record<AdminAction, { label: string; tone: 'create' | 'change' | 'delete' }> = {
  'agent.create': { label: 'Agent created', tone: 'create' },
  'agent.update': { label: 'Agent updated', tone: 'change' },
  'agent.enable': { label: 'Agent enabled', tone: 'create' },
  'agent.disable': { label: 'Agent disabled', tone: 'delete' },
  'agent.rotate_key': { label: 'Key rotated', tone: 'change' },
  'agent.delete': { label: 'Agent deleted', tone: 'delete' },
  'tool.create': { label: 'Tool added', tone: 'create' },
  'tool.update': { label: 'Tool updated', tone: 'change' },
  'tool.delete': { label: 'Tool removed', tone: 'delete' },
  'rule.create': { label: 'Rule added', tone: 'create' },
  'rule.update': { label: 'Rule changed', tone: 'change' },
  'rule.delete': { label: 'Rule removed', tone: 'delete' },
  'rule.mode_change': { label: 'Rule mode changed', tone: 'change' },
  'approval.approve': { label: 'Approved', tone: 'create' },
  'approval.deny': { label: 'Approval denied', tone: 'delete' },
  'webhook.create': { label: 'Webhook added', tone: 'create' },
  'webhook.update': { label: 'Webhook changed', tone: 'change' },
  'webhook.delete': { label: 'Webhook deleted', tone: 'delete' },
  'webhook.rotate_secret': { label: 'Webhook secret rotated', tone: 'change' },
  'webhook.redeliver': { label: 'Webhook redelivered', tone: 'change' },
  'member.join': { label: 'Member joined', tone: 'create' },
  'member.role_change': { label: 'Role changed', tone: 'change' },
  'member.remove': { label: 'Member removed', tone: 'delete' },
  'member.sessions_end': { label: 'Sessions ended', tone: 'delete' },
  'invitation.create': { label: 'Invited', tone: 'create' },
  'invitation.revoke': { label: 'Invitation revoked', tone: 'delete' },
  'key.create': { label: 'Admin key created', tone: 'create' },
  'key.revoke': { label: 'Admin key revoked', tone: 'delete' },
  'organization.update': { label: 'Organization changed', tone: 'change' },
  'organization.plan_change': { label: 'Plan changed', tone: 'change' },
};

const ACTOR_TITLES: Record<string, string> = {
  user: 'The person who made the change',
  key: 'The admin key that made the change',
  system: 'OakAuth itself made the change',
};

const PEOPLE_ACTIONS = /^(member|invitation|key|organization)\./;

/**
 * Who acted, in words: "Alice (alice@example.com)" for a person, "key ‘bootstrap’ oakadm_abc…" for an
 * admin key, the key's prefix alone for events recorded before keys had names, "OakAuth (billing)" for
 * OakAuth itself (a plan change from Stripe's webhook, and the agents it disabled).
 */
export function actorText(e: AdminEvent): string {
  if (e.actor_type === 'system') return `OakAuth (${escapeText(e.actor)})`;
  if (e.actor_type === 'user') return e.actor_name ? `${escapeText(e.actor_name)} (${escapeText(e.actor)})` : escapeText(e.actor);
  return e.actor_name ? `key ‘${escapeText(e.actor_name)}’ ${e.actor}…` : `${e.actor}…`;
}

function actionInfo(action: string) {
  return ACTIONS[action as AdminAction] ?? { label: action, tone: 'change' as const };
}

/** Names the events themselves carry (an agent's or tool's name when it was created or renamed), by id. */
function namesFrom(events: AdminEvent[]): Map<string, string> {
  const names = new Map<string, string>();
  // Oldest first, so that a later rename wins.
  for (const e of [...events].reverse()) {
    if (typeof e.detail.name === 'string') names.set(e.target_id, e.detail.name);
  }
  return names;
}

/** Admin events (#/activity?agent_id=…) and the audit-log verification. */
export function Activity({ query }: { query: URLSearchParams }) {
  const agentId = query.get('agent_id') || undefined;
  const agents = useLoad(allAgents, []);
  const list = usePaged(async (c, cursor) => {
    const page = await c.listEvents({ agent_id: agentId, limit: PAGE, cursor });
    return { items: page.events, next_cursor: page.next_cursor };
  }, [agentId]);
  const { items: events, first, more, loadMore } = list;
  const [, setClock] = useState(0);
  // Re-render now and then so that "2m ago" stays true.
  useEffect(() => {
    const timer = setInterval(() => setClock((n) => n + 1), 30_000);
    return () => clearInterval(timer);
  }, []);

  const names = namesFrom(events);
  const agentName = (id: string) => agents.data?.get(id)?.name ?? names.get(id);

  return (
    <>
      <PageHeader title="Activity">
        <button type="button" class="btn" onClick={first.reload} disabled={first.loading}>
          Refresh
        </button>
      </PageHeader>
      <VerifyAudit agentName={agentName} />

      <section aria-labelledby="events-title">
        <h2 id="events-title">Admin events</h2>
        <p class="muted small">
          Every change an admin made to agents, tools, rules and webhooks, and every approval decided, newest first, with
          the admin key that made it. Keys and secrets themselves are never recorded.
        </p>
        <AgentFilter key={agentId ?? ''} current={agentId} agents={agents.data} currentName={agentId && agentName(agentId)} />
        {first.error && <ErrorNotice error={first.error} onRetry={first.reload} />}
        {!first.data && first.loading && <Loading label="Loading activity…" />}
        {first.data && events.length === 0 && (
          <Empty title={agentId ? 'No admin activity for this agent.' : 'No admin activity yet.'}>
            {agentId ? (
              <a href={href('activity')}>Show every agent</a>
            ) : (
              <p>Creating, changing and deleting agents, tools and rules is recorded here.</p>
            )}
          </Empty>
        )}
        {events.length > 0 && (
          <>
            <p class="muted small" aria-live="polite">
              Showing {events.length} event{events.length === 1 ? '' : 's'}, newest first
              {first.loading ? ' (refreshing…)' : ''}.
            </p>
            <ol class="event-list" data-testid="event-list">
              {events.map((e) => (
                <EventRow key={e.id} event={e} agentName={agentName} known={(id) => !!agents.data?.has(id)} names={names} />
              ))}
            </ol>
            {more.error && <ErrorNotice error={more.error} onRetry={loadMore} />}
            {list.hasMore ? (
              <button type="button" class="btn" onClick={loadMore} disabled={more.pending}>
                {more.pending ? 'Loading…' : 'Load older events'}
              </button>
            ) : (
              <p class="muted small">That is the oldest event{agentId ? ' of this agent' : ''}.</p>
            )}
          </>
        )}
      </section>
    </>
  );
}

function AgentFilter(props: { current?: string; currentName?: string; agents?: Map<string, Agent> }) {
  const [value, setValue] = useState(props.current ?? '');
  const list: { id: string; name: string }[] = props.agents ? [...props.agents.values()] : [];
  if (props.current && props.agents && !props.agents.has(props.current)) {
    list.push({ id: props.current, name: `${props.currentName ?? props.current} (deleted)` });
  }
  return (
    <form
      class="card filters filters-inline"
      aria-label="Filter activity"
      onSubmit={(e) => {
        e.preventDefault();
        navigate('activity', { agent_id: value }, true);
      }}
    >
      <div class="field">
        <label for="a-agent">Agent</label>
        <select id="a-agent" value={value} onChange={(e) => setValue(e.currentTarget.value)}>
          <option value="">All agents</option>
          {list.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </div>
      <div class="actions filter-actions">
        <button type="submit" class="btn btn-primary">
          Apply filter
        </button>
        <a class="btn" href={href('activity')}>
          Clear
        </a>
      </div>
    </form>
  );
}

function EventRow(props: {
  event: AdminEvent;
  agentName: (id: string) => string | undefined;
  known: (id: string) => boolean;
  names: Map<string, string>;
}) {
  const e = props.event;
  const info = actionInfo(e.action);
  const d = e.detail;
  const agent = e.agent_id;
  const agentLabel = agent ? (props.agentName(agent) ?? agent) : undefined;
  const agentLink =
    agent &&
    (props.known(agent) ? (
      <a href={href(`agents/${agent}`)}>{agentLabel}</a>
    ) : (
      <span title={agent}>{agentLabel} (deleted)</span>
    ));
  let what;
  if (e.action.startsWith('tool.')) {
    what = (
      <>
        tool <code>{typeof d.name === 'string' ? d.name : (props.names.get(e.target_id) ?? e.target_id)}</code>
        {agentLink && <> of {agentLink}</>}
      </>
    );
  } else if (e.action.startsWith('approval.')) {
    what = (
      <>
        {typeof d.tool === 'string' && typeof d.scope === 'string' && (
          <>
            <code>{d.tool}</code> · <code>{d.scope}</code>{' '}
          </>
        )}
        <a href={href(`approvals/${encodeURIComponent(e.target_id)}`)}>
          <code>{e.target_id}</code>
        </a>
        {agentLink && <> of {agentLink}</>}
      </>
    );
  } else if (e.action.startsWith('webhook.')) {
    // A redelivery's target is the message; the endpoint is in its detail.
    const webhookId = e.action === 'webhook.redeliver' && typeof d.webhook_id === 'string' ? d.webhook_id : e.target_id;
    const label = <code>{typeof d.url === 'string' ? escapeText(d.url) : e.target_id}</code>;
    what = e.action === 'webhook.delete' ? label : <a href={href(`webhooks/${encodeURIComponent(webhookId)}`)}>{label}</a>;
  } else if (e.action.startsWith('rule.')) {
    what = (
      <>
        {typeof d.tool === 'string' && typeof d.scope === 'string' ? (
          <>
            <code>{d.tool}</code> · <code>{d.scope}</code>
          </>
        ) : (
          <code>{e.target_id}</code>
        )}
        {agentLink && <> of {agentLink}</>}
      </>
    );
  } else if (PEOPLE_ACTIONS.test(e.action)) {
    const name = typeof d.email === 'string' ? d.email : typeof d.name === 'string' ? d.name : undefined;
    what = name ? <strong>{escapeText(name)}</strong> : <code>{e.target_id}</code>;
  } else {
    what = agentLink ?? <code>{e.target_id}</code>;
  }
  // What the line already says (the rule's tool and scope, the enabled flag of an enable or disable) is not repeated.
  const shown = Object.entries(d).filter(
    ([k]) =>
      !((e.action.startsWith('rule.') || e.action.startsWith('approval.')) && (k === 'tool' || k === 'scope')) &&
      !(e.action.startsWith('approval.') && k === 'decision') &&
      !(e.action.startsWith('webhook.') && k === 'url' && e.action !== 'webhook.update') &&
      !((e.action === 'agent.enable' || e.action === 'agent.disable') && k === 'enabled'),
  );
  return (
    <li class={`event-row tone-${info.tone}`} data-event-id={e.id} data-action={e.action}>
      <p class="log-head">
        <span class={`badge ${info.tone === 'create' ? 'badge-allow' : info.tone === 'delete' ? 'badge-deny' : 'badge-muted'}`}>
          {info.label}
        </span>
        <span class="event-what">{what}</span>
        <time class="log-time" dateTime={e.created_at} title={fmtDateTime(e.created_at)}>
          {fmtRelative(e.created_at)}
        </time>
      </p>
      <p class="event-meta small">
        <span class="muted">
          by{' '}
          <span class="event-actor" data-testid="event-actor" title={ACTOR_TITLES[e.actor_type] ?? 'Who made the change'}>
            {actorText(e)}
          </span>
        </span>
        {shown.length > 0 && (
          <span class="chips event-detail" data-testid="event-detail">
            {shown.map(([k, v]) => (
              <span class="chip" key={k}>
                {k.replace(/_/g, ' ')}: {detailValue(k, v)}
              </span>
            ))}
          </span>
        )}
      </p>
    </li>
  );
}

function detailValue(key: string, v: unknown): string {
  if (key === 'rate_limit' && v && typeof v === 'object' && 'capacity' in v) {
    return fmtRate(v as { capacity: number; refill_per_second: number });
  }
  // Stored text (names, descriptions, conditions' pointers and values) with invisible characters escaped.
  if (key === 'conditions' && Array.isArray(v)) {
    return v.length === 0 ? 'none' : escapeText(v.map((c) => conditionText(c as Condition)).join('; '));
  }
  if (Array.isArray(v)) return escapeText(v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x))).join(', '));
  if (v === null) return 'none';
  if (typeof v === 'object') return escapeText(JSON.stringify(v));
  if (v === '') return '(empty)';
  return escapeText(String(v));
}

/** The "Verify audit log" card: checks every agent's hash chain and shows a broken one prominently. */
function VerifyAudit({ agentName }: { agentName: (id: string) => string | undefined }) {
  const { client } = useApp();
  const action = useAction();
  const [result, setResult] = useState<{ report: AuditVerification; at: string }>();
  const summary = useRef<HTMLDivElement>(null);

  async function verify() {
    const report = await action.run(() => client.verifyAuditAll());
    if (report) setResult({ report, at: new Date().toISOString() });
  }
  // Bring the outcome into view (and to the keyboard user's focus) once it arrives.
  useEffect(() => {
    if (result) summary.current?.focus();
  }, [result]);

  const report = result?.report;
  const broken = report?.agents.filter((a) => !a.ok) ?? [];
  const rows = report?.agents.reduce((n, a) => n + a.rows_checked, 0) ?? 0;
  const name = (c: ChainVerification) => agentName(c.agent_id) ?? 'Deleted agent';
  return (
    <section class={`card verify ${report && !report.ok ? 'danger' : ''}`} aria-labelledby="verify-title" data-testid="verify-audit">
      <div class="verify-head">
        <div class="verify-intro">
          <h2 id="verify-title">Audit log integrity</h2>
          <p class="muted small">
            Each agent's decisions are chained by hash, and the chain's head is kept apart from the log. Verifying
            recomputes every row, so a decision edited or deleted in the database shows up as a broken link.
          </p>
        </div>
        <button type="button" class="btn btn-primary" onClick={verify} disabled={action.pending}>
          {action.pending ? 'Verifying…' : 'Verify audit log'}
        </button>
      </div>
      {action.pending && <Loading label="Verifying the hash chains…" />}
      {action.error && <ErrorNotice error={action.error} onRetry={verify} />}
      {report && result && (
        <div class={action.pending ? 'stale' : undefined}>
          <div tabIndex={-1} ref={summary} class="verify-summary">
            {report.agents.length === 0 ? (
              <p class="notice notice-info" role="status">
                Nothing to verify yet: no agent has made a decision.
              </p>
            ) : report.ok ? (
              <p class="notice notice-info" role="status" data-testid="verify-ok">
                <strong>Intact.</strong> All {fmtNumber(report.agents.length)} chain{report.agents.length === 1 ? '' : 's'} verified:{' '}
                {fmtNumber(rows)} decision{rows === 1 ? '' : 's'} match their hashes and end at their chain heads.
              </p>
            ) : (
              <div class="tamper" role="alert" data-testid="verify-broken">
                <h3>
                  <span aria-hidden="true">⚠ </span>The audit log has been tampered with
                </h3>
                <p>
                  {broken.length} of {report.agents.length} chain{report.agents.length === 1 ? '' : 's'} {broken.length === 1 ? 'is' : 'are'}{' '}
                  broken. Decisions from the first broken link on cannot be trusted as recorded.
                </p>
                <ul class="broken-list">
                  {broken.map((c) => (
                    <li key={c.agent_id} data-testid="broken-link" data-agent-id={c.agent_id}>
                      <p class="strong">{name(c)}</p>
                      {c.broken ? (
                        <dl class="kv">
                          <dt>Breaks at</dt>
                          <dd>
                            row <span data-testid="broken-seq">{c.broken.chain_seq}</span> of {c.head_seq}
                          </dd>
                          <dt>Problem</dt>
                          <dd data-testid="broken-problem">{c.broken.problem}</dd>
                          <dt>Decision</dt>
                          <dd>
                            {c.broken.decision_id ? (
                              <>
                                <code data-testid="broken-decision">{c.broken.decision_id}</code>{' '}
                                <a href={href(`logs/${encodeURIComponent(c.broken.decision_id)}`)}>Open this decision</a>
                              </>
                            ) : (
                              <span class="muted">None: the row is gone</span>
                            )}
                          </dd>
                        </dl>
                      ) : (
                        <p>The chain is broken.</p>
                      )}
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </div>
          {report.agents.length > 0 && (
            <div class="table-wrap">
              <table class="responsive" data-testid="verify-table">
                <caption class="sr-only">Audit chain of each agent</caption>
                <thead>
                  <tr>
                    <th scope="col">Agent</th>
                    <th scope="col">Chain</th>
                    <th scope="col" class="num">
                      Rows checked
                    </th>
                    <th scope="col" class="num">
                      Head
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {[...broken, ...report.agents.filter((a) => a.ok)].map((c) => (
                    <tr key={c.agent_id} data-agent-id={c.agent_id}>
                      <th scope="row" data-label="Agent">
                        {agentName(c.agent_id) ? name(c) : <span title={c.agent_id}>Deleted agent</span>}
                      </th>
                      <td data-label="Chain">
                        {c.ok ? (
                          <span class="badge badge-allow">Intact</span>
                        ) : (
                          <span class="badge badge-deny">Broken at row {c.broken?.chain_seq ?? '?'}</span>
                        )}
                      </td>
                      <td data-label="Rows checked" class="num">
                        {fmtNumber(c.rows_checked)}
                      </td>
                      <td data-label="Head" class="num">
                        {fmtNumber(c.head_seq)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p class="muted small">
            Checked {fmtDateTime(result.at)}
            {report.agents.length >= VERIFY_MAX_AGENTS ? ` (the first ${VERIFY_MAX_AGENTS} agents)` : ''}.
          </p>
        </div>
      )}
    </section>
  );
}
