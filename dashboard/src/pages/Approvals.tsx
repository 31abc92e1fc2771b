import { useEffect, useId, useState } from 'preact/hooks';
import { useApp, useCan, useErrorText, useLoad, usePaged } from '../context';
import { APPROVAL_STATUSES, approvalStatusInfo, fmtDateTime, fmtRelative, fmtUntil } from '../format';
import { href, navigate } from '../router';
import { JsonBlock, SafeText } from '../text';
import type { Agent, Approval, ApprovalStatus } from '../types';
import { Empty, ErrorNotice, Loading, PageHeader } from '../ui';
import { allAgents } from './Logs';

const PAGE = 50;
/** How often the pending list asks for new approvals while it is shown. */
const PENDING_EVERY_MS = 10_000;

/** Re-renders every `ms` so that "expires in 4m" and "2m ago" stay true; returns the time it rendered at. */
function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [ms]);
  return now;
}

/** A pending approval whose expiry has passed is expired, whatever the list said when it was loaded. */
function statusAt(a: Approval, now: number): ApprovalStatus {
  return a.status === 'pending' && new Date(a.expires_at).getTime() <= now ? 'expired' : a.status;
}

function isConflict(err: unknown): boolean {
  return (err as { status?: unknown } | null)?.status === 409;
}

/** The approvals inbox (#/approvals) and its history (#/approvals?view=history&status=…&agent_id=…). */
export function Approvals({ query }: { query: URLSearchParams }) {
  const view = query.get('view') === 'history' ? 'history' : 'pending';
  const { pending } = useApp();
  const count = pending.count === undefined ? '' : ` (${pending.count}${pending.more ? '+' : ''})`;
  return (
    <>
      <PageHeader title="Approvals" />
      <p class="muted">
        Calls that a <code>require_approval</code> rule holds until a person decides. Approving allows the identical call
        (same agent, tool, scope and arguments) once, when the agent makes it again; denying tells the agent no, with your
        comment.
      </p>
      <nav class="tabs" aria-label="Approval views">
        <a href={href('approvals')} aria-current={view === 'pending' ? 'page' : undefined}>
          Pending{count}
        </a>
        <a href={href('approvals', { view: 'history' })} aria-current={view === 'history' ? 'page' : undefined}>
          History
        </a>
      </nav>
      {view === 'pending' ? <PendingList /> : <History key={query.toString()} query={query} />}
    </>
  );
}

function PendingList() {
  const { pending } = useApp();
  const now = useNow(5_000);
  const [outcome, setOutcome] = useState<{ kind: 'conflict' | 'done'; text: string }>();
  // Decided here: hidden at once, whichever page they were loaded with.
  const [gone, setGone] = useState<Set<string>>(new Set());
  const list = usePaged(async (c, cursor) => {
    const page = await c.listApprovals({ status: 'pending', limit: PAGE, cursor });
    return { items: page.approvals, next_cursor: page.next_cursor };
  }, []);
  const { first, more } = list;
  const { reload } = first;
  const refreshCount = pending.refresh;

  // New approvals show up without a reload while the inbox is open.
  useEffect(() => {
    const timer = setInterval(reload, PENDING_EVERY_MS);
    return () => clearInterval(timer);
  }, [reload]);
  // The navigation's count follows what this list shows.
  useEffect(() => {
    if (first.data) refreshCount();
  }, [first.data, refreshCount]);

  const approvals = list.items.filter((a) => !gone.has(a.id));

  function decided(a: Approval, conflict?: Approval) {
    setOutcome(conflict ? { kind: 'conflict', text: conflictText(conflict) } : { kind: 'done', text: doneText(a) });
    setGone((g) => new Set(g).add(a.id));
    reload();
  }

  return (
    <section aria-labelledby="pending-title">
      <h2 id="pending-title" class="sr-only">
        Pending approvals
      </h2>
      {outcome && (
        <div
          class={`notice ${outcome.kind === 'conflict' ? 'notice-error' : 'notice-info'}`}
          role={outcome.kind === 'conflict' ? 'alert' : 'status'}
          data-testid="decision-outcome"
        >
          <p>{outcome.text}</p>
          <button type="button" class="btn btn-small" onClick={() => setOutcome(undefined)}>
            Dismiss
          </button>
        </div>
      )}
      {first.error && <ErrorNotice error={first.error} onRetry={reload} />}
      {!first.data && first.loading && <Loading label="Loading pending approvals…" />}
      {first.data && approvals.length === 0 && (
        <Empty title="Nothing waits for a decision.">
          <p>
            When an agent's call meets a rule with the effect <code>require_approval</code>, it shows up here. This page
            checks for new ones every {PENDING_EVERY_MS / 1000} seconds.
          </p>
        </Empty>
      )}
      {approvals.length > 0 && (
        <>
          <div class="section-head">
            <p class="muted small" aria-live="polite">
              {approvals.length} pending, newest first{first.loading ? ' (refreshing…)' : ''}.
            </p>
            <button type="button" class="btn btn-small" onClick={reload} disabled={first.loading}>
              Refresh
            </button>
          </div>
          <ol class="approval-list" data-testid="approval-list">
            {approvals.map((a) => (
              <ApprovalCard key={a.id} approval={a} now={now} onDecided={decided} />
            ))}
          </ol>
          {more.error && <ErrorNotice error={more.error} onRetry={list.loadMore} />}
          {list.hasMore && (
            <button type="button" class="btn" onClick={list.loadMore} disabled={more.pending}>
              {more.pending ? 'Loading…' : 'Load more'}
            </button>
          )}
        </>
      )}
    </section>
  );
}

