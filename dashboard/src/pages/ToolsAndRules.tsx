import { useState } from 'preact/hooks';
import { useAction, useApp, useCan, useLoad } from '../context';
import { LIST_OPS, OPERATORS, SOURCES, TEXT_OPS, conditionText, conditionToRow, emptyRow, rowToCondition, type TestRow } from '../conditions';
import { POLICIES, RISK_LEVELS, defaultPolicyFor, fmtDuration } from '../format';
import { JsonBlock, SafeText } from '../text';
import type {
  Condition,
  ConditionSource,
  CreateRule,
  Effect,
  OnMissing,
  Operator,
  ReasoningPolicy,
  RiskLevel,
  Rule,
  RuleMode,
  Tool,
} from '../types';
import { ConfirmDialog, EffectBadge, Empty, ErrorNotice, Loading } from '../ui';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;

export function ToolsAndRules({ agentId }: { agentId: string }) {
  const data = useLoad(async (c) => {
    const [tools, rules] = await Promise.all([c.listTools(agentId, { limit: 200 }), c.listRules(agentId, { limit: 200 })]);
    return { tools: tools.tools, rules: rules.rules, more: tools.next_cursor !== null || rules.next_cursor !== null };
  }, [agentId]);
  const d = data.data;
  // Viewers read tools and rules; changing them needs the admin role.
  const canWrite = useCan('admin');
  return (
    <div class="grid">
      <section class="card" aria-labelledby="tools-title">
        <h2 id="tools-title">Tools</h2>
        <p class="muted">The tools this agent may ask about, each with the scopes it can grant.</p>
        {data.error && <ErrorNotice error={data.error} onRetry={data.reload} />}
        {!d && data.loading && <Loading label="Loading tools…" />}
        {d && <ToolList agentId={agentId} tools={d.tools} onChange={data.reload} />}
        {d && canWrite && <AddTool agentId={agentId} onAdded={data.reload} />}
      </section>
      <section class="card span-2" aria-labelledby="rules-title">
        <h2 id="rules-title">Rules</h2>
        <p class="muted">
          A rule allows, denies or asks a person to approve one scope of one tool when its conditions on the call hold; allow
          and approval rules also set a reasoning requirement. A deny rule wins over approval rules, which win over allow
          rules; a call no rule grants is denied. A rule in shadow mode only logs what it would have done.
        </p>
        {!d && data.loading && <Loading label="Loading rules…" />}
        {d && <RuleList agentId={agentId} rules={d.rules} onChange={data.reload} />}
        {d && canWrite && <AddRule agentId={agentId} tools={d.tools} onAdded={data.reload} />}
      </section>
      {d?.more && <p class="muted small span-2">Showing the first 200 tools and rules only.</p>}
    </div>
  );
}

