import type { ApprovalStatus, DeliveryStatus, WebhookEventType, ReasonCode, ReasoningPolicy, RiskLevel } from './types';

export const REASONS: { code: ReasonCode; label: string; allowed: boolean; explain: string }[] = [
  { code: 'allowed', label: 'Allowed', allowed: true, explain: 'A rule grants the scope and its reasoning policy is met.' },
  {
    code: 'reasoning_missing_soft',
    label: 'Allowed, reasoning missing',
    allowed: true,
    explain: 'A soft rule grants the scope, but the agent gave no reasoning.',
  },
  { code: 'agent_disabled', label: 'Agent disabled', allowed: false, explain: 'The agent is disabled.' },
  { code: 'unknown_tool', label: 'Unknown tool', allowed: false, explain: 'The tool is not registered for this agent.' },
  { code: 'scope_not_granted', label: 'Scope not granted', allowed: false, explain: 'No rule grants this scope of the tool.' },
  {
    code: 'reasoning_required',
    label: 'Reasoning required',
    allowed: false,
    explain: 'A hard rule needs real reasoning and got none.',
  },
  { code: 'rate_limited', label: 'Rate limited', allowed: false, explain: "The agent's token bucket was empty." },
  {
    code: 'unavailable',
    label: 'Unavailable',
    allowed: false,
    explain: "OakAuth could not reach the agent's state or record the decision, so it denied (fail closed).",
  },
  {
    code: 'denied_by_rule',
    label: 'Denied by rule',
    allowed: false,
    explain: "A deny rule's conditions held, or a rule's condition could not be evaluated.",
  },
  {
    code: 'conditions_not_met',
    label: 'Conditions not met',
    allowed: false,
    explain: 'Allow rules exist for the scope, but none of their conditions held.',
  },
  {
    code: 'invalid_arguments',
    label: 'Invalid arguments',
    allowed: false,
    explain: "The call's arguments do not conform to the tool's input schema.",
  },
  {
    code: 'approval_required',
    label: 'Approval required',
    allowed: false,
    explain: 'A require_approval rule applies: a person must approve this exact call, which is then allowed once.',
  },
  { code: 'approval_denied', label: 'Approval denied', allowed: false, explain: "A person denied this call's approval." },
  {
    code: 'approval_expired',
    label: 'Approval expired',
    allowed: false,
    explain: 'Nobody decided in time, or the approved call was not made in time. Not a denial by a person.',
  },
  { code: 'approval_cancelled', label: 'Approval cancelled', allowed: false, explain: 'The agent withdrew the approval.' },
  {
    code: 'approval_consumed',
    label: 'Approval already used',
    allowed: false,
    explain: 'The approval was already used by an identical call: each approval allows one call.',
  },
  {
    code: 'approval_mismatch',
    label: 'Approval mismatch',
    allowed: false,
    explain: 'The approval named is for another call (other tool, scope or arguments, or a changed rule).',
  },
];

export function reasonInfo(code: string) {
  return REASONS.find((r) => r.code === code) ?? { code, label: code, allowed: false, explain: '' };
}

export const POLICIES: { value: ReasoningPolicy; label: string; explain: string }[] = [
  { value: 'none', label: 'None', explain: 'Reasoning is recorded if given.' },
  { value: 'soft', label: 'Soft', explain: 'Allowed without reasoning, but flagged as missing.' },
  { value: 'hard', label: 'Hard', explain: 'Denied without real reasoning.' },
];

export const APPROVAL_STATUSES: { status: ApprovalStatus; label: string; tone: 'allow' | 'deny' | 'muted' | 'pending'; explain: string }[] = [
  { status: 'pending', label: 'Pending', tone: 'pending', explain: 'Waiting for a person.' },
  { status: 'approved', label: 'Approved', tone: 'allow', explain: 'The identical call may run once.' },
  { status: 'consumed', label: 'Used', tone: 'allow', explain: 'Approved, and used by the identical call.' },
  { status: 'denied', label: 'Denied', tone: 'deny', explain: 'A person said no.' },
  { status: 'expired', label: 'Expired', tone: 'muted', explain: 'Nobody decided in time, or the approved call was not made in time.' },
  { status: 'cancelled', label: 'Cancelled', tone: 'muted', explain: 'The agent withdrew it.' },
];

