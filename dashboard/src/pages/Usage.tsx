import { useId } from 'preact/hooks';
import { useAction, useApp, useCan, useLoad } from '../context';
import { fmtDateTime, fmtNumber, fmtUntil, pct } from '../format';
import { href } from '../router';
import type { QuotaUsage, Usage as UsageData } from '../types';
import { ErrorNotice, Loading, PageHeader } from '../ui';
import {
  QUOTAS,
  canUpgrade,
  daysOfPeriod,
  fmtMonth,
  fmtReset,
  hasPaidPlan,
  percentUsed,
  planName,
  quotaBanner,
  quotaBanners,
  quotaLevel,
  usedOfLimit,
  type Banner,
} from '../usage';

/** `#/usage`: the plan, its billing, each quota's use this month, validations by day and by agent. */
export function Usage({ query }: { query: URLSearchParams }) {
  const usage = useLoad((c) => c.usage(), []);
  const u = usage.data;
  return (
    <>
      <PageHeader title="Usage">
        <button type="button" class="btn" onClick={usage.reload} disabled={usage.loading}>
          Refresh
        </button>
      </PageHeader>
      <CheckoutNotice outcome={query.get('checkout')} />
      {usage.error && <ErrorNotice error={usage.error} onRetry={usage.reload} />}
      {!u && usage.loading && <Loading label="Loading usage…" />}
      {u && (
        <div class={usage.loading ? 'stale' : undefined} aria-busy={usage.loading}>
          {quotaBanners(u).map((b) => (
            <QuotaBanner key={b.quota} banner={b} usage={u} onUsagePage />
          ))}
          <div class="grid">
            <PlanCard usage={u} />
            <section class="card" aria-labelledby="quotas-title">
              <h2 id="quotas-title">Limits</h2>
              <ul class="quotas">
                {QUOTAS.map((q) => (
                  <QuotaMeter key={q.name} label={q.label} help={q.help} quota={u.quotas[q.name]} testId={`quota-${q.name}`} />
                ))}
              </ul>
            </section>
            <section class="card span-2" aria-labelledby="days-title">
              <h2 id="days-title">Validations by day</h2>
              <DailyChart usage={u} />
            </section>
            <section class="card span-2" aria-labelledby="by-agent-title">
              <h2 id="by-agent-title">Validations by agent</h2>
              <ByAgent usage={u} />
            </section>
          </div>
          <p class="muted small">
            Validations are counted from the audit log, so a decision reaches these counts within about a second of its
            answer.
          </p>
        </div>
      )}
    </>
  );
}

/** What came of Stripe Checkout, from `?checkout=` in the address Stripe sent the browser back to. */
function CheckoutNotice({ outcome }: { outcome: string | null }) {
  if (outcome === 'success') {
    return (
      <div class="notice notice-info" role="status" data-testid="checkout-notice">
        Thank you: your subscription has started. The plan below changes as soon as Stripe confirms the payment to
        OakAuth, usually within a minute; use Refresh to see it.
      </div>
    );
  }
  if (outcome === 'cancelled') {
    return (
      <div class="notice notice-info" role="status" data-testid="checkout-notice">
        Checkout was cancelled: nothing was charged and your plan has not changed.
      </div>
    );
  }
  return null;
}

/**
 * A quota at 80 % or more of its limit: the sentence, and how to get more. Above every page for the
 * validations quota (`onUsagePage` false), on the usage page for each quota.
 */
export function QuotaBanner({ banner, usage, onUsagePage = false }: { banner: Banner; usage: UsageData; onUsagePage?: boolean }) {
  const owner = useCan('owner');
  return (
    <div
      class={`notice ${banner.level === 'full' ? 'notice-error' : 'notice-warn'}`}
      role={banner.level === 'full' ? 'alert' : 'status'}
      data-testid={`banner-${banner.quota}`}
      data-level={banner.level}
    >
      <p>
        {banner.text} {upgradeHint(usage, owner, onUsagePage)}
        {!onUsagePage && (
          <>
            {' '}
            <a href={href('usage')}>See usage</a>
          </>
        )}
      </p>
    </div>
  );
}

