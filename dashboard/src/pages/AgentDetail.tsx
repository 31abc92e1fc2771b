import { useState } from 'preact/hooks';
import { useAction, useApp, useCan, useLoad } from '../context';
import { fmtDateTime, fmtRate } from '../format';
import { href, navigate } from '../router';
import type { Agent, AgentWithKey } from '../types';
import { ConfirmDialog, DeleteCard, ErrorNotice, Loading, NewKeyPanel, PageHeader, StatusBadge } from '../ui';
import { RateLimitFields, parseRateLimit } from './RateLimitFields';
import { Simulate } from './Simulate';
import { ToolsAndRules } from './ToolsAndRules';

export function AgentDetail({ agentId }: { agentId: string }) {
  const agent = useLoad((c) => c.getAgent(agentId), [agentId]);
  const [current, setCurrent] = useState<Agent>();
  const a = current ?? agent.data;
  // Viewers see the agent; changing it needs the admin role.
  const canWrite = useCan('admin');

  if (!a) {
    return (
      <>
        <p class="crumbs">
          <a href={href('agents')}>← Agents</a>
        </p>
        {agent.error ? <ErrorNotice error={agent.error} onRetry={agent.reload} /> : <Loading label="Loading agent…" />}
      </>
    );
  }
  return (
    <>
      <p class="crumbs">
        <a href={href('agents')}>← Agents</a>
      </p>
      <PageHeader title={a.name}>
        <StatusBadge enabled={a.enabled} />
        <a class="btn" href={href('logs', { agent_id: a.id })}>
          View logs
        </a>
      </PageHeader>
      <div class="grid">
        {canWrite ? <Settings agent={a} onSaved={setCurrent} /> : <SettingsReadOnly agent={a} />}
        <KeyCard agent={a} canRotate={canWrite} onRotated={(r) => setCurrent(r.agent)} />
      </div>
      <ToolsAndRules agentId={a.id} />
      <Simulate agentId={a.id} />
      {canWrite && <DangerZone agent={a} />}
    </>
  );
}

function SettingsReadOnly({ agent }: { agent: Agent }) {
  return (
    <section class="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <p>
        {agent.enabled
          ? 'Enabled: requests are decided by its tools and rules.'
          : 'Disabled: every request from this agent is denied (agent_disabled).'}
      </p>
      <p>Rate limit: {fmtRate(agent.rate_limit)}.</p>
      <p class="muted small">
        Created {fmtDateTime(agent.created_at)}; updated {fmtDateTime(agent.updated_at)}. Only admins and owners change
        agents.
      </p>
    </section>
  );
}