function callText(a: Approval): string {
  return `${a.tool} · ${a.scope} for ${a.agent_name ?? 'a deleted agent'}`;
}

function doneText(a: Approval): string {
  return a.status === 'approved'
    ? `Approved ${callText(a)}. The agent's identical call is allowed once, until ${fmtDateTime(a.expires_at)}.`
    : `Denied ${callText(a)}. The agent is told so${a.comment ? ', with your comment' : ''}.`;
}

/** Says what the approval became when someone (or its expiry) got there first. */
function conflictText(a: Approval): string {
  const status = approvalStatusInfo(a.status).label.toLowerCase();
  const by = a.decided_by ? ` by ${a.decided_by}…` : '';
  const at = a.decided_at ? ` at ${fmtDateTime(a.decided_at)}` : '';
  const why =
    a.status === 'expired'
      ? 'It expired before a decision was made.'
      : a.status === 'cancelled'
        ? 'The agent withdrew it.'
        : 'Someone else decided first.';
  return `Not changed: the approval for ${callText(a)} is already ${status}${by}${at}. ${why}`;
}

/**
 * One approval: the call it is for (agent, tool, scope, redacted arguments, reasoning), when it was asked and
 * expires, its details, and either the decision form (pending) or how it ended.
 */
export function ApprovalCard(props: {
  approval: Approval;
  now: number;
  /** After a decision: the decided approval, or (409) the approval as it now stands. */
  onDecided?: (a: Approval, conflict?: Approval) => void;
  open?: boolean;
}) {
  const a = props.approval;
  const status = statusAt(a, props.now);
  const info = approvalStatusInfo(status);
  return (
    <li class={`approval tone-${info.tone}`} data-approval-id={a.id} data-status={status}>
      <p class="log-head">
        <span class={`badge badge-${info.tone}`} data-testid="approval-status">
          {info.label}
        </span>
        <span class="approval-call">
          {a.agent_name ? (
            <a href={href(`agents/${a.agent_id}`)} data-testid="approval-agent">
              {a.agent_name}
            </a>
          ) : (
            <span class="muted" title={a.agent_id}>
              Deleted agent
            </span>
          )}{' '}
          asks for{' '}
          <code class="strong" data-testid="approval-tool">
            {a.tool}
          </code>{' '}
          ·{' '}
          <code class="strong" data-testid="approval-scope">
            {a.scope}
          </code>
        </span>
        <time class="log-time" dateTime={a.created_at} title={fmtDateTime(a.created_at)}>
          asked {fmtRelative(a.created_at, props.now)}
        </time>
      </p>
      {status === 'pending' && (
        <p class="approval-expiry small" data-testid="approval-expiry">
          Expires {fmtUntil(a.expires_at, props.now)} ({fmtDateTime(a.expires_at)}); if nobody decides by then, the agent
          is told it expired, not that it was denied.
        </p>
      )}
      <div class="approval-body">
        <div class="approval-part">
          <h3 class="approval-label">Reasoning</h3>
          {a.reasoning?.trim() ? (
            <p class="approval-reasoning" data-testid="approval-reasoning">
              <SafeText text={a.reasoning} />
            </p>
          ) : (
            <p class="muted small">No reasoning given.</p>
          )}
        </div>
        <div class="approval-part">
          <h3 class="approval-label">Arguments (secrets redacted)</h3>
          {a.arguments && Object.keys(a.arguments).length > 0 ? (
            <JsonBlock value={a.arguments} testId="approval-arguments" />
          ) : (
            <p class="muted small">No arguments.</p>
          )}
        </div>
      </div>
      {status !== 'pending' && <Outcome approval={a} status={status} />}
      <details class="small" open={props.open}>
        <summary>Details</summary>
        <ApprovalDetails approval={a} />
      </details>
      {status === 'pending' && props.onDecided && <DecideOrExplain approval={a} onDecided={props.onDecided} />}
    </li>
  );
}

