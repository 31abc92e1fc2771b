import { useState } from 'preact/hooks';
import { useAction, useApp, useLoad } from '../context';
import { POLICIES, RISK_LEVELS, defaultPolicyFor } from '../format';
import type { ReasoningPolicy, RiskLevel, Rule, Tool } from '../types';
import { ConfirmDialog, Empty, ErrorNotice, Loading } from '../ui';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:/-]*$/;

export function ToolsAndRules({ agentId }: { agentId: string }) {
  const data = useLoad(async (c) => {
    const [tools, rules] = await Promise.all([c.listTools(agentId, { limit: 200 }), c.listRules(agentId, { limit: 200 })]);
    return { tools: tools.tools, rules: rules.rules, more: tools.next_cursor !== null || rules.next_cursor !== null };
  }, [agentId]);
  const d = data.data;
  return (
    <div class="grid">
      <section class="card" aria-labelledby="tools-title">
        <h2 id="tools-title">Tools</h2>
        <p class="muted">The tools this agent may ask about, each with the scopes it can grant.</p>
        {data.error && <ErrorNotice error={data.error} onRetry={data.reload} />}
        {!d && data.loading && <Loading label="Loading tools…" />}
        {d && <ToolList agentId={agentId} tools={d.tools} onChange={data.reload} />}
        {d && <AddTool agentId={agentId} onAdded={data.reload} />}
      </section>
      <section class="card" aria-labelledby="rules-title">
        <h2 id="rules-title">Rules</h2>
        <p class="muted">A rule grants one scope of one tool, with a reasoning requirement. Anything else is denied.</p>
        {!d && data.loading && <Loading label="Loading rules…" />}
        {d && <RuleList agentId={agentId} rules={d.rules} onChange={data.reload} />}
        {d && <AddRule agentId={agentId} tools={d.tools} onAdded={data.reload} />}
      </section>
      {d?.more && <p class="muted small span-2">Showing the first 200 tools and rules only.</p>}
    </div>
  );
}

function ToolList({ agentId, tools, onChange }: { agentId: string; tools: Tool[]; onChange: () => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [victim, setVictim] = useState<Tool>();
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
              {t.description && <p class="muted small">{t.description}</p>}
              <p class="chips" aria-label="Scopes">
                {t.scopes.map((s) => (
                  <span key={s} class="chip">
                    {s}
                  </span>
                ))}
              </p>
            </div>
            <button
              type="button"
              class="btn btn-small btn-danger-outline"
              aria-label={`Remove tool ${t.name}`}
              onClick={() => (action.setError(undefined), setVictim(t))}
            >
              Remove
            </button>
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

function RuleList({ agentId, rules, onChange }: { agentId: string; rules: Rule[]; onChange: () => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [victim, setVictim] = useState<Rule>();
  if (rules.length === 0) return <Empty title="No rules yet: every request from this agent is denied." />;

  async function setPolicy(rule: Rule, policy: ReasoningPolicy) {
    const res = await action.run(() => client.updateRule(agentId, rule.id, { require_reasoning: policy }));
    if (res) {
      notify(`${rule.tool} · ${rule.scope} now needs ${policy} reasoning.`);
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
  return (
    <>
      {action.error && !victim && <ErrorNotice error={action.error} />}
      <div class="table-wrap">
        <table class="responsive" data-testid="rules-table">
          <thead>
            <tr>
              <th scope="col">Tool</th>
              <th scope="col">Scope</th>
              <th scope="col">Reasoning</th>
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.id}>
                <td data-label="Tool">
                  <code>{r.tool}</code>
                </td>
                <td data-label="Scope">
                  <code>{r.scope}</code>
                </td>
                <td data-label="Reasoning">
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
                </td>
                <td class="num actions-cell">
                  <button
                    type="button"
                    class="btn btn-small btn-danger-outline"
                    aria-label={`Remove rule ${r.tool} ${r.scope}`}
                    onClick={() => (action.setError(undefined), setVictim(r))}
                  >
                    Remove
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
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
          The agent's requests for <code>{victim?.tool}</code> with scope <code>{victim?.scope}</code> are denied from the
          next one on.
        </p>
      </ConfirmDialog>
    </>
  );
}

function AddRule({ agentId, tools, onAdded }: { agentId: string; tools: Tool[]; onAdded: () => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [toolId, setToolId] = useState('');
  const [scope, setScope] = useState('');
  const [policy, setPolicy] = useState<ReasoningPolicy | ''>('');
  const tool = tools.find((t) => t.id === toolId) ?? tools[0];
  const effectiveScope = tool?.scopes.includes(scope) ? scope : tool?.scopes[0] ?? '';
  const effectivePolicy = policy || (tool ? defaultPolicyFor(tool.risk_level) : 'none');

  if (tools.length === 0) return <p class="muted small">Add a tool first; rules grant its scopes.</p>;

  async function submit(e: Event) {
    e.preventDefault();
    const rule = await action.run(() =>
      client.createRule(agentId, { tool: tool.name, scope: effectiveScope, require_reasoning: effectivePolicy }),
    );
    if (rule) {
      notify(`Rule ${rule.tool} · ${rule.scope} added.`);
      setPolicy('');
      onAdded();
    }
  }

  return (
    <form class="form subform" onSubmit={submit} aria-labelledby="add-rule-title">
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
      </div>
      <p id="rule-reasoning-help" class="help">
        {POLICIES.find((p) => p.value === effectivePolicy)?.explain}
      </p>
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={action.pending}>
          {action.pending ? 'Adding…' : 'Add rule'}
        </button>
      </div>
    </form>
  );
}
