// The organization's plan and quotas as the usage page and the banners show them: which quotas are near
// or at their limit, the sentences that say so, and the month's days for the chart. No I/O here.
import { fmtNumber } from './format';
import type { DayUsage, PlanId, QuotaUsage, Usage } from './types';

const PLAN_NAMES: Record<PlanId, string> = { free: 'Free', pro: 'Pro', enterprise: 'Enterprise' };

/** A plan's name as the product calls it ("Free"), or its id for a plan this build does not know. */
export function planName(id: string): string {
  return PLAN_NAMES[id as PlanId] ?? id;
}

export type QuotaName = keyof Usage['quotas'];

/** The quotas in the order the page lists them, with the words for one and several. */
export const QUOTAS: { name: QuotaName; label: string; one: string; many: string; help: string }[] = [
  {
    name: 'validations',
    label: 'Validations this month',
    one: 'validation',
    many: 'validations',
    help: 'Every validate decision this calendar month (UTC), allowed or denied, except those denied for the quota itself.',
  },
  { name: 'agents', label: 'Agents', one: 'agent', many: 'agents', help: 'Agents in the organization, enabled or disabled.' },
  { name: 'members', label: 'Members', one: 'member', many: 'members', help: 'Members and open invitations.' },
  {
    name: 'webhook_endpoints',
    label: 'Webhook endpoints',
    one: 'webhook endpoint',
    many: 'webhook endpoints',
    help: 'Webhook endpoints, enabled or not.',
  },
];

/** From this share of a limit on, a quota gets a warning. */
export const WARN_PERCENT = 80;

/** `ok` below 80 % (or unlimited), `warn` from 80 %, `full` at or past the limit. */
export type QuotaLevel = 'ok' | 'warn' | 'full';

export function quotaLevel(q: QuotaUsage): QuotaLevel {
  if (q.limit === null) return 'ok';
  if (q.used >= q.limit) return 'full';
  return q.used * 100 >= q.limit * WARN_PERCENT ? 'warn' : 'ok';
}

/** The whole percentage used, rounded down (so 99.9 % never reads as 100 %); null when unlimited. */
export function percentUsed(q: QuotaUsage): number | null {
  if (q.limit === null) return null;
  if (q.limit === 0) return 100;
  return Math.floor((q.used * 100) / q.limit);
}

/** "812 / 1,000", or "812 / unlimited". */
export function usedOfLimit(q: QuotaUsage): string {
  return `${fmtNumber(q.used)} / ${q.limit === null ? 'unlimited' : fmtNumber(q.limit)}`;
}

const resetFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' });

/** When the period ends and the validation quota resets, in UTC, as the period is defined: "January 1, 2027 at 12:00 AM UTC". */
export function fmtReset(iso: string): string {
  return `${resetFormat.format(new Date(iso))} UTC`;
}

const monthFormat = new Intl.DateTimeFormat(undefined, { month: 'long', year: 'numeric', timeZone: 'UTC' });

/** The period's month: "December 2026". */
export function fmtMonth(iso: string): string {
  return monthFormat.format(new Date(iso));
}

export interface Banner {
  quota: QuotaName;
  level: Exclude<QuotaLevel, 'ok'>;
  text: string;
}

/** The sentence for a quota at 80 % or more of its limit; undefined below that or when unlimited. */
export function quotaBanner(usage: Usage, name: QuotaName): Banner | undefined {
  const q = usage.quotas[name];
  const level = quotaLevel(q);
  if (level === 'ok' || q.limit === null) return undefined;
  const info = QUOTAS.find((x) => x.name === name)!;
  const plan = `your ${planName(usage.plan)} plan's`;
  const limit = `${fmtNumber(q.limit)} ${q.limit === 1 ? info.one : info.many}`;
  if (name === 'validations') {
    const reset = fmtReset(usage.period.end);
    const text =
      level === 'full'
        ? `You have used all of ${plan} ${limit} this month: validate calls are denied with quota_exceeded until ${reset}.`
        : `You have used ${percentUsed(q)}% of ${plan} ${limit} this month (${fmtNumber(q.used)} so far). Once they are used up, validate calls are denied with quota_exceeded until ${reset}.`;
    return { quota: name, level, text };
  }
  const text =
    level === 'full'
      ? `You have reached ${plan} limit of ${limit}: adding another is refused (plan_limit).`
      : `You have used ${fmtNumber(q.used)} of ${plan} ${limit}.`;
  // Agents, members and endpoints at their limit refuse new ones but stop nothing: a warning, not an error.
  return { quota: name, level: 'warn', text };
}

/** The banners for every quota at 80 % or more, validations first. */
export function quotaBanners(usage: Usage): Banner[] {
  return QUOTAS.map((q) => quotaBanner(usage, q.name)).filter((b): b is Banner => b !== undefined);
}

/** Whether the organization pays through Stripe (or did): the Customer Portal has something to manage. */
export function hasPaidPlan(usage: Usage): boolean {
  return usage.subscribed_plan !== 'free' && usage.billing_status !== 'none';
}

/** Whether an owner can start a subscription through Stripe Checkout: billing is configured and the plan is Free. */
export function canUpgrade(usage: Usage): boolean {
  return usage.billing_enabled && usage.subscribed_plan === 'free';
}

/**
 * Every day of the period (UTC) with its validations, zero for the days the API left out (it lists only
 * days with use), oldest first.
 */
export function daysOfPeriod(usage: Usage): DayUsage[] {
  const counts = new Map(usage.by_day.map((d) => [d.date, d.validations]));
  const days: DayUsage[] = [];
  const end = new Date(usage.period.end).getTime();
  // A calendar month has at most 31 days: the bound keeps a malformed period from looping for long.
  for (let t = new Date(usage.period.start).getTime(), i = 0; t < end && i < 31; t += 86_400_000, i++) {
    const date = new Date(t).toISOString().slice(0, 10);
    days.push({ date, validations: counts.get(date) ?? 0 });
  }
  return days;
}
