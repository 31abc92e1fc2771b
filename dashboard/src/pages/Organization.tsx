// The organization's settings: every member reads its name, id, creation time and whether it requires a
// second factor; owners rename it and turn that requirement on or off (the API refuses everyone else).
import { useState } from 'preact/hooks';
import { useAction, useApp, useCan, useLoad } from '../context';
import { fmtDateTime } from '../format';
import type { OrganizationSettings, OrganizationUpdate } from '../types';
import { ErrorNotice, Loading, PageHeader } from '../ui';

/** What requiring a second factor means, in one sentence. */
function mfaMeaning(required: boolean): string {
  return required
    ? 'Members must sign in with a second factor at the identity provider; OakAuth checks the ID token and refuses a sign-in without one. Admin keys are not affected.'
    : 'Members sign in however the identity provider lets them; a second factor is not checked.';
}

export function Organization() {
  const owner = useCan('owner');
  const settings = useLoad((c) => c.organization(), []);
  const [current, setCurrent] = useState<OrganizationSettings>();
  const org = current ?? settings.data;
  return (
    <>
      <PageHeader title="Organization" />
      {settings.error && <ErrorNotice error={settings.error} onRetry={settings.reload} />}
      {!org && settings.loading && <Loading label="Loading the organization…" />}
      {org && (
        <>
          <section class="card" aria-labelledby="org-settings-title">
            <h2 id="org-settings-title">Settings</h2>
            <dl class="kv" data-testid="organization-settings">
              <dt>Name</dt>
              <dd data-testid="organization-name">{org.name}</dd>
              <dt>ID</dt>
              <dd>
                <code data-testid="organization-id">{org.id}</code>
              </dd>
              <dt>Created</dt>
              <dd>{fmtDateTime(org.created_at)}</dd>
              <dt>Second factor</dt>
              <dd>
                <span class={`badge ${org.require_mfa ? 'badge-allow' : 'badge-muted'}`} data-testid="organization-mfa">
                  {org.require_mfa ? 'Required' : 'Not required'}
                </span>{' '}
                {mfaMeaning(org.require_mfa)}
              </dd>
            </dl>
            {!owner && <p class="muted small">Only owners change these settings.</p>}
          </section>
          {owner && <SettingsForm org={org} onSaved={setCurrent} />}
        </>
      )}
    </>
  );
}

function SettingsForm({ org, onSaved }: { org: OrganizationSettings; onSaved: (o: OrganizationSettings) => void }) {
  const { client, notify, person, refreshSession } = useApp();
  const save = useAction();
  const [name, setName] = useState(org.name);
  const [requireMfa, setRequireMfa] = useState(org.require_mfa);
  // The API refuses to require a second factor from a session that began without one (its author would be
  // locked out): say so instead of offering it.
  const noSecondFactor = !!person && !person.session.mfa && !org.require_mfa;

  async function submit(e: Event) {
    e.preventDefault();
    const trimmed = name.trim();
    if (!trimmed) return save.setError('The name cannot be empty.');
    const change: OrganizationUpdate = {};
    if (trimmed !== org.name) change.name = trimmed;
    if (requireMfa !== org.require_mfa) change.require_mfa = requireMfa;
    if (Object.keys(change).length === 0) return save.setError('Nothing to save: change the name or the second-factor setting first.');
    const res = await save.run(() => client.updateOrganization(change));
    if (res) {
      onSaved(res);
      setName(res.name);
      setRequireMfa(res.require_mfa);
      notify(
        change.require_mfa !== undefined
          ? res.require_mfa
            ? 'Saved: members must now sign in with a second factor.'
            : 'Saved: a second factor is no longer required.'
          : `The organization is now called ${res.name}.`,
      );
      // The header and the organization switcher show the name.
      if (change.name !== undefined) refreshSession();
    }
  }

  return (
    <form class="card form" onSubmit={submit} aria-labelledby="org-edit-title" noValidate>
      <h2 id="org-edit-title">Change settings</h2>
      <div class="field">
        <label for="org-name">Name</label>
        <input id="org-name" value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} required />
      </div>
      <div class="field">
        <label class="check" for="org-mfa">
          <input
            id="org-mfa"
            type="checkbox"
            checked={requireMfa}
            disabled={noSecondFactor}
            aria-describedby="org-mfa-help"
            onChange={(e) => setRequireMfa(e.currentTarget.checked)}
          />
          <span>Require a second factor at sign-in</span>
        </label>
        <p id="org-mfa-help" class="help">
          {noSecondFactor
            ? 'You signed in without a second factor, so you cannot require one: you would lose access. Sign in again with a second factor first.'
            : 'The identity provider must report the second factor in the ID token (its amr or acr claim).'}
        </p>
      </div>
      {requireMfa && !org.require_mfa && (
        <p class="warning" data-testid="mfa-warning">
          <strong>Members without a second factor lose access.</strong> Once saved, a sign-in without a second factor is
          refused, and a member whose current session began without one is refused from their next request and must sign in
          again with a second factor. Admin keys keep working.
        </p>
      )}
      {save.error && <ErrorNotice error={save.error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={save.pending}>
          {save.pending ? 'Saving…' : 'Save settings'}
        </button>
      </div>
    </form>
  );
}