function Outcome({ approval: a, status }: { approval: Approval; status: ApprovalStatus }) {
  const by = a.decided_by && (
    <>
      {' '}
      by{' '}
      {a.decided_by.includes('@') ? (
        <span title="The person who decided">{a.decided_by}</span>
      ) : (
        <code title="The admin key that decided">{a.decided_by}…</code>
      )}
    </>
  );
  const at = a.decided_at && (
    <>
      {' '}
      <time dateTime={a.decided_at} title={fmtDateTime(a.decided_at)}>
        {fmtRelative(a.decided_at)}
      </time>
    </>
  );
  let text;
  switch (status) {
    case 'approved':
      text = (
        <>
          Approved{by}
          {at}. The identical call may run once, until {fmtDateTime(a.expires_at)}.
        </>
      );
      break;
    case 'consumed':
      text = (
        <>
          Approved{by}
          {at}, then used
          {a.consumed_by && (
            <>
              {' '}
              by decision <a href={href(`logs/${encodeURIComponent(a.consumed_by)}`)}>{a.consumed_by}</a>
            </>
          )}
          {a.consumed_at && <> at {fmtDateTime(a.consumed_at)}</>}.
        </>
      );
      break;
    case 'denied':
      text = (
        <>
          Denied{by}
          {at}.
        </>
      );
      break;
    case 'expired':
      text = a.decided_at ? (
        <>
          Approved{by}
          {at}, but the call was not made before {fmtDateTime(a.expires_at)}.
        </>
      ) : (
        <>Nobody decided before {fmtDateTime(a.expires_at)}. The agent was told it expired, not that it was denied.</>
      );
      break;
    case 'cancelled':
      text = <>The agent withdrew it{at}.</>;
      break;
    default:
      text = <>{approvalStatusInfo(status).explain}</>;
  }
  return (
    <div class="approval-outcome" data-testid="approval-outcome">
      <p class="small">{text}</p>
      {a.comment && (
        <blockquote class="approval-comment" data-testid="approval-comment">
          <SafeText text={a.comment} />
        </blockquote>
      )}
    </div>
  );
}

