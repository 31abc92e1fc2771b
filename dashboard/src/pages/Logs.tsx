import { useEffect, useRef, useState } from 'preact/hooks';
import { useAction, useApp, useLoad } from '../context';
import { REASONS, fmtDateTime, fmtRelative, isoToLocalInput, localInputToIso, reasonInfo } from '../format';
import { href, navigate } from '../router';
import type { Agent, AdminClient, LogEntry, LogFilters, ReasonCode } from '../types';
import { JsonBlock, SafeText } from '../text';
import { CopyButton, Decision, Empty, ErrorNotice, Loading, PageHeader } from '../ui';
import { ExplanationView, ShadowList } from './Explain';

const PAGE = 50;
const LIVE_EVERY_MS = 5000;
const FILTER_KEYS = ['agent_id', 'tool', 'scope', 'allowed', 'reason', 'shadow', 'since', 'until'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

function filtersFrom(query: URLSearchParams): LogFilters {
  const f: LogFilters = {};
  const get = (k: FilterKey) => query.get(k) || undefined;
  f.agent_id = get('agent_id');
  f.tool = get('tool');
  f.scope = get('scope');
  const allowed = get('allowed');
  if (allowed === 'true' || allowed === 'false') f.allowed = allowed === 'true';
  f.reason = get('reason') as ReasonCode | undefined;
  if (get('shadow') === 'deny') f.shadow = 'deny';
  f.since = get('since');
  f.until = get('until');
  return f;
}

/** Every agent of the organization (a few pages at most), to name agents in the log. */
export async function allAgents(client: AdminClient): Promise<Map<string, Agent>> {
  const map = new Map<string, Agent>();
  let cursor: string | undefined;
  for (let i = 0; i < 10; i++) {
    const page = await client.listAgents({ limit: 200, cursor });
    for (const a of page.agents) map.set(a.id, a);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return map;
}

export function Logs({ query }: { query: URLSearchParams }) {
  const queryKey = query.toString();
  const filters = filtersFrom(query);
  const { client } = useApp();
  const agents = useLoad(allAgents, []);
  const [extra, setExtra] = useState<{ logs: LogEntry[]; cursor: string | null; fresh: LogEntry[] }>({
    logs: [],
    cursor: null,
    fresh: [],
  });
  const first = useLoad(async (c) => {
    const page = await c.listLogs({ ...filters, limit: PAGE });
    setExtra({ logs: [], cursor: page.next_cursor, fresh: [] });
    return page;
  }, [queryKey]);
  const more = useAction();
  const [live, setLive] = useState(false);
  const [liveError, setLiveError] = useState<string>();
  const seen = useRef(new Set<string>());
  const [, setClock] = useState(0);
  // Re-render now and then so that "2m ago" stays true.
  useEffect(() => {
    const timer = setInterval(() => setClock((n) => n + 1), 30_000);
    return () => clearInterval(timer);
  }, []);

  const logs = [...extra.fresh, ...(first.data?.logs ?? []), ...extra.logs];
  seen.current = new Set(logs.map((l) => l.decision_id));

  // Live mode: poll the newest page and put decisions not seen yet on top.
  useEffect(() => {
    if (!live) return;
    let stopped = false;
    const tick = async () => {
      try {
        const page = await client.listLogs({ ...filters, limit: PAGE });
        if (stopped) return;
        setLiveError(undefined);
        const fresh = page.logs.filter((l) => !seen.current.has(l.decision_id));
        if (fresh.length) setExtra((x) => ({ ...x, fresh: [...fresh, ...x.fresh] }));
      } catch {
        if (!stopped) setLiveError('Live update failed; retrying.');
      }
    };
    const timer = setInterval(tick, LIVE_EVERY_MS);
    void tick();
    return () => {
      stopped = true;
      clearInterval(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [live, queryKey, client]);

  async function loadMore() {
    const page = await more.run(() => client.listLogs({ ...filters, limit: PAGE, cursor: extra.cursor ?? undefined }));
    if (page) setExtra((x) => ({ ...x, logs: [...x.logs, ...page.logs], cursor: page.next_cursor }));
  }

  const active = FILTER_KEYS.filter((k) => query.get(k));
  return (
    <>
      <PageHeader title="Logs">
        <label class="switch">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.currentTarget.checked)} />
          <span>Live</span>
        </label>
        <button type="button" class="btn" onClick={first.reload} disabled={first.loading}>
          Refresh
        </button>
        <a class="btn" href={href('activity')} title="Check that no decision was changed or removed">
          Verify integrity
        </a>
      </PageHeader>
      <FilterForm key={queryKey} query={query} agents={agents.data} />
      <p class="muted small" data-testid="log-lag-note">
        New decisions reach this list within about a second of their answer; filtered by one agent, it is current. A
        decision opened by its id (its link) is always current.
      </p>
      {live && (
        <p class="muted small" role="status">
          {liveError ?? `Live: checking for new decisions every ${LIVE_EVERY_MS / 1000} seconds.`}
        </p>
      )}
      {first.error && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {!first.data && first.loading && <Loading label="Loading decisions…" />}
      {first.data && logs.length === 0 && (
        <Empty title={active.length ? 'No decisions match these filters.' : 'No decisions yet.'}>
          {active.length ? (
            <a href={href('logs')}>Clear the filters</a>
          ) : (
            <p>Each call an agent makes to POST /v1/validate is recorded here, allowed or denied, with its reasoning.</p>
          )}
        </Empty>
      )}
      {logs.length > 0 && (
        <>
          <p class="muted small" aria-live="polite">
            Showing {logs.length} decision{logs.length === 1 ? '' : 's'}, newest first
            {first.loading ? ' (refreshing…)' : ''}.
          </p>
          <ol class="log-list" data-testid="log-list">
            {logs.map((l) => (
              <LogRow key={l.decision_id} entry={l} agentName={agents.data?.get(l.agent_id)?.name} />
            ))}
          </ol>
          {more.error && <ErrorNotice error={more.error} onRetry={loadMore} />}
          {extra.cursor ? (
            <button type="button" class="btn" onClick={loadMore} disabled={more.pending}>
              {more.pending ? 'Loading…' : 'Load older decisions'}
            </button>
          ) : (
            <p class="muted small">That is the oldest decision{active.length ? ' matching these filters' : ''}.</p>
          )}
        </>
      )}
    </>
  );
}

function FilterForm({ query, agents }: { query: URLSearchParams; agents?: Map<string, Agent> }) {
  const [v, setV] = useState(() => ({
    agent_id: query.get('agent_id') ?? '',
    tool: query.get('tool') ?? '',
    scope: query.get('scope') ?? '',
    allowed: query.get('allowed') ?? '',
    reason: query.get('reason') ?? '',
    shadow: query.get('shadow') === 'deny',
    since: isoToLocalInput(query.get('since') ?? undefined),
    until: isoToLocalInput(query.get('until') ?? undefined),
  }));
  const set = (k: Exclude<keyof typeof v, 'shadow'>) => (e: Event) => setV({ ...v, [k]: (e.currentTarget as HTMLInputElement).value });
  const agentList = agents ? [...agents.values()] : [];
  const current = query.get('agent_id');
  if (current && agents && !agents.has(current)) agentList.push({ id: current, name: `${current} (deleted)` } as Agent);

  function apply(e: Event) {
    e.preventDefault();
    navigate(
      'logs',
      {
        agent_id: v.agent_id,
        tool: v.tool.trim(),
        scope: v.scope.trim(),
        allowed: v.allowed,
        reason: v.reason,
        shadow: v.shadow ? 'deny' : undefined,
        since: localInputToIso(v.since),
        until: localInputToIso(v.until),
      },
      true,
    );
  }

  return (
    <form class="card filters" onSubmit={apply} aria-label="Filter decisions">
      <div class="field">
        <label for="f-agent">Agent</label>
        <select id="f-agent" value={v.agent_id} onChange={set('agent_id')}>
          <option value="">All agents</option>
          {agentList.map((a) => (
            <option key={a.id} value={a.id}>
              {a.name}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="f-tool">Tool</label>
        <input id="f-tool" value={v.tool} onInput={set('tool')} placeholder="any" />
      </div>
      <div class="field">
        <label for="f-scope">Scope</label>
        <input id="f-scope" value={v.scope} onInput={set('scope')} placeholder="any" />
      </div>
      <div class="field">
        <label for="f-allowed">Decision</label>
        <select id="f-allowed" value={v.allowed} onChange={set('allowed')}>
          <option value="">Allowed and denied</option>
          <option value="true">Allowed</option>
          <option value="false">Denied</option>
        </select>
      </div>
      <div class="field">
        <label for="f-reason">Reason</label>
        <select id="f-reason" value={v.reason} onChange={set('reason')}>
          <option value="">Any reason</option>
          {REASONS.map((r) => (
            <option key={r.code} value={r.code}>
              {r.label}
            </option>
          ))}
        </select>
      </div>
      <div class="field field-check">
        <label class="check" for="f-shadow">
          <input id="f-shadow" type="checkbox" checked={v.shadow} onChange={(e) => setV({ ...v, shadow: e.currentTarget.checked })} />
          <span>Would have been denied by a shadow rule</span>
        </label>
      </div>
      <div class="field">
        <label for="f-since">From</label>
        <input id="f-since" type="datetime-local" value={v.since} onInput={set('since')} />
      </div>
      <div class="field">
        <label for="f-until">Until</label>
        <input id="f-until" type="datetime-local" value={v.until} onInput={set('until')} />
      </div>
      <div class="actions filter-actions">
        <button type="submit" class="btn btn-primary">
          Apply filters
        </button>
        <a class="btn" href={href('logs')}>
          Clear
        </a>
      </div>
    </form>
  );
}

function LogRow({ entry: l, agentName }: { entry: LogEntry; agentName?: string }) {
  const [open, setOpen] = useState(false);
  const reason = reasonInfo(l.reason);
  const detailsId = `log-${l.decision_id}`;
  return (
    <li class={`log-row ${l.allowed ? 'is-allowed' : 'is-denied'}`} data-decision-id={l.decision_id}>
      <button
        type="button"
        class="log-summary"
        aria-expanded={open}
        aria-controls={detailsId}
        onClick={() => setOpen(!open)}
      >
        <span class="log-head">
          <Decision allowed={l.allowed} />
          {l.reason !== 'allowed' && (
            <span class="log-reason" data-testid="log-reason">
              {reason.label}
            </span>
          )}
          <span class="log-call">
            <code>{l.tool}</code> · <code>{l.scope}</code>
          </span>
          {l.shadow.some((s) => s.would === 'deny') && (
            <span class="badge badge-shadow" data-testid="log-shadow-deny" title="A rule in shadow mode would have denied this call">
              shadow: would deny
            </span>
          )}
          <span class="log-agent">{agentName ?? l.agent_id}</span>
          <time class="log-time" dateTime={l.created_at} title={fmtDateTime(l.created_at)}>
            {fmtRelative(l.created_at)}
          </time>
        </span>
        {!l.allowed && l.explanation && (
          <span class="log-explanation" data-testid="log-explanation">
            <SafeText text={l.explanation.message} />
          </span>
        )}
        <Reasoning entry={l} />
      </button>
      {open && <LogDetails id={detailsId} entry={l} agentName={agentName} />}
    </li>
  );
}

function Reasoning({ entry: l, full = false }: { entry: LogEntry; full?: boolean }) {
  const text = l.reasoning ?? '';
  const policy = l.reasoning_required !== 'none' ? ` (${l.reasoning_required} rule)` : '';
  if (text.trim()) {
    return (
      <span class={`log-reasoning ${full ? 'full' : ''}`} data-testid="log-reasoning">
        “<SafeText text={text} />”
        {!l.reasoning_provided && <span class="not-counted"> — not counted as reasoning{policy}</span>}
      </span>
    );
  }
  return (
    <span class={`log-reasoning none ${policy ? 'missing' : ''}`} data-testid="log-reasoning">
      {text ? `Only blank reasoning given${policy}` : `No reasoning given${policy}`}
    </span>
  );
}

function LogDetails({ id, entry: l, agentName }: { id: string; entry: LogEntry; agentName?: string }) {
  const reason = reasonInfo(l.reason);
  return (
    <div class="log-details" id={id}>
      <p class="log-explain">
        <strong>{l.allowed ? 'Allowed' : 'Denied'}</strong> — {reason.explain || l.reason}
      </p>
      {l.explanation && <ExplanationView explanation={l.explanation} />}
      <dl class="kv">
        <dt>Reasoning</dt>
        <dd>
          <Reasoning entry={l} full />
        </dd>
        <dt>Reasoning requirement</dt>
        <dd>
          {l.reasoning_required} {l.reasoning_provided ? '(provided)' : '(not provided)'}
        </dd>
        <dt>Reason code</dt>
        <dd>
          <code>{l.reason}</code>
        </dd>
        <dt>Agent</dt>
        <dd>
          {agentName ? <a href={href(`agents/${l.agent_id}`)}>{agentName}</a> : 'Deleted agent'} <code>{l.agent_id}</code>
        </dd>
        <dt>Tool · scope</dt>
        <dd>
          <code>{l.tool}</code> · <code>{l.scope}</code>
        </dd>
        <dt>Time</dt>
        <dd>
          <time dateTime={l.created_at}>{fmtDateTime(l.created_at)}</time>
        </dd>
        <dt>Latency</dt>
        <dd>{l.latency_ms} ms</dd>
        <dt>Decision id</dt>
        <dd>
          <code>{l.decision_id}</code> <CopyButton text={l.decision_id} label="Copy" />
        </dd>
        <dt>Request id</dt>
        <dd>
          <code>{l.request_id}</code>
        </dd>
        <dt>Arguments</dt>
        <dd>{l.arguments ? <JsonBlock value={l.arguments} testId="log-arguments" /> : <span class="muted">None</span>}</dd>
        <dt>Context</dt>
        <dd>{l.context ? <JsonBlock value={l.context} testId="log-context" /> : <span class="muted">None</span>}</dd>
        <dt>Shadow rules</dt>
        <dd>
          <ShadowList shadow={l.shadow} />
        </dd>
      </dl>
      <p class="small">
        <a href={href(`logs/${encodeURIComponent(l.decision_id)}`)}>Link to this decision</a>
      </p>
    </div>
  );
}

/** One decision by id (#/logs/<decision_id>), fetched with getLog. */
export function LogRecord({ decisionId }: { decisionId: string }) {
  const entry = useLoad((c) => c.getLog(decisionId), [decisionId]);
  const agents = useLoad(allAgents, []);
  return (
    <>
      <p class="crumbs">
        <a href={href('logs')}>← Logs</a>
      </p>
      <PageHeader title="Decision" />
      {entry.error && <ErrorNotice error={entry.error} onRetry={entry.reload} />}
      {!entry.data && entry.loading && <Loading label="Loading decision…" />}
      {entry.data && (
        <div class="card log-row">
          <p class="log-head">
            <Decision allowed={entry.data.allowed} />
            <span class="log-reason">{reasonInfo(entry.data.reason).label}</span>
          </p>
          <LogDetails id="decision" entry={entry.data} agentName={agents.data?.get(entry.data.agent_id)?.name} />
        </div>
      )}
    </>
  );
}
