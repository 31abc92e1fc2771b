import type { ReasonCode, ReasoningPolicy, RiskLevel } from './types';

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
];

export function reasonInfo(code: string) {
  return REASONS.find((r) => r.code === code) ?? { code, label: code, allowed: false, explain: '' };
}

export const POLICIES: { value: ReasoningPolicy; label: string; explain: string }[] = [
  { value: 'none', label: 'None', explain: 'Reasoning is recorded if given.' },
  { value: 'soft', label: 'Soft', explain: 'Allowed without reasoning, but flagged as missing.' },
  { value: 'hard', label: 'Hard', explain: 'Denied without real reasoning.' },
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