function Settings({ agent, onSaved }: { agent: Agent; onSaved: (a: Agent) => void }) {
  const { client, notify } = useApp();
  const save = useAction();
  const toggle = useAction();
  const [name, setName] = useState(agent.name);
  const [capacity, setCapacity] = useState(String(agent.rate_limit.capacity));
  const [refill, setRefill] = useState(String(agent.rate_limit.refill_per_second));

  async function submit(e: Event) {
    e.preventDefault();
    if (!name.trim()) return save.setError('The name cannot be empty.');
    const rate = parseRateLimit(capacity, refill);
    if (typeof rate === 'string') return save.setError(rate);
    const res = await save.run(() => client.updateAgent(agent.id, { name: name.trim(), rate_limit: rate }));
    if (res) {
      onSaved(res);
      notify('Settings saved.');
    }
  }

  async function setEnabled(enabled: boolean) {
    const res = await toggle.run(() => client.updateAgent(agent.id, { enabled }));
    if (res) {
      onSaved(res);
      notify(enabled ? `${res.name} is enabled.` : `${res.name} is disabled: its requests are denied.`);
    }
  }

  return (
    <section class="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <div class="status-row">
        <p>
          {agent.enabled
            ? 'Enabled: requests are decided by its tools and rules.'
            : 'Disabled: every request from this agent is denied (agent_disabled).'}
        </p>
        <button
          type="button"
          class={`btn ${agent.enabled ? 'btn-danger-outline' : 'btn-primary'}`}
          disabled={toggle.pending}
          onClick={() => setEnabled(!agent.enabled)}
        >
          {agent.enabled ? 'Disable agent' : 'Enable agent'}
        </button>
      </div>
      {toggle.error && <ErrorNotice error={toggle.error} />}
      <form class="form" onSubmit={submit} noValidate>
        <div class="field">
          <label for="edit-name">Name</label>
          <input id="edit-name" value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />
        </div>
        <RateLimitFields idPrefix="edit" capacity={capacity} refill={refill} setCapacity={setCapacity} setRefill={setRefill} />
        {save.error && <ErrorNotice error={save.error} />}
        <div class="actions">
          <button type="submit" class="btn btn-primary" disabled={save.pending}>
            {save.pending ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </form>
      <p class="muted small">
        Current limit: {fmtRate(agent.rate_limit)}. Changes apply from the agent's next request. Created{' '}
        {fmtDateTime(agent.created_at)}; updated {fmtDateTime(agent.updated_at)}.
      </p>
    </section>
  );
}

const OVERLAPS = [
  { seconds: 0, label: 'Stops working now' },
  { seconds: 300, label: 'Keeps working for 5 minutes' },
  { seconds: 3600, label: 'Keeps working for 1 hour' },
  { seconds: 86_400, label: 'Keeps working for 24 hours' },
];

function KeyCard({ agent, canRotate, onRotated }: { agent: Agent; canRotate: boolean; onRotated: (r: AgentWithKey) => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [open, setOpen] = useState(false);
  const [overlap, setOverlap] = useState(300);
  const [rotated, setRotated] = useState<AgentWithKey>();

  async function rotate() {
    const res = await action.run(() => client.rotateAgentKey(agent.id, { overlap_seconds: overlap }));
    if (res) {
      setOpen(false);
      setRotated(res);
      onRotated(res);
      notify('New key issued.');
    }
  }

  return (
    <section class="card" aria-labelledby="key-title">
      <h2 id="key-title">Agent key</h2>
      <p>
        Current key starts with <code data-testid="key-prefix">{agent.key_prefix}…</code>
      </p>
      {rotated ? (
        <NewKeyPanel
          title="New key issued"
          apiKey={rotated.api_key}
          previousKeyExpiresAt={rotated.previous_key_expires_at}
          onDone={() => setRotated(undefined)}
        />
      ) : !canRotate ? null : (
        <>
          <p class="muted">Rotate the key if it may have leaked, or on a schedule. The new key is shown once.</p>
          <button type="button" class="btn" onClick={() => (action.setError(undefined), setOpen(true))}>
            Rotate key
          </button>
        </>
      )}
      <ConfirmDialog
        open={open}
        title="Rotate this agent's key?"
        confirmLabel="Rotate key"
        pending={action.pending}
        error={action.error}
        onConfirm={rotate}
        onCancel={() => setOpen(false)}
      >
        <p>A new key is issued for {agent.name}. Update the agent with it before the old key stops working.</p>
        <label for="overlap">Old key</label>
        <select id="overlap" value={overlap} onChange={(e) => setOverlap(Number(e.currentTarget.value))}>
          {OVERLAPS.map((o) => (
            <option key={o.seconds} value={o.seconds}>
              {o.label}
            </option>
          ))}
        </select>
      </ConfirmDialog>
    </section>
  );
}

function DangerZone({ agent }: { agent: Agent }) {
  const { client, notify } = useApp();
  return (
    <DeleteCard
      title="Delete agent"
      intro="Deleting an agent revokes its keys and removes its tools and rules. Its log entries are kept."
      button="Delete agent…"
      dialogTitle={`Delete ${agent.name}?`}
      confirmLabel="Delete agent"
      remove={() => client.deleteAgent(agent.id)}
      onDeleted={() => {
        notify(`Agent ${agent.name} deleted.`);
        navigate('agents');
      }}
    >
      <p>
        Its key stops working at once and its tools and rules are deleted. This cannot be undone. Its log entries are
        kept.
      </p>
    </DeleteCard>
  );
}
