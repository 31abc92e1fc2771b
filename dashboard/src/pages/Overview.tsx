import { useState } from 'preact/hooks';
import { useLoad } from '../context';
import { fmtBucket, fmtDateTime, fmtNumber, pct, reasonInfo, startOfLocalDay } from '../format';
import { href } from '../router';
import type { Stats } from '../types';
import { Empty, ErrorNotice, Loading, PageHeader } from '../ui';

const RANGES = [
  { id: 'today', label: 'Today', since: () => startOfLocalDay() },
  { id: '24h', label: 'Last 24 hours', since: () => new Date(Date.now() - 86_400_000) },
  { id: '7d', label: 'Last 7 days', since: () => new Date(Date.now() - 7 * 86_400_000) },
  { id: '30d', label: 'Last 30 days', since: () => new Date(Date.now() - 30 * 86_400_000) },
] as const;

export function Overview() {
  const [range, setRange] = useState<(typeof RANGES)[number]['id']>('today');
  const stats = useLoad(
    (c) => c.stats({ since: RANGES.find((r) => r.id === range)!.since().toISOString(), until: new Date().toISOString() }),
    [range],
  );
  const s = stats.data;
  return (
    <>
      <PageHeader title="Overview">
        <label class="inline-field">
          <span>Range</span>
          <select value={range} onChange={(e) => setRange(e.currentTarget.value as typeof range)}>
            {RANGES.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
        <button type="button" class="btn" onClick={stats.reload} disabled={stats.loading}>
          Refresh
        </button>
      </PageHeader>
      {stats.error && <ErrorNotice error={stats.error} onRetry={stats.reload} />}
      {!s && stats.loading && <Loading label="Loading statistics…" />}
      {s && (
        <div class={stats.loading ? 'stale' : undefined} aria-busy={stats.loading}>
          <section class="metrics" aria-label="Totals">
            <Metric label="Requests" value={fmtNumber(s.total)} testId="metric-total" />
            <Metric label="Allowed" value={fmtNumber(s.allowed)} tone="allow" testId="metric-allowed" />
            <Metric
              label="Denied"
              value={fmtNumber(s.denied)}
              tone="deny"
              note={`${pct(s.denied, s.total)} of requests`}
              testId="metric-denied"
            />
          </section>
          <p class="muted small">
            {fmtDateTime(s.since)} to {fmtDateTime(s.until)}
          </p>
          {s.total === 0 ? (
            <Empty title="No decisions in this range yet.">
              <p>
                Decisions appear here when an agent calls <code>POST /v1/validate</code> with its key.{' '}
                <a href={href('agents')}>Create an agent</a> to get a key.
              </p>
            </Empty>
          ) : (
            <div class="grid">
              <section class="card span-2" aria-labelledby="timeline-title">
                <h2 id="timeline-title">Allowed and denied over time</h2>
                <Timeline stats={s} />
              </section>
              <section class="card" aria-labelledby="reasons-title">
                <h2 id="reasons-title">Denials by reason</h2>
                <DenialReasons stats={s} />
              </section>
              <section class="card" aria-labelledby="tools-title">
                <h2 id="tools-title">Top tools</h2>
                <TopTools stats={s} />
              </section>
              <section class="card span-2" aria-labelledby="agents-title">
                <h2 id="agents-title">Top agents</h2>
                <TopAgents stats={s} />
              </section>
              <section class="card span-2" aria-labelledby="latency-title">
                <h2 id="latency-title">Decision latency</h2>
                <Latency stats={s} />
              </section>
            </div>
          )}
        </div>
      )}
    </>
  );
}

function Metric(props: { label: string; value: string; tone?: 'allow' | 'deny'; note?: string; testId: string }) {
  return (
    <div class={`metric ${props.tone ? `metric-${props.tone}` : ''}`} data-testid={props.testId}>
      <span class="metric-label">{props.label}</span>
      <span class="metric-value">{props.value}</span>
      {props.note && <span class="metric-note">{props.note}</span>}
    </div>
  );
}

function Timeline({ stats }: { stats: Stats }) {
  const points = stats.timeline;
  if (points.length === 0) return <p class="muted">No timeline for this range.</p>;
  const max = Math.max(1, ...points.map((p) => p.allowed + p.denied));
  const label = (i: number) => fmtBucket(points[i].start, stats.bucket_seconds);
  const ticks = points.length > 1 ? [0, Math.floor((points.length - 1) / 2), points.length - 1] : [0];
  return (
    <figure class="chart">
      <div
        class="bars"
        role="img"
        aria-label={`Bar chart of ${points.length} ${stats.bucket_seconds < 86_400 ? 'hourly' : 'daily'} buckets: ${fmtNumber(stats.allowed)} allowed and ${fmtNumber(stats.denied)} denied in total, at most ${fmtNumber(max)} in one bucket.`}
      >
        {points.map((p, i) => (
          <div class="bar" key={p.start} title={`${label(i)}: ${p.allowed} allowed, ${p.denied} denied`}>
            <span class="bar-denied" style={{ height: `${(p.denied / max) * 100}%` }} />
            <span class="bar-allowed" style={{ height: `${(p.allowed / max) * 100}%` }} />
          </div>
        ))}
      </div>
      <div class="ticks" aria-hidden="true">
        {ticks.map((i) => (
          <span key={i}>{label(i)}</span>
        ))}
      </div>
      <figcaption class="legend">
        <span class="swatch swatch-allow" aria-hidden="true" /> Allowed
        <span class="swatch swatch-deny" aria-hidden="true" /> Denied
        <span class="muted">· peak {fmtNumber(max)} per {stats.bucket_seconds < 86_400 ? 'hour' : 'day'}</span>
      </figcaption>
      <details class="chart-table">
        <summary>Show as a table</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col" class="num">Allowed</th>
                <th scope="col" class="num">Denied</th>
              </tr>
            </thead>
            <tbody>
              {points.map((p) => (
                <tr key={p.start}>
                  <td>{fmtDateTime(p.start)}</td>
                  <td class="num">{fmtNumber(p.allowed)}</td>
                  <td class="num">{fmtNumber(p.denied)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

function DenialReasons({ stats }: { stats: Stats }) {
  const rows = Object.entries(stats.denials_by_reason)
    .filter(([, n]) => (n ?? 0) > 0)
    .sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0)) as [string, number][];
  if (rows.length === 0) return <p class="muted">No denials in this range.</p>;
  const max = Math.max(...rows.map(([, n]) => n));
  return (
    <ul class="hbars" data-testid="denials-by-reason">
      {rows.map(([code, n]) => (
        <li key={code}>
          <a class="hbar-label" href={href('logs', { reason: code })} title={reasonInfo(code).explain}>
            {reasonInfo(code).label}
          </a>
          <span class="hbar-track" aria-hidden="true">
            <span class="hbar-fill deny" style={{ width: `${(n / max) * 100}%` }} />
          </span>
          <span class="num">{fmtNumber(n)}</span>
        </li>
      ))}
    </ul>
  );
}

function TopTools({ stats }: { stats: Stats }) {
  if (stats.top_tools.length === 0) return <p class="muted">No tools used in this range.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Tool</th>
            <th scope="col" class="num">Requests</th>
            <th scope="col" class="num">Denied</th>
          </tr>
        </thead>
        <tbody>
          {stats.top_tools.map((t) => (
            <tr key={t.tool}>
              <td>
                <a href={href('logs', { tool: t.tool })}>
                  <code>{t.tool}</code>
                </a>
              </td>
              <td class="num">{fmtNumber(t.total)}</td>
              <td class="num">
                {fmtNumber(t.denied)} <span class="muted small">({pct(t.denied, t.total)})</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TopAgents({ stats }: { stats: Stats }) {
  if (stats.agents.length === 0) return <p class="muted">No agent made a request in this range.</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col" class="num">Requests</th>
            <th scope="col" class="num">Allowed</th>
            <th scope="col" class="num">Denied</th>
            <th scope="col">
              <span class="sr-only">Logs</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {stats.agents.slice(0, 10).map((a) => (
            <tr key={a.agent_id}>
              <td>
                {a.name ? <a href={href(`agents/${a.agent_id}`)}>{a.name}</a> : <span class="muted">Deleted agent</span>}
              </td>
              <td class="num">{fmtNumber(a.total)}</td>
              <td class="num">{fmtNumber(a.allowed)}</td>
              <td class="num">{fmtNumber(a.denied)}</td>
              <td>
                <a href={href('logs', { agent_id: a.agent_id })}>Logs</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Latency({ stats }: { stats: Stats }) {
  if (stats.latency.length === 0) return <p class="muted">No decisions in this range.</p>;
  return (
    <>
      <p class="muted small">
        From a request's arrival to its decision, per UTC day. p95: 95 % of the day's decisions took at most this
        long (nearest rank).
      </p>
      <div class="table-wrap">
        <table data-testid="latency-table">
          <thead>
            <tr>
              <th scope="col">Day (UTC)</th>
              <th scope="col" class="num">Decisions</th>
              <th scope="col" class="num">p50</th>
              <th scope="col" class="num">p95</th>
              <th scope="col" class="num">p99</th>
            </tr>
          </thead>
          <tbody>
            {stats.latency.map((d) => (
              <tr key={d.day}>
                <td>{d.day}</td>
                <td class="num">{fmtNumber(d.decisions)}</td>
                <td class="num">{fmtNumber(d.p50_ms)} ms</td>
                <td class="num">{fmtNumber(d.p95_ms)} ms</td>
                <td class="num">{fmtNumber(d.p99_ms)} ms</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