/** The banner above every page: the validations quota only, at 80 % and at 100 %. */
export function ValidationsBanner({ usage }: { usage: UsageData }) {
  const banner = quotaBanner(usage, 'validations');
  return banner ? <QuotaBanner banner={banner} usage={usage} /> : null;
}

/** How to get higher limits, for this plan, this deployment and this role. */
function upgradeHint(usage: UsageData, owner: boolean, onUsagePage: boolean): string {
  if (canUpgrade(usage)) {
    if (!owner) return 'An owner of the organization can upgrade it to Pro on the Usage page.';
    return onUsagePage ? 'Upgrade to Pro below for higher limits.' : 'Upgrade to Pro on the Usage page for higher limits.';
  }
  if (usage.plan === 'free' && !usage.billing_enabled) {
    return 'Billing is not set up on this OakAuth: ask whoever runs it to move your organization to another plan.';
  }
  return 'For higher limits, ask whoever runs this OakAuth about an Enterprise plan.';
}

const STATUS_TEXT: Record<string, string> = {
  none: 'No subscription',
  active: 'Subscription active',
  past_due: 'Payment past due',
  canceled: 'Subscription canceled',
};

function PlanCard({ usage }: { usage: UsageData }) {
  const owner = useCan('owner');
  const period = usage.period;
  return (
    <section class="card" aria-labelledby="plan-title">
      <h2 id="plan-title">Plan and billing</h2>
      <dl class="kv">
        <dt>Plan</dt>
        <dd data-testid="plan-name">{planName(usage.plan)}</dd>
        <dt>Billing</dt>
        <dd data-testid="billing-status">
          {STATUS_TEXT[usage.billing_status] ?? usage.billing_status}
          {!usage.billing_enabled && <span class="muted"> (billing is not set up on this OakAuth)</span>}
        </dd>
        <dt>Period</dt>
        <dd data-testid="period">
          {fmtMonth(period.start)} (UTC): validations reset on {fmtReset(period.end)}, {fmtUntil(period.end)}
        </dd>
      </dl>
      <PastDue usage={usage} />
      {owner && <BillingControls usage={usage} />}
    </section>
  );
}

/** A failed payment: until when the paid plan stays, or that its grace period is over. */
function PastDue({ usage }: { usage: UsageData }) {
  if (usage.billing_status !== 'past_due') return null;
  const paid = planName(usage.subscribed_plan);
  return (
    <p class="warning" data-testid="past-due">
      {usage.plan === usage.subscribed_plan
        ? `The last payment failed. The ${paid} plan stays in force until ${usage.grace_until ? fmtDateTime(usage.grace_until) : 'the grace period ends'}; after that the Free plan's limits apply until a payment succeeds.`
        : `The last payment failed and the grace period is over: the Free plan's limits apply until a payment for the ${paid} plan succeeds.`}{' '}
      {usage.billing_enabled && 'Update the payment method under Manage billing.'}
    </p>
  );
}

/** Owners only: start a Pro subscription through Stripe Checkout, or manage it in the Customer Portal. */
function BillingControls({ usage }: { usage: UsageData }) {
  const { client } = useApp();
  const action = useAction();
  const upgrade = canUpgrade(usage);
  const manage = usage.billing_enabled && hasPaidPlan(usage);
  if (!upgrade && !manage) return null;
  async function go(open: () => Promise<{ url: string }>) {
    const page = await action.run(open);
    if (page) window.location.assign(page.url);
  }
  return (
    <>
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        {upgrade && (
          <button type="button" class="btn btn-primary" disabled={action.pending} onClick={() => go(() => client.billingCheckout('pro'))}>
            Upgrade to Pro
          </button>
        )}
        {manage && (
          <button type="button" class="btn" disabled={action.pending} onClick={() => go(() => client.billingPortal())}>
            Manage billing
          </button>
        )}
      </div>
      <p class="muted small">Payment happens on Stripe's pages; you come back here afterwards.</p>
    </>
  );
}