function ApprovalDetails({ approval: a }: { approval: Approval }) {
  return (
    <dl class="kv">
      <dt>Approval</dt>
      <dd>
        <code>{a.id}</code> <a href={href(`approvals/${encodeURIComponent(a.id)}`)}>Link to this approval</a>
      </dd>
      <dt>Agent</dt>
      <dd>
        {a.agent_name ? <a href={href(`agents/${a.agent_id}`)}>{a.agent_name}</a> : 'Deleted agent'} <code class="muted">{a.agent_id}</code>
      </dd>
      <dt>Asked by decision</dt>
      <dd>
        <a href={href(`logs/${encodeURIComponent(a.requested_by)}`)}>{a.requested_by}</a>
      </dd>
      <dt>Rule</dt>
      <dd>
        <code>{a.rule_id}</code> <span class="muted small">as of {fmtDateTime(a.rule_version)}: a changed rule asks again</span>
      </dd>
      <dt>Arguments digest</dt>
      <dd>
        <code title="SHA-256 of the canonical JSON (RFC 8785) of the call's full arguments: the approval is for these exactly">
          {a.arguments_digest}
        </code>
      </dd>
      <dt>Asked</dt>
      <dd>{fmtDateTime(a.created_at)}</dd>
      <dt>Expires</dt>
      <dd>{fmtDateTime(a.expires_at)}</dd>
      {a.decided_at && (
        <>
          <dt>Decided</dt>
          <dd>
            {fmtDateTime(a.decided_at)}
            {a.decided_by && (
              <>
                {' '}
                by <code>{a.decided_by}…</code>
              </>
            )}
          </dd>
        </>
      )}
      {a.consumed_at && (
        <>
          <dt>Used</dt>
          <dd>
            {fmtDateTime(a.consumed_at)}
            {a.consumed_by && (
              <>
                {' '}
                by <a href={href(`logs/${encodeURIComponent(a.consumed_by)}`)}>{a.consumed_by}</a>
              </>
            )}
          </dd>
        </>
      )}
    </dl>
  );
}

const COMMENT_MAX = 1000;

/** The decision form for admins; viewers are told who can decide. */
function DecideOrExplain(props: { approval: Approval; onDecided: (a: Approval, conflict?: Approval) => void }) {
  if (!useCan('admin')) return <p class="muted small">An admin or owner of this organization decides this approval.</p>;
  return <DecideForm {...props} />;
}

function DecideForm({ approval: a, onDecided }: { approval: Approval; onDecided: (a: Approval, conflict?: Approval) => void }) {
  const { client, pending } = useApp();
  const errorText = useErrorText();
  const id = useId();
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState<'approve' | 'deny'>();
  const [error, setError] = useState<string>();

  async function decide(decision: 'approve' | 'deny') {
    const text = comment.trim();
    setBusy(decision);
    setError(undefined);
    try {
      const decided = await client.decideApproval(a.id, { decision, ...(text ? { comment: text } : {}) });
      pending.refresh();
      onDecided(decided);
    } catch (err) {
      if (isConflict(err)) {
        // Someone (or the clock) got there first: say what it is now.
        const now = await client.getApproval(a.id).catch(() => undefined);
        pending.refresh();
        if (now) return onDecided(a, now);
      }
      setError(errorText(err));
    } finally {
      setBusy(undefined);
    }
  }

  return (
    <form class="approval-decide" aria-label={`Decide on ${a.tool} ${a.scope}`} onSubmit={(e) => e.preventDefault()}>
      <div class="field">
        <label for={`${id}-comment`}>Comment (optional)</label>
        <textarea
          id={`${id}-comment`}
          rows={2}
          maxLength={COMMENT_MAX}
          value={comment}
          aria-describedby={`${id}-help`}
          onInput={(e) => setComment(e.currentTarget.value)}
        />
        <p id={`${id}-help`} class="help">
          Shown to the agent with the decision, and kept in the history.
        </p>
      </div>
      {error && <ErrorNotice error={error} />}
      <div class="actions">
        <button type="button" class="btn btn-danger" disabled={!!busy} onClick={() => decide('deny')}>
          {busy === 'deny' ? 'Denying…' : 'Deny'}
        </button>
        <button type="button" class="btn btn-primary" disabled={!!busy} onClick={() => decide('approve')}>
          {busy === 'approve' ? 'Approving…' : 'Approve'}
        </button>
      </div>
    </form>
  );
}

const HISTORY_STATUSES = APPROVAL_STATUSES.filter((s) => s.status !== 'pending');