function ToolList({ agentId, tools, onChange }: { agentId: string; tools: Tool[]; onChange: () => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [victim, setVictim] = useState<Tool>();
  const canWrite = useCan('admin');
  if (tools.length === 0) return <Empty title="No tools yet." />;
  async function remove() {
    const t = victim!;
    const ok = await action.run(async () => (await client.deleteTool(agentId, t.id), true));
    if (ok) {
      setVictim(undefined);
      notify(`Tool ${t.name} removed.`);
      onChange();
    }
  }
  return (
    <>
      <ul class="items" data-testid="tools-list">
        {tools.map((t) => (
          <li key={t.id} class="item">
            <div class="item-main">
              <p>
                <code class="strong">{t.name}</code> <span class={`badge risk-${t.risk_level}`}>{t.risk_level}</span>
              </p>
              {t.description && (
                <p class="muted small">
                  <SafeText text={t.description} />
                </p>
              )}
              {t.input_schema && (
                <details class="small">
                  <summary>Input schema: arguments that do not fit it are denied</summary>
                  <JsonBlock value={t.input_schema} testId="tool-input-schema" />
                </details>
              )}
              <p class="chips" aria-label="Scopes">
                {t.scopes.map((s) => (
                  <span key={s} class="chip">
                    {s}
                  </span>
                ))}
              </p>
            </div>
            {canWrite && (
              <button
                type="button"
                class="btn btn-small btn-danger-outline"
                aria-label={`Remove tool ${t.name}`}
                onClick={() => (action.setError(undefined), setVictim(t))}
              >
                Remove
              </button>
            )}
          </li>
        ))}
      </ul>
      <ConfirmDialog
        open={!!victim}
        title={`Remove tool ${victim?.name ?? ''}?`}
        confirmLabel="Remove tool"
        danger
        pending={action.pending}
        error={action.error}
        onConfirm={remove}
        onCancel={() => setVictim(undefined)}
      >
        <p>Its rules are removed too, and the agent's requests for it are denied from the next one on.</p>
      </ConfirmDialog>
    </>
  );
}

function AddTool({ agentId, onAdded }: { agentId: string; onAdded: () => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [scopes, setScopes] = useState('');
  const [risk, setRisk] = useState<RiskLevel>('read');

  async function submit(e: Event) {
    e.preventDefault();
    const toolName = name.trim();
    const scopeList = [...new Set(scopes.split(/[\s,]+/).filter(Boolean))];
    if (!NAME.test(toolName)) {
      return action.setError('Tool names start with a letter or digit and use letters, digits and _ . : / - only.');
    }
    if (scopeList.length === 0) return action.setError('Give at least one scope, like read or write.');
    const bad = scopeList.find((s) => !NAME.test(s));
    if (bad) return action.setError(`“${bad}” is not a valid scope name.`);
    const body = { name: toolName, scopes: scopeList, risk_level: risk, ...(description.trim() ? { description: description.trim() } : {}) };
    const tool = await action.run(() => client.createTool(agentId, body));
    if (tool) {
      notify(`Tool ${tool.name} added.`);
      setName('');
      setDescription('');
      setScopes('');
      onAdded();
    }
  }

  return (
    <form class="form subform" onSubmit={submit} aria-labelledby="add-tool-title" noValidate>
      <h3 id="add-tool-title">Add a tool</h3>
      <div class="row">
        <div class="field">
          <label for="tool-name">Tool name</label>
          <input id="tool-name" value={name} maxLength={128} placeholder="github" onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="tool-risk">Risk level</label>
          <select id="tool-risk" value={risk} onChange={(e) => setRisk(e.currentTarget.value as RiskLevel)}>
            {RISK_LEVELS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div class="field">
        <label for="tool-scopes">Scopes</label>
        <input
          id="tool-scopes"
          value={scopes}
          placeholder="read, write"
          aria-describedby="tool-scopes-help"
          onInput={(e) => setScopes(e.currentTarget.value)}
        />
        <p id="tool-scopes-help" class="help">
          Separated by commas or spaces.
        </p>
      </div>
      <div class="field">
        <label for="tool-description">Description (optional)</label>
        <input
          id="tool-description"
          value={description}
          maxLength={1000}
          onInput={(e) => setDescription(e.currentTarget.value)}
        />
      </div>
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={action.pending}>
          {action.pending ? 'Adding…' : 'Add tool'}
        </button>
      </div>
    </form>
  );
}

/** Rules whose reasoning requirement counts: allow rules, and approval rules (a call without the reasoning is not put to a person). */
const hasReasoning = (effect: Effect) => effect !== 'deny';

function ModeBadge({ mode }: { mode: RuleMode }) {
  return mode === 'shadow' ? (
    <span class="badge badge-shadow" data-testid="shadow-badge" title="Evaluated and logged, never decides">
      shadow
    </span>
  ) : (
    <span class="muted small">enforce</span>
  );
}

/** A rule's conditions, one per line, compact (`arguments /amount lt 500`), escaped. */
export function ConditionList({ conditions }: { conditions: Condition[] }) {
  if (conditions.length === 0) return <span class="muted small">No conditions: always applies</span>;
  return (
    <ul class="conditions" aria-label="Conditions, all must hold" data-testid="rule-conditions">
      {conditions.map((c, i) => (
        <li key={i}>
          <code>
            <SafeText text={conditionText(c)} />
          </code>
        </li>
      ))}
    </ul>
  );
}

function RuleList({ agentId, rules, onChange }: { agentId: string; rules: Rule[]; onChange: () => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [victim, setVictim] = useState<Rule>();
  const [switching, setSwitching] = useState<Rule>();
  const canWrite = useCan('admin');
  if (rules.length === 0) return <Empty title="No rules yet: every request from this agent is denied." />;

  async function setPolicy(rule: Rule, policy: ReasoningPolicy) {
    const res = await action.run(() => client.updateRule(agentId, rule.id, { require_reasoning: policy }));
    if (res) {
      notify(`${rule.tool} · ${rule.scope} now needs ${policy} reasoning.`);
      onChange();
    }
  }
  async function switchMode() {
    const r = switching!;
    const mode: RuleMode = r.mode === 'shadow' ? 'enforce' : 'shadow';
    const res = await action.run(() => client.updateRule(agentId, r.id, { mode }));
    if (res) {
      setSwitching(undefined);
      notify(mode === 'shadow' ? `Rule ${r.tool} · ${r.scope} is in shadow mode.` : `Rule ${r.tool} · ${r.scope} is enforced.`);
      onChange();
    }
  }
  async function remove() {
    const r = victim!;
    const ok = await action.run(async () => (await client.deleteRule(agentId, r.id), true));
    if (ok) {
      setVictim(undefined);
      notify(`Rule ${r.tool} · ${r.scope} removed.`);
      onChange();
    }
  }
  const toShadow = switching?.mode !== 'shadow';
  return (
    <>
      {action.error && !victim && !switching && <ErrorNotice error={action.error} />}
      <div class="table-wrap">
        <table class="responsive" data-testid="rules-table">
          <thead>
            <tr>
              <th scope="col">Tool</th>
              <th scope="col">Scope</th>
              <th scope="col">Effect</th>
              <th scope="col">Conditions</th>
              <th scope="col">Reasoning</th>
              <th scope="col">Mode</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.id} data-rule-id={r.id} data-mode={r.mode}>
                <td data-label="Tool">
                  <code>{r.tool}</code>
                </td>
                <td data-label="Scope">
                  <code>{r.scope}</code>
                </td>
                <td data-label="Effect">
                  <div>
                    <EffectBadge effect={r.effect} />
                    {r.effect === 'require_approval' && r.approval_expiry_seconds !== null && (
                      <p class="muted small" data-testid="rule-approval-expiry">
                        expires after {fmtDuration(r.approval_expiry_seconds)}
                      </p>
                    )}
                  </div>
                </td>
                <td data-label="Conditions" class="rule-conditions">
                  <div>
                    {r.description && (
                      <p class="rule-description" data-testid="rule-description">
                        <SafeText text={r.description} />
                      </p>
                    )}
                    <ConditionList conditions={r.conditions} />
                  </div>
                </td>
                <td data-label="Reasoning">
                  {hasReasoning(r.effect) && !canWrite ? (
                    <span>{r.require_reasoning}</span>
                  ) : hasReasoning(r.effect) ? (
                    <select
                      aria-label={`Reasoning requirement for ${r.tool} ${r.scope}`}
                      value={r.require_reasoning}
                      disabled={action.pending}
                      onChange={(e) => setPolicy(r, e.currentTarget.value as ReasoningPolicy)}
                    >
                      {POLICIES.map((p) => (
                        <option key={p.value} value={p.value}>
                          {p.label}
                        </option>
                      ))}
                    </select>
                  ) : (
                    <span class="muted small" title="Deny rules have no reasoning requirement">
                      —
                    </span>
                  )}
                </td>
                <td data-label="Mode">
                  <span class="mode-cell">
                    <ModeBadge mode={r.mode} />
                    {canWrite && (
                    <button
                      type="button"
                      class="btn btn-small"
                      aria-label={r.mode === 'shadow' ? `Enforce rule ${r.tool} ${r.scope}` : `Put rule ${r.tool} ${r.scope} in shadow mode`}
                      onClick={() => (action.setError(undefined), setSwitching(r))}
                    >
                      {r.mode === 'shadow' ? 'Enforce' : 'Shadow'}
                    </button>
                    )}
                  </span>
                </td>
                <td class="num actions-cell">
                  {canWrite && (
                    <button
                      type="button"
                      class="btn btn-small btn-danger-outline"
                      aria-label={`Remove rule ${r.tool} ${r.scope}`}
                      onClick={() => (action.setError(undefined), setVictim(r))}
                    >
                      Remove
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ConfirmDialog
        open={!!switching}
        title={toShadow ? 'Put this rule in shadow mode?' : 'Enforce this rule?'}
        confirmLabel={toShadow ? 'Switch to shadow' : 'Enforce rule'}
        danger={!toShadow && switching?.effect === 'deny'}
        pending={action.pending}
        error={action.error}
        onConfirm={switchMode}
        onCancel={() => setSwitching(undefined)}
      >
        {toShadow ? (
          <p>
            The {switching?.effect} rule for <code>{switching?.tool}</code> · <code>{switching?.scope}</code> stops deciding
            from the agent's next request on. It is still evaluated, and what it would have done is logged with each decision.
          </p>
        ) : (
          <p>
            The {switching?.effect} rule for <code>{switching?.tool}</code> · <code>{switching?.scope}</code> decides from the
            agent's next request on{switching?.effect === 'deny' ? ': calls its conditions match are denied' : ''}.
          </p>
        )}
      </ConfirmDialog>
      <ConfirmDialog
        open={!!victim}
        title="Remove this rule?"
        confirmLabel="Remove rule"
        danger
        pending={action.pending}
        error={action.error}
        onConfirm={remove}
        onCancel={() => setVictim(undefined)}
      >
        <p>
          The rule for <code>{victim?.tool}</code> with scope <code>{victim?.scope}</code> is removed from the agent's next
          request on; without an allow rule for the scope, its requests are denied.
        </p>
      </ConfirmDialog>
    </>
  );
}

const EFFECT_HELP: Record<Effect, string> = {
  allow: 'Allows the call when every condition holds (with no conditions, always).',
  deny: 'Denies the call when every condition holds, whatever allow rules say.',
  require_approval:
    'Holds the call when every condition holds until a person approves it in Approvals; the identical call is then allowed once. Deny rules still win.',
};

/** How long an approval may wait for a person, in minutes: 1 minute to 7 days (the API takes 60 to 604800 seconds). */
const APPROVAL_EXPIRY_DEFAULT_MINUTES = '15';
function approvalExpirySeconds(minutes: string): number | string {
  const n = Number(minutes.trim());
  if (!Number.isInteger(n) || n < 1 || n > 10_080) return 'The approval expiry is a whole number of minutes, 1 to 10080 (7 days).';
  return n * 60;
}
const MODE_HELP: Record<RuleMode, string> = {
  enforce: 'The rule decides.',
  shadow: 'The rule only is evaluated: what it would have done is logged with each decision, nothing is changed.',
};

function AddRule({ agentId, tools, onAdded }: { agentId: string; tools: Tool[]; onAdded: () => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [toolId, setToolId] = useState('');
  const [scope, setScope] = useState('');
  const [policy, setPolicy] = useState<ReasoningPolicy | ''>('');
  const [effect, setEffect] = useState<Effect>('allow');
  const [mode, setMode] = useState<RuleMode>('enforce');
  const [description, setDescription] = useState('');
  const [expiry, setExpiry] = useState(APPROVAL_EXPIRY_DEFAULT_MINUTES);
  const [conditions, setConditions] = useState<ConditionsValue>(EMPTY_CONDITIONS);
  const tool = tools.find((t) => t.id === toolId) ?? tools[0];
  const effectiveScope = tool?.scopes.includes(scope) ? scope : tool?.scopes[0] ?? '';
  const effectivePolicy = policy || (tool ? defaultPolicyFor(tool.risk_level) : 'none');

  if (tools.length === 0) return <p class="muted small">Add a tool first; rules grant its scopes.</p>;

  async function submit(e: Event) {
    e.preventDefault();
    const parsed = conditionsFrom(conditions);
    if (typeof parsed === 'string') return action.setError(parsed);
    const expirySeconds = effect === 'require_approval' ? approvalExpirySeconds(expiry) : undefined;
    if (typeof expirySeconds === 'string') return action.setError(expirySeconds);
    const body: CreateRule = {
      tool: tool.name,
      scope: effectiveScope,
      effect,
      mode,
      conditions: parsed,
      ...(hasReasoning(effect) ? { require_reasoning: effectivePolicy } : {}),
      ...(expirySeconds !== undefined ? { approval_expiry_seconds: expirySeconds } : {}),
      ...(description.trim() ? { description: description.trim() } : {}),
    };
    const rule = await action.run(() => client.createRule(agentId, body));
    if (rule) {
      notify(`Rule ${rule.tool} · ${rule.scope} added${rule.mode === 'shadow' ? ' in shadow mode' : ''}.`);
      setPolicy('');
      setDescription('');
      setExpiry(APPROVAL_EXPIRY_DEFAULT_MINUTES);
      setConditions(EMPTY_CONDITIONS);
      onAdded();
    }
  }

  return (
    <form class="form subform" onSubmit={submit} aria-labelledby="add-rule-title" noValidate>
      <h3 id="add-rule-title">Add a rule</h3>
      <div class="row">
        <div class="field">
          <label for="rule-tool">Tool</label>
          <select id="rule-tool" value={tool.id} onChange={(e) => (setToolId(e.currentTarget.value), setPolicy(''))}>
            {tools.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="rule-scope">Scope</label>
          <select id="rule-scope" value={effectiveScope} onChange={(e) => setScope(e.currentTarget.value)}>
            {tool.scopes.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="rule-effect">Effect</label>
          <select id="rule-effect" value={effect} aria-describedby="rule-effect-help" onChange={(e) => setEffect(e.currentTarget.value as Effect)}>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
            <option value="require_approval">require_approval</option>
          </select>
        </div>
        <div class="field">
          <label for="rule-mode">Mode</label>
          <select id="rule-mode" value={mode} aria-describedby="rule-mode-help" onChange={(e) => setMode(e.currentTarget.value as RuleMode)}>
            <option value="enforce">enforce</option>
            <option value="shadow">shadow</option>
          </select>
        </div>
        {effect === 'require_approval' && (
          <div class="field">
            <label for="rule-approval-expiry">Approval expiry (minutes)</label>
            <input
              id="rule-approval-expiry"
              type="number"
              inputMode="numeric"
              min={1}
              max={10_080}
              step={1}
              value={expiry}
              aria-describedby="rule-approval-expiry-help"
              onInput={(e) => setExpiry(e.currentTarget.value)}
            />
          </div>
        )}
        {hasReasoning(effect) && (
          <div class="field">
            <label for="rule-reasoning">Reasoning</label>
            <select
              id="rule-reasoning"
              value={effectivePolicy}
              aria-describedby="rule-reasoning-help"
              onChange={(e) => setPolicy(e.currentTarget.value as ReasoningPolicy)}
            >
              {POLICIES.map((p) => (
                <option key={p.value} value={p.value}>
                  {p.label}
                </option>
              ))}
            </select>
          </div>
        )}
      </div>
      <p class="help">
        <span id="rule-effect-help">{EFFECT_HELP[effect]}</span> <span id="rule-mode-help">{MODE_HELP[mode]}</span>{' '}
        {hasReasoning(effect) && <span id="rule-reasoning-help">Reasoning: {POLICIES.find((p) => p.value === effectivePolicy)?.explain}</span>}
        {effect === 'require_approval' && (
          <span id="rule-approval-expiry-help">
            {' '}
            Expiry: how long a person has to decide (default 15 minutes, at most 7 days), and then how long the approved call
            may be made; after it the agent is told the approval expired, never that it was denied.
          </span>
        )}
      </p>
      <div class="field">
        <label for="rule-description">Rule description</label>
        <input
          id="rule-description"
          value={description}
          maxLength={1000}
          placeholder="optional, e.g. Small payments only"
          onInput={(e) => setDescription(e.currentTarget.value)}
        />
      </div>
      <ConditionsEditor value={conditions} onChange={setConditions} />
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={action.pending}>
          {action.pending ? 'Adding…' : 'Add rule'}
        </button>
      </div>
    </form>
  );
}

/** The condition editor's state: rows of simple tests, or (after "Edit as JSON") the JSON text. */
interface ConditionsValue {
  json: boolean;
  rows: TestRow[];
  text: string;
}
const EMPTY_CONDITIONS: ConditionsValue = { json: false, rows: [], text: '[]' };

/** The conditions to send, or a sentence saying what is wrong with what was typed. */
function conditionsFrom(v: ConditionsValue): Condition[] | string {
  if (v.json) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(v.text.trim() || '[]');
    } catch (err) {
      return `The conditions are not valid JSON: ${(err as Error).message}`;
    }
    if (!Array.isArray(parsed)) return 'The conditions must be a JSON array, like [{"pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"}].';
    return parsed as Condition[];
  }
  try {
    return v.rows.map(rowToCondition);
  } catch (err) {
    return (err as Error).message;
  }
}

function ConditionsEditor({ value, onChange }: { value: ConditionsValue; onChange: (v: ConditionsValue) => void }) {
  const [error, setError] = useState<string>();
  const setRow = (i: number, patch: Partial<TestRow>) =>
    onChange({ ...value, rows: value.rows.map((r, j) => (j === i ? { ...r, ...patch } : r)) });

  function toggleJson(json: boolean) {
    setError(undefined);
    if (json) {
      const conditions = conditionsFrom({ ...value, json: false });
      if (typeof conditions === 'string') return setError(conditions);
      return onChange({ ...value, json: true, text: JSON.stringify(conditions, null, 2) });
    }
    const conditions = conditionsFrom(value);
    if (typeof conditions === 'string') return setError(conditions);
    const rows = conditions.map(conditionToRow);
    if (rows.some((r) => r === undefined)) {
      return setError('These conditions use all_of, any_of or not, which the form cannot show: keep editing them as JSON.');
    }
    onChange({ json: false, rows: rows as TestRow[], text: value.text });
  }

  return (
    <fieldset class="fieldset conditions-editor" data-testid="conditions-editor">
      <legend>Conditions (all must hold)</legend>
      <label class="switch">
        <input type="checkbox" checked={value.json} onChange={(e) => toggleJson(e.currentTarget.checked)} />
        <span>Edit as JSON</span>
      </label>
      {error && <ErrorNotice error={error} />}
      {value.json ? (
        <div class="field">
          <label for="rule-conditions-json">Conditions as JSON</label>
          <textarea
            id="rule-conditions-json"
            class="mono"
            rows={8}
            spellcheck={false}
            value={value.text}
            aria-describedby="rule-conditions-json-help"
            onInput={(e) => onChange({ ...value, text: e.currentTarget.value })}
          />
          <p id="rule-conditions-json-help" class="help">
            A JSON array of conditions, all of which must hold: tests{' '}
            <code>{'{"source": "arguments", "pointer": "/amount", "op": "lt", "value": 500, "on_missing": "deny"}'}</code> and
            combinators <code>{'{"all_of": […]}'}</code>, <code>{'{"any_of": […]}'}</code>, <code>{'{"not": {…}}'}</code>.
          </p>
        </div>
      ) : (
        <>
          {value.rows.length === 0 && <p class="muted small">No conditions: the rule applies to every call of its tool and scope.</p>}
          <ol class="condition-rows">
            {value.rows.map((r, i) => (
              <li key={i} class="condition-row" data-testid="condition-row">
                <div class="row">
                  <div class="field">
                    <label for={`cond-${i}-source`}>Source</label>
                    <select id={`cond-${i}-source`} aria-label={`Condition ${i + 1} source`} value={r.source} onChange={(e) => setRow(i, { source: e.currentTarget.value as ConditionSource })}>
                      {SOURCES.map((s) => (
                        <option key={s} value={s}>
                          {s}
                        </option>
                      ))}
                    </select>
                  </div>
                  <div class="field">
                    <label for={`cond-${i}-pointer`}>Pointer</label>
                    <input
                      id={`cond-${i}-pointer`}
                      aria-label={`Condition ${i + 1} pointer`}
                      class="mono"
                      value={r.pointer}
                      placeholder={r.source === 'request' ? '/time' : '/amount'}
                      spellcheck={false}
                      onInput={(e) => setRow(i, { pointer: e.currentTarget.value })}
                    />
                  </div>
                  <div class="field">
                    <label for={`cond-${i}-op`}>Operator</label>
                    <select id={`cond-${i}-op`} aria-label={`Condition ${i + 1} operator`} value={r.op} onChange={(e) => setRow(i, { op: e.currentTarget.value as Operator })}>
                      {OPERATORS.map((o) => (
                        <option key={o.op} value={o.op} title={o.explain}>
                          {o.op}
                        </option>
                      ))}
                    </select>
                  </div>
                  <div class="field">
                    <label for={`cond-${i}-value`}>Value</label>
                    <input
                      id={`cond-${i}-value`}
                      aria-label={`Condition ${i + 1} value`}
                      aria-describedby={`cond-${i}-help`}
                      class="mono"
                      value={r.value}
                      spellcheck={false}
                      placeholder={LIST_OPS.includes(r.op) ? 'a, b, c' : r.op === 'exists' ? 'true' : ''}
                      onInput={(e) => setRow(i, { value: e.currentTarget.value })}
                    />
                  </div>
                  <div class="field">
                    <label for={`cond-${i}-missing`}>If missing</label>
                    <select
                      id={`cond-${i}-missing`}
                      aria-label={`Condition ${i + 1} if missing`}
                      value={r.on_missing}
                      onChange={(e) => setRow(i, { on_missing: e.currentTarget.value as OnMissing })}
                    >
                      <option value="deny">deny</option>
                      <option value="skip">skip the rule</option>
                    </select>
                  </div>
                  {r.source === 'request' && (
                    <div class="field">
                      <label for={`cond-${i}-tz`}>Time zone</label>
                      <input
                        id={`cond-${i}-tz`}
                        aria-label={`Condition ${i + 1} time zone`}
                        value={r.time_zone}
                        placeholder="UTC"
                        onInput={(e) => setRow(i, { time_zone: e.currentTarget.value })}
                      />
                    </div>
                  )}
                </div>
                <p id={`cond-${i}-help`} class="help">
                  <code>{r.op}</code>: {OPERATORS.find((o) => o.op === r.op)?.explain}.{' '}
                  {LIST_OPS.includes(r.op)
                    ? 'Separate the items with commas, or write a JSON array.'
                    : TEXT_OPS.includes(r.op)
                      ? 'Taken as typed.'
                      : 'Read as JSON (500, true, "text"); anything else is taken as text.'}
                </p>
                <button
                  type="button"
                  class="btn btn-small btn-danger-outline"
                  aria-label={`Remove condition ${i + 1}`}
                  onClick={() => onChange({ ...value, rows: value.rows.filter((_, j) => j !== i) })}
                >
                  Remove condition
                </button>
              </li>
            ))}
          </ol>
          <button type="button" class="btn btn-small" onClick={() => onChange({ ...value, rows: [...value.rows, emptyRow()] })}>
            Add condition
          </button>
        </>
      )}
    </fieldset>
  );
}
