import { useState } from 'preact/hooks';
import { useAction, useApp, useCan, usePaged } from '../context';
import { fmtDateTime, fmtRate } from '../format';
import { href } from '../router';
import type { AgentWithKey } from '../types';
import { Empty, ErrorNotice, Loading, NewKeyPanel, PageHeader, StatusBadge } from '../ui';
import { RateLimitFields, parseRateLimit } from './RateLimitFields';

const PAGE = 100;

export function Agents() {
  const list = usePaged(async (c, cursor) => {
    const page = await c.listAgents({ limit: PAGE, cursor });
    return { items: page.agents, next_cursor: page.next_cursor };
  }, []);
  const { items: agents, first, more } = list;
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<AgentWithKey>();
  const canWrite = useCan('admin');

  return (
    <>
      <PageHeader title="Agents">
        {canWrite && !creating && !created && (
          <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
            New agent
          </button>
        )}
      </PageHeader>
      {creating && (
        <CreateAgentForm
          onCancel={() => setCreating(false)}
          onCreated={(res) => {
            setCreating(false);
            setCreated(res);
            first.reload();
          }}
        />
      )}
      {created && (
        <div class="card">
          <NewKeyPanel
            title={`Agent “${created.agent.name}” created`}
            apiKey={created.api_key}
            onDone={() => setCreated(undefined)}
          />
          <p>
            Next: <a href={href(`agents/${created.agent.id}`)}>add tools and rules for {created.agent.name}</a>. Until a rule
            grants a scope, every request from this agent is denied.
          </p>
        </div>
      )}
      {first.error && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {!first.data && first.loading && <Loading label="Loading agents…" />}
      {first.data && agents.length === 0 && !creating && !created && (
        <Empty title="No agents yet.">
          <p>An agent is a program that asks OakAuth before it uses a tool. {canWrite ? 'Create one to get its key.' : 'An admin creates them.'}</p>
          {canWrite && (
            <button type="button" class="btn btn-primary" onClick={() => setCreating(true)}>
              Create your first agent
            </button>
          )}
        </Empty>
      )}
      {agents.length > 0 && (
        <div class="card table-card">
          <div class="table-wrap">
            <table class="responsive" data-testid="agents-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Status</th>
                  <th scope="col">Key</th>
                  <th scope="col">Rate limit</th>
                  <th scope="col">Created</th>
                </tr>
              </thead>
              <tbody>
                {agents.map((a) => (
                  <tr key={a.id}>
                    <th scope="row" data-label="Name">
                      <a href={href(`agents/${a.id}`)}>{a.name}</a>
                    </th>
                    <td data-label="Status">
                      <StatusBadge enabled={a.enabled} />
                    </td>
                    <td data-label="Key">
                      <code>{a.key_prefix}…</code>
                    </td>
                    <td data-label="Rate limit">{fmtRate(a.rate_limit)}</td>
                    <td data-label="Created">{fmtDateTime(a.created_at)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {more.error && <ErrorNotice error={more.error} />}
          {list.hasMore && (
            <button type="button" class="btn" onClick={list.loadMore} disabled={more.pending}>
              {more.pending ? 'Loading…' : 'Load more agents'}
            </button>
          )}
        </div>
      )}
    </>
  );
}

function CreateAgentForm({ onCancel, onCreated }: { onCancel: () => void; onCreated: (r: AgentWithKey) => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [name, setName] = useState('');
  const [capacity, setCapacity] = useState('60');
  const [refill, setRefill] = useState('1');

  async function submit(e: Event) {
    e.preventDefault();
    if (!name.trim()) return action.setError('Give the agent a name.');
    const rate = parseRateLimit(capacity, refill);
    if (typeof rate === 'string') return action.setError(rate);
    const res = await action.run(() => client.createAgent({ name: name.trim(), rate_limit: rate }));
    if (res) {
      notify(`Agent ${res.agent.name} created.`);
      onCreated(res);
    }
  }

  return (
    <form class="card form" onSubmit={submit} aria-labelledby="create-agent-title" noValidate>
      <h2 id="create-agent-title">New agent</h2>
      <div class="field">
        <label for="agent-name">Name</label>
        <input
          id="agent-name"
          value={name}
          maxLength={100}
          required
          autoFocus
          placeholder="support-bot"
          onInput={(e) => setName(e.currentTarget.value)}
        />
        <p class="help">Unique in your organization.</p>
      </div>
      <RateLimitFields idPrefix="new" capacity={capacity} refill={refill} setCapacity={setCapacity} setRefill={setRefill} />
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        <button type="button" class="btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" class="btn btn-primary" disabled={action.pending}>
          {action.pending ? 'Creating…' : 'Create agent'}
        </button>
      </div>
    </form>
  );
}