/** Decided, expired, cancelled and used approvals, newest first, filtered by status and agent. */
function History({ query }: { query: URLSearchParams }) {
  const status = (HISTORY_STATUSES.find((s) => s.status === query.get('status'))?.status ?? undefined) as ApprovalStatus | undefined;
  const agentId = query.get('agent_id') || undefined;
  const now = useNow(30_000);
  const agents = useLoad(allAgents, []);
  const list = usePaged(async (c, cursor) => {
    const page = await c.listApprovals({ status, agent_id: agentId, limit: PAGE, cursor });
    return { items: page.approvals, next_cursor: page.next_cursor };
  }, []);
  const { first, more } = list;
  // Without a status filter the list has the pending approvals too: the inbox shows those.
  const approvals = list.items.filter((a) => statusAt(a, now) !== 'pending');
  return (
    <section aria-labelledby="history-title">
      <h2 id="history-title" class="sr-only">
        Approval history
      </h2>
      <HistoryFilter status={status} agentId={agentId} agents={agents.data} />
      {first.error && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {!first.data && first.loading && <Loading label="Loading the history…" />}
      {first.data && approvals.length === 0 && !list.hasMore && (
        <Empty title={status || agentId ? 'No approvals match these filters.' : 'No decided approvals yet.'}>
          <p>Approved, denied, expired, cancelled and used approvals are listed here, newest first.</p>
        </Empty>
      )}
      {approvals.length > 0 && (
        <ol class="approval-list" data-testid="approval-history">
          {approvals.map((a) => (
            <ApprovalCard key={a.id} approval={a} now={now} />
          ))}
        </ol>
      )}
      {more.error && <ErrorNotice error={more.error} onRetry={list.loadMore} />}
      {first.data &&
        (list.hasMore ? (
          <button type="button" class="btn" onClick={list.loadMore} disabled={more.pending}>
            {more.pending ? 'Loading…' : 'Load older approvals'}
          </button>
        ) : (
          approvals.length > 0 && <p class="muted small">That is the oldest approval{status || agentId ? ' matching these filters' : ''}.</p>
        ))}
    </section>
  );
}

function HistoryFilter(props: { status?: ApprovalStatus; agentId?: string; agents?: Map<string, Agent> }) {
  const [status, setStatus] = useState<string>(props.status ?? '');
  const [agentId, setAgentId] = useState(props.agentId ?? '');
  const list = props.agents ? [...props.agents.values()] : [];
  return (
    <form
      class="card filters"
      aria-label="Filter the history"
      onSubmit={(e) => {
        e.preventDefault();
        navigate('approvals', { view: 'history', status, agent_id: agentId }, true);
      }}
    >
      <div class="field">
        <label for="h-status">Status</label>
        <select id="h-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
          <option value="">Any outcome</option>
          {HISTORY_STATUSES.map((s) => (
            <option key={s.status} value={s.status} title={s.explain}>
              {s.label}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="h-agent">Agent</label>
        <select id="h-agent" value={agentId} onChange={(e) => setAgentId(e.currentTarget.value)}>
          <option value="">All agents</option>
          {list.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
          {props.agentId && props.agents && !props.agents.has(props.agentId) && <option value={props.agentId}>Deleted agent</option>}
        </select>
      </div>
      <div class="actions filter-actions">
        <button type="submit" class="btn btn-primary">
          Apply filters
        </button>
        <a class="btn" href={href('approvals', { view: 'history' })}>
          Clear
        </a>
      </div>
    </form>
  );
}

/** One approval (#/approvals/{id}), decidable when pending: the address a notification can link to. */
export function ApprovalPage({ approvalId }: { approvalId: string }) {
  const loaded = useLoad((c) => c.getApproval(approvalId), [approvalId]);
  const [current, setCurrent] = useState<{ approval: Approval; conflict: boolean }>();
  const now = useNow(5_000);
  const a = current?.approval ?? loaded.data;
  return (
    <>
      <p class="crumbs">
        <a href={href('approvals')}>← Approvals</a>
      </p>
      <PageHeader title="Approval" />
      {current?.conflict && (
        <p class="notice notice-error" role="alert" data-testid="decision-outcome">
          {conflictText(current.approval)}
        </p>
      )}
      {current && !current.conflict && (
        <p class="notice notice-info" role="status" data-testid="decision-outcome">
          {doneText(current.approval)}
        </p>
      )}
      {loaded.error && <ErrorNotice error={loaded.error} onRetry={loaded.reload} />}
      {!a && loaded.loading && <Loading label="Loading the approval…" />}
      {a && (
        <ol class="approval-list">
          <ApprovalCard
            approval={a}
            now={now}
            open
            onDecided={(decided, conflict) => setCurrent(conflict ? { approval: conflict, conflict: true } : { approval: decided, conflict: false })}
          />
        </ol>
      )}
    </>
  );
}
