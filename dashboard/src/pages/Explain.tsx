// Why a rule decided, as the logs and the simulate panel show it: the explanation's sentence and the
// test that decided, what shadow rules would have done, and a simulation's per-rule trace. All text
// from the API goes through SafeText / jsonText (invisible characters escaped).
import type { ConditionResult, Explanation, RuleTrace, ShadowResult } from '../types';
import { SafeText, jsonText } from '../text';
import { EffectBadge } from '../ui';

/** A JSON value on one line, escaped: the expected and observed values of a test. */
function Value({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="muted">none</span>;
  return <code>{jsonText(value)}</code>;
}

/** One test's outcome: `arguments /amount lt 500`, expected, observed, holds, error. */
export function ConditionResultView({ result: c }: { result: ConditionResult }) {
  return (
    <dl class="kv condition-result" data-testid="condition-result">
      <dt>Test</dt>
      <dd>
        <code>
          <SafeText text={`${c.source} ${c.pointer === '' ? '""' : c.pointer} ${c.op}`} />
        </code>{' '}
        <span class="muted small">
          at <code>{c.path}</code>
        </span>
      </dd>
      <dt>Expected</dt>
      <dd>
        <Value value={c.expected} />
      </dd>
      <dt>Observed</dt>
      <dd>
        <Value value={c.observed} />
      </dd>
      <dt>Holds</dt>
      <dd>{c.holds ? 'yes' : 'no'}</dd>
      {c.error && (
        <>
          <dt>Error</dt>
          <dd>
            <SafeText text={c.error} />
          </dd>
        </>
      )}
    </dl>
  );
}

export function ExplanationView({ explanation: e }: { explanation: Explanation }) {
  return (
    <div class="explanation" data-testid="explanation">
      <p class="explanation-message">
        <SafeText text={e.message} />
      </p>
      <p class="muted small">
        {e.rule_id ? (
          <>
            Rule <code>{e.rule_id}</code>
            {e.effect ? ` (${e.effect})` : ''}
          </>
        ) : (
          "The tool's input schema"
        )}
      </p>
      {e.condition && <ConditionResultView result={e.condition} />}
    </div>
  );
}

export function ShadowList({ shadow }: { shadow: ShadowResult[] }) {
  if (shadow.length === 0) return <span class="muted">None applied</span>;
  return (
    <ul class="shadow-list" data-testid="log-shadow">
      {shadow.map((s) => (
        <li key={s.rule_id}>
          Rule <code>{s.rule_id}</code> would have{' '}
          <span class={`badge ${s.would === 'allow' ? 'badge-allow' : 'badge-deny'}`}>{s.would === 'allow' ? 'allowed' : 'denied'}</span>
        </li>
      ))}
    </ul>
  );
}

const OUTCOMES: Record<RuleTrace['outcome'], string> = {
  matched: 'Matched',
  not_matched: 'Not matched',
  error: 'Error (denies)',
};

/** A simulation's trace: each rule for the call's tool and scope, in id order. */
export function TraceTable({ trace, describe }: { trace: RuleTrace[]; describe?: (ruleId: string) => string | undefined }) {
  if (trace.length === 0) return <p class="muted small">No rule exists for this tool and scope.</p>;
  return (
    <div class="table-wrap">
      <table class="responsive" data-testid="simulate-trace">
        <caption class="sr-only">Every rule for this tool and scope, and how it came out</caption>
        <thead>
          <tr>
            <th scope="col">Rule</th>
            <th scope="col">Effect</th>
            <th scope="col">Mode</th>
            <th scope="col">Outcome</th>
            <th scope="col">Deciding test</th>
          </tr>
        </thead>
        <tbody>
          {trace.map((t) => {
            const description = describe?.(t.rule_id);
            return (
              <tr key={t.rule_id} data-rule-id={t.rule_id} data-outcome={t.outcome}>
                <td data-label="Rule">
                  <code>{t.rule_id}</code>
                  {description && (
                    <span class="muted small block">
                      <SafeText text={description} />
                    </span>
                  )}
                </td>
                <td data-label="Effect">
                  <EffectBadge effect={t.effect} />
                </td>
                <td data-label="Mode">
                  {t.mode === 'shadow' ? <span class="badge badge-shadow">shadow</span> : <span class="muted small">enforce</span>}
                </td>
                <td data-label="Outcome">{OUTCOMES[t.outcome] ?? t.outcome}</td>
                <td data-label="Deciding test">
                  {t.condition ? (
                    <>
                      <code>
                        <SafeText text={`${t.condition.source} ${t.condition.pointer} ${t.condition.op} ${jsonText(t.condition.expected ?? null)}`} />
                      </code>
                      <span class="small block">
                        observed <Value value={t.condition.observed} />: {t.condition.holds ? 'holds' : 'does not hold'}
                        {t.condition.error && (
                          <>
                            {' '}
                            (<SafeText text={t.condition.error} />)
                          </>
                        )}
                      </span>
                    </>
                  ) : (
                    <span class="muted small">No conditions</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