export function approvalStatusInfo(status: string) {
  return APPROVAL_STATUSES.find((s) => s.status === status) ?? { status, label: status, tone: 'muted' as const, explain: '' };
}

export const EVENT_TYPES: { type: WebhookEventType; explain: string; default: boolean }[] = [
  { type: 'approval.requested', explain: 'A call needs a person’s approval.', default: true },
  { type: 'approval.decided', explain: 'A person approved or denied a call.', default: true },
  { type: 'approval.expired', explain: 'Nobody decided an approval in time.', default: true },
  { type: 'decision.denied', explain: 'Every denied validate call. Can be loud.', default: false },
  { type: 'key.rotated', explain: 'An agent’s key was rotated.', default: false },
  { type: 'agent.changed', explain: 'An agent was created, changed, enabled, disabled or deleted.', default: false },
  { type: 'service.degraded', explain: 'Many calls were answered unavailable within a minute (10 by default): OakAuth could not decide.', default: false },
];

export const DELIVERY_STATUSES: { status: DeliveryStatus; label: string; tone: 'allow' | 'deny' | 'pending' }[] = [
  { status: 'pending', label: 'Pending', tone: 'pending' },
  { status: 'delivered', label: 'Delivered', tone: 'allow' },
  { status: 'failed', label: 'Failed', tone: 'deny' },
];

export const RISK_LEVELS: RiskLevel[] = ['read', 'write', 'destructive'];

/** The reasoning requirement the API picks when a rule is created without one. */
export function defaultPolicyFor(risk: RiskLevel): ReasoningPolicy {
  return risk === 'read' ? 'none' : risk === 'write' ? 'soft' : 'hard';
}

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const shortTime = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const shortDay = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });
const number = new Intl.NumberFormat();

export const fmtDateTime = (iso: string) => dateTime.format(new Date(iso));
export const fmtNumber = (n: number) => number.format(n);

export function fmtBucket(iso: string, bucketSeconds: number): string {
  const d = new Date(iso);
  return bucketSeconds < 86_400 ? shortTime.format(d) : shortDay.format(d);
}

export function fmtRelative(iso: string, now = Date.now()): string {
  const s = Math.round((now - new Date(iso).getTime()) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** How long until `iso`: "in 14m", "in 2h", or "now" once it has passed. */
export function fmtUntil(iso: string, now = Date.now()): string {
  const s = Math.round((new Date(iso).getTime() - now) / 1000);
  if (s <= 0) return 'now';
  if (s < 60) return `in ${s}s`;
  if (s < 3600) return `in ${Math.floor(s / 60)}m`;
  if (s < 86_400) return `in ${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `in ${Math.floor(s / 86_400)}d`;
}

/** A number of seconds as the largest whole unit it fills: "15 minutes", "1 hour", "7 days". */
export function fmtDuration(seconds: number): string {
  const unit = (n: number, word: string) => `${fmtNumber(n)} ${word}${n === 1 ? '' : 's'}`;
  if (seconds % 86_400 === 0) return unit(seconds / 86_400, 'day');
  if (seconds % 3600 === 0) return unit(seconds / 3600, 'hour');
  if (seconds % 60 === 0) return unit(seconds / 60, 'minute');
  return unit(seconds, 'second');
}

export function fmtRate(r: { capacity: number; refill_per_second: number }): string {
  return `${fmtNumber(r.capacity)} burst, ${fmtNumber(r.refill_per_second)}/s`;
}

export function pct(part: number, whole: number): string {
  return whole === 0 ? '0%' : `${Math.round((part / whole) * 100)}%`;
}

/** `<input type="datetime-local">` value (local time) ⇄ RFC 3339 UTC. */
export function localInputToIso(value: string): string | undefined {
  if (!value) return undefined;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}

export function isoToLocalInput(iso: string | undefined): string {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function startOfLocalDay(now = new Date()): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}
