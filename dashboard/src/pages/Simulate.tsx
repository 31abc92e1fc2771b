import { useState } from 'preact/hooks';
import { useAction, useApp, useLoad } from '../context';
import { reasonInfo } from '../format';
import { SafeText } from '../text';
import type { Rule, SimulateRequest, SimulateResponse } from '../types';
import { Decision, ErrorNotice } from '../ui';
import { ExplanationView, ShadowList, TraceTable } from './Explain';

/** Parses an optional JSON object typed in a textarea; a sentence when it is not one. */
function parseObject(label: string, text: string): Record<string, unknown> | undefined | string {
  if (!text.trim()) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `${label} are not valid JSON: ${(err as Error).message}`;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${label} must be a JSON object, like {"amount": 900}.`;
  return value as Record<string, unknown>;
}

/** The agent page's "Simulate" panel: decides a call with the saved rules, writing nothing. */
export function Simulate({ agentId }: { agentId: string }) {
  const { client } = useApp();
  const action = useAction();
  const tools = useLoad((c) => c.listTools(agentId, { limit: 200 }), [agentId]);
  const [tool, setTool] = useState('');
  const [scope, setScope] = useState('');
  const [reasoning, setReasoning] = useState('');
  const [args, setArgs] = useState('');
  const [context, setContext] = useState('');
  const [result, setResult] = useState<{ res: SimulateResponse; rules: Rule[] }>();
  const toolList = tools.data?.tools ?? [];
  const scopes = toolList.find((t) => t.name === tool.trim())?.scopes ?? [];

  async function submit(e: Event) {
    e.preventDefault();
    if (!tool.trim() || !scope.trim()) return action.setError('Give the tool and the scope of the call to simulate.');
    const parsedArgs = parseObject('The arguments', args);
    if (typeof parsedArgs === 'string') return action.setError(parsedArgs);
    const parsedContext = parseObject('The context', context);
    if (typeof parsedContext === 'string') return action.setError(parsedContext);
    const body: SimulateRequest = {
      agent_id: agentId,
      request: {
        tool: tool.trim(),
        scope: scope.trim(),
        ...(reasoning ? { reasoning } : {}),
        ...(parsedArgs ? { arguments: parsedArgs } : {}),
        ...(parsedContext ? { context: parsedContext } : {}),
      },
    };
    const out = await action.run(async () => {
      const [res, rules] = await Promise.all([client.simulate(body), client.listRules(agentId, { limit: 200 })]);
      return { res, rules: rules.rules };
    });
    if (out) setResult(out);
  }

  const res = result?.res;
  const describe = (id: string) => result?.rules.find((r) => r.id === id)?.description || undefined;
  return (
    <section class="card" aria-labelledby="simulate-title" data-testid="simulate">
      <h2 id="simulate-title">Simulate</h2>
      <p class="muted">
        Decide a call as <code>POST /v1/validate</code> would, with this agent's saved rules, and see each rule's part in
        it. <strong>Nothing is written:</strong> the call is not logged, not counted against the rate limit, and changes no
        rule.
      </p>
      <form class="form" onSubmit={submit} noValidate aria-label="Simulate a call">
        <div class="row">
          <div class="field">
            <label for="sim-tool">Simulated tool</label>
            <input id="sim-tool" value={tool} list="sim-tools" placeholder="payments" onInput={(e) => setTool(e.currentTarget.value)} />
            <datalist id="sim-tools">
              {toolList.map((t) => (
                <option key={t.id} value={t.name} />
              ))}
            </datalist>
          </div>
          <div class="field">
            <label for="sim-scope">Simulated scope</label>
            <input id="sim-scope" value={scope} list="sim-scopes" placeholder="send" onInput={(e) => setScope(e.currentTarget.value)} />
            <datalist id="sim-scopes">
              {scopes.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </div>
        </div>
        <div class="field">
          <label for="sim-reasoning">Simulated reasoning</label>
          <input id="sim-reasoning" value={reasoning} placeholder="optional" onInput={(e) => setReasoning(e.currentTarget.value)} />
        </div>
        <div class="row">
          <div class="field">
            <label for="sim-arguments">Simulated arguments (JSON)</label>
            <textarea
              id="sim-arguments"
              class="mono"
              rows={4}
              spellcheck={false}
              value={args}
              placeholder='{"amount": 900}'
              onInput={(e) => setArgs(e.currentTarget.value)}
            />
          </div>
          <div class="field">
            <label for="sim-context">Simulated context (JSON)</label>
            <textarea
              id="sim-context"
              class="mono"
              rows={4}
              spellcheck={false}
              value={context}
              placeholder="optional"
              onInput={(e) => setContext(e.currentTarget.value)}
            />
          </div>
        </div>
        {action.error && <ErrorNotice error={action.error} />}
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={action.pending}>
            {action.pending ? 'Simulating…' : 'Simulate'}
          </button>
        </div>
      </form>
      {res && (
        <div class={`simulate-result ${action.pending ? 'stale' : ''}`} data-testid="simulate-result" aria-live="polite">
          <h3>Result</h3>
          <p class="log-head">
            <Decision allowed={res.allowed} />
            {res.reason !== 'allowed' && (
              <span class="log-reason" data-testid="simulate-reason">
                {reasonInfo(res.reason).label}
              </span>
            )}
            <code>{res.reason}</code>
          </p>
          <p data-testid="simulate-message">
            <SafeText text={res.message} />
          </p>
          {res.explanation && <ExplanationView explanation={res.explanation} />}
          <dl class="kv">
            <dt>Reasoning requirement</dt>
            <dd>
              {res.reasoning_required} {res.reasoning_provided ? '(provided)' : '(not provided)'}
            </dd>
            <dt>Shadow rules</dt>
            <dd>
              <ShadowList shadow={res.shadow} />
            </dd>
          </dl>
          <h4>Trace</h4>
          <TraceTable trace={res.trace} describe={describe} />
        </div>
      )}
    </section>
  );
}
