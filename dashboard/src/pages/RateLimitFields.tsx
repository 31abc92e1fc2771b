import type { RateLimitConfig } from '../types';

export function parseRateLimit(capacity: string, refill: string): RateLimitConfig | string {
  const c = Number(capacity);
  const r = Number(refill);
  if (!Number.isInteger(c) || c < 1 || c > 100_000) return 'Burst must be a whole number from 1 to 100000.';
  if (!Number.isFinite(r) || r <= 0 || r > 100_000) return 'Refill must be a number above 0 and at most 100000.';
  return { capacity: c, refill_per_second: r };
}

export function RateLimitFields(props: {
  idPrefix: string;
  capacity: string;
  refill: string;
  setCapacity: (v: string) => void;
  setRefill: (v: string) => void;
}) {
  return (
    <fieldset class="fieldset">
      <legend>Rate limit</legend>
      <div class="row">
        <div class="field">
          <label for={`${props.idPrefix}-capacity`}>Burst (requests)</label>
          <input
            id={`${props.idPrefix}-capacity`}
            type="number"
            inputMode="numeric"
            min={1}
            max={100000}
            step={1}
            value={props.capacity}
            onInput={(e) => props.setCapacity(e.currentTarget.value)}
          />
        </div>
        <div class="field">
          <label for={`${props.idPrefix}-refill`}>Refill (per second)</label>
          <input
            id={`${props.idPrefix}-refill`}
            type="number"
            inputMode="decimal"
            min={0.001}
            max={100000}
            step="any"
            value={props.refill}
            onInput={(e) => props.setRefill(e.currentTarget.value)}
          />
        </div>
      </div>
      <p class="help">The agent may make up to “burst” requests at once; its allowance refills at the given rate.</p>
    </fieldset>
  );
}