/** One quota: a labelled progress bar toward its limit, or "unlimited". */
function QuotaMeter(props: { label: string; help: string; quota: QuotaUsage; testId: string }) {
  const id = useId();
  const q = props.quota;
  const percent = percentUsed(q);
  const text = q.limit === null ? `${fmtNumber(q.used)} used, unlimited` : `${fmtNumber(q.used)} of ${fmtNumber(q.limit)} (${percent}%)`;
  return (
    <li class="quota">
      <div class="quota-head">
        <span id={`${id}-label`} class="quota-label">
          {props.label}
        </span>
        <span class="num" data-testid={props.testId}>
          {usedOfLimit(q)}
        </span>
      </div>
      {q.limit !== null && (
        <div
          class={`meter meter-${quotaLevel(q)}`}
          role="progressbar"
          aria-labelledby={`${id}-label`}
          aria-valuemin={0}
          aria-valuemax={q.limit}
          // A downgrade can leave more in use than the new limit: the bar is then full.
          aria-valuenow={Math.min(q.used, q.limit)}
          aria-valuetext={text}
        >
          <span class="meter-fill" style={{ width: `${Math.min(100, percent ?? 0)}%` }} />
        </div>
      )}
      <p class="help">{props.help}</p>
    </li>
  );
}

const dayFormat = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' });
const fmtDay = (date: string) => dayFormat.format(new Date(`${date}T00:00:00Z`));

/** Validations per UTC day of the month, every day (zero where there was no use), as bars and as a table. */
function DailyChart({ usage }: { usage: UsageData }) {
  const days = daysOfPeriod(usage);
  if (days.length === 0) return <p class="muted">No days in this period.</p>;
  const max = Math.max(1, ...days.map((d) => d.validations));
  const total = days.reduce((n, d) => n + d.validations, 0);
  const ticks = [0, Math.floor((days.length - 1) / 2), days.length - 1];
  return (
    <figure class="chart">
      <div
        class="bars"
        role="img"
        data-testid="daily-chart"
        aria-label={`Bar chart of validations on each of the ${days.length} days of ${fmtMonth(usage.period.start)} (UTC): ${fmtNumber(total)} in total, at most ${fmtNumber(max)} in one day.`}
      >
        {days.map((d) => (
          <div class="bar" key={d.date} title={`${fmtDay(d.date)}: ${fmtNumber(d.validations)} validations`}>
            <span class="bar-allowed" style={{ height: `${(d.validations / max) * 100}%` }} />
          </div>
        ))}
      </div>
      <div class="ticks" aria-hidden="true">
        {ticks.map((i) => (
          <span key={i}>{fmtDay(days[i].date)}</span>
        ))}
      </div>
      <figcaption class="legend">
        <span class="swatch swatch-allow" aria-hidden="true" /> Validations per day (UTC)
        <span class="muted">· peak {fmtNumber(max)}</span>
      </figcaption>
      <details class="chart-table">
        <summary>Show as a table</summary>
        <div class="table-wrap">
          <table data-testid="daily-table">
            <thead>
              <tr>
                <th scope="col">Day (UTC)</th>
                <th scope="col" class="num">Validations</th>
              </tr>
            </thead>
            <tbody>
              {days.map((d) => (
                <tr key={d.date}>
                  <td>{d.date}</td>
                  <td class="num">{fmtNumber(d.validations)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}

function ByAgent({ usage }: { usage: UsageData }) {
  if (usage.by_agent.length === 0) return <p class="muted">No agent has made a validate call this month.</p>;
  const total = usage.by_agent.reduce((n, a) => n + a.validations, 0);
  return (
    <div class="table-wrap">
      <table data-testid="usage-by-agent">
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col" class="num">Validations</th>
            <th scope="col" class="num">Share</th>
          </tr>
        </thead>
        <tbody>
          {usage.by_agent.map((a) => (
            <tr key={a.agent_id}>
              <td>{a.name ? <a href={href(`agents/${a.agent_id}`)}>{a.name}</a> : <span class="muted">Deleted agent</span>}</td>
              <td class="num">{fmtNumber(a.validations)}</td>
              <td class="num">{pct(a.validations, total)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
