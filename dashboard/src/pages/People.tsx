// People (issue 19): the organization's members, invitations and admin keys, the signed-in person's
// sessions, and the page an invitation link opens. Controls that change something are shown only to
// the roles that may use them; the API refuses everyone else anyway.
import { useEffect, useState } from 'preact/hooks';
import { cookieClient, createClient, describeError } from '../api';
import { useAction, useApp, useCan, useLoad, usePaged } from '../context';
import { fmtDateTime, fmtRelative } from '../format';
import { API_URL, currentPage, signInUrl } from '../session';
import type { AdminKey, CreatedAdminKey, CreatedInvitation, Invitation, InvitationPreview, Member, Role, SessionInfo, UserSession } from '../types';
import { ConfirmDialog, Empty, ErrorNotice, Loading, PageHeader, SecretPanel } from '../ui';

const ROLES: { role: Role; label: string; what: string }[] = [
  { role: 'viewer', label: 'Viewer', what: 'reads agents, tools, rules, logs and activity' },
  { role: 'admin', label: 'Admin', what: 'also changes agents, tools and rules, decides approvals and manages webhooks' },
  { role: 'owner', label: 'Owner', what: 'also manages members, invitations, admin keys and the organization' },
];

function RoleHelp() {
  return (
    <ul class="help">
      {ROLES.map((r) => (
        <li key={r.role}>
          <strong>{r.label}</strong>: {r.what}.
        </li>
      ))}
    </ul>
  );
}

function RoleBadge({ role }: { role: Role }) {
  return <span class={`badge ${role === 'viewer' ? 'badge-muted' : 'badge-allow'}`}>{role}</span>;
}

/** A pending action on one row, confirmed in a dialog. */
interface Confirming {
  title: string;
  text: string;
  label: string;
  run: () => Promise<unknown>;
  done: string;
}

function useConfirm(after: () => void) {
  const { notify } = useApp();
  const action = useAction();
  const [confirming, setConfirming] = useState<Confirming>();
  const dialog = (
    <ConfirmDialog
      open={!!confirming}
      title={confirming?.title ?? ''}
      confirmLabel={confirming?.label ?? ''}
      danger
      pending={action.pending}
      error={action.error}
      onCancel={() => setConfirming(undefined)}
      onConfirm={async () => {
        if (!confirming) return;
        const ok = await action.run(async () => (await confirming.run(), true));
        if (ok) {
          notify(confirming.done);
          setConfirming(undefined);
          after();
        }
      }}
    >
      <p>{confirming?.text}</p>
    </ConfirmDialog>
  );
  const ask = (c: Confirming) => {
    action.setError(undefined);
    setConfirming(c);
  };
  return { ask, dialog };
}

/** The organization's members; owners change roles, remove members and end their sessions. */
export function Members() {
  const { client, me } = useApp();
  const owner = useCan('owner');
  const list = useLoad((c) => c.listMembers(), []);
  const { ask, dialog } = useConfirm(list.reload);
  const members = list.data?.members ?? [];
  return (
    <>
      <PageHeader title="Members" />
      <p class="muted">
        Everyone who can sign in to {me.organization.name}, and what they may do.{' '}
        {atLeastAdmin(me.role) && (
          <>
            Add people from <a href="#/invitations">Invitations</a>.
          </>
        )}
      </p>
      {list.error && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.data && list.loading && <Loading label="Loading members…" />}
      {list.data && members.length === 0 && <Empty title="No members yet." />}
      {members.length > 0 && (
        <div class="card table-card">
          <div class="table-wrap">
            <table class="responsive" data-testid="members-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">E-mail</th>
                  <th scope="col">Role</th>
                  <th scope="col">Joined</th>
                  {owner && <th scope="col"><span class="sr-only">Actions</span></th>}
                </tr>
              </thead>
              <tbody>
                {members.map((m) => (
                  <tr key={m.user_id} data-user-id={m.user_id}>
                    <th scope="row" data-label="Name">
                      {m.name}
                      {me.actor?.id === m.user_id && <span class="muted small"> (you)</span>}
                    </th>
                    <td data-label="E-mail">{m.email}</td>
                    <td data-label="Role">{owner ? <RoleSelect member={m} onChanged={list.reload} /> : <RoleBadge role={m.role} />}</td>
                    <td data-label="Joined">{fmtDateTime(m.joined_at)}</td>
                    {owner && (
                      <td class="actions-cell">
                        <div class="actions">
                          <button
                            type="button"
                            class="btn btn-small"
                            onClick={() =>
                              ask({
                                title: `End ${m.name}'s sessions?`,
                                text: `${m.name} is signed out everywhere at once and must sign in again.`,
                                label: 'End sessions',
                                run: () => client.endMemberSessions(m.user_id),
                                done: `${m.name} is signed out everywhere.`,
                              })
                            }
                          >
                            End sessions<span class="sr-only"> of {m.name}</span>
                          </button>
                          <button
                            type="button"
                            class="btn btn-small btn-danger-outline"
                            onClick={() =>
                              ask({
                                title: `Remove ${m.name}?`,
                                text: `${m.name} (${m.email}) loses access to ${me.organization.name} and is signed out of it at once. What they did stays in the activity log.`,
                                label: 'Remove member',
                                run: () => client.removeMember(m.user_id),
                                done: `${m.name} was removed.`,
                              })
                            }
                          >
                            Remove<span class="sr-only"> {m.name}</span>
                          </button>
                        </div>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      <details>
        <summary>What each role may do</summary>
        <RoleHelp />
      </details>
      {dialog}
    </>
  );
}

function atLeastAdmin(role: string | undefined) {
  return role === 'admin' || role === 'owner';
}

function RoleSelect({ member, onChanged }: { member: Member; onChanged: () => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const id = `role-${member.user_id}`;
  return (
    <span class="inline-field">
      <label for={id} class="sr-only">
        Role of {member.name}
      </label>
      <select
        id={id}
        value={member.role}
        disabled={action.pending}
        onChange={async (e) => {
          const role = e.currentTarget.value as Role;
          const select = e.currentTarget;
          const updated = await action.run(() => client.updateMember(member.user_id, role));
          if (updated) {
            notify(`${member.name} is now ${role}.`);
            onChanged();
          } else {
            select.value = member.role;
          }
        }}
      >
        {ROLES.map((r) => (
          <option key={r.role} value={r.role}>
            {r.role}
          </option>
        ))}
      </select>
      {action.error && <ErrorNotice error={action.error} />}
    </span>
  );
}

const INVITATION_STATUS: Record<string, string> = {
  pending: 'badge-pending',
  accepted: 'badge-allow',
  expired: 'badge-muted',
  revoked: 'badge-deny',
};

/** Invitations by e-mail address and role: the link is shown once, to copy and send. */
export function Invitations() {
  const { client } = useApp();
  const admin = useCan('admin');
  const list = usePaged(async (c, cursor) => {
    const page = await c.listInvitations({ limit: 100, cursor });
    return { items: page.invitations, next_cursor: page.next_cursor };
  }, []);
  const { items, first, more } = list;
  const [created, setCreated] = useState<CreatedInvitation>();
  const { ask, dialog } = useConfirm(first.reload);
  return (
    <>
      <PageHeader title="Invitations" />
      {admin && !created && <InviteForm onCreated={(c) => (setCreated(c), first.reload())} />}
      {created && (
        <div class="card">
          <SecretPanel
            title={`Invitation for ${created.invitation.email}`}
            secret={created.url}
            noun="link"
            why="OakAuth keeps only a hash of it. Send it to the person yourself; it works once."
            testId="invitation-link"
            onDone={() => setCreated(undefined)}
          >
            <p class="muted">
              {created.invitation.email} joins as <strong>{created.invitation.role}</strong> when they open the link and sign in
              with that address. It expires {fmtDateTime(created.invitation.expires_at)}.
            </p>
          </SecretPanel>
        </div>
      )}
      {first.error && <ErrorNotice error={first.error} onRetry={first.reload} />}
      {!first.data && first.loading && <Loading label="Loading invitations…" />}
      {first.data && items.length === 0 && <Empty title="No invitations yet." />}
      {items.length > 0 && (
        <div class="card table-card">
          <div class="table-wrap">
            <table class="responsive" data-testid="invitations-table">
              <thead>
                <tr>
                  <th scope="col">E-mail</th>
                  <th scope="col">Role</th>
                  <th scope="col">Status</th>
                  <th scope="col">Invited by</th>
                  <th scope="col">Expires</th>
                  {admin && <th scope="col"><span class="sr-only">Actions</span></th>}
                </tr>
              </thead>
              <tbody>
                {items.map((i: Invitation) => (
                  <tr key={i.id}>
                    <th scope="row" data-label="E-mail">{i.email}</th>
                    <td data-label="Role"><RoleBadge role={i.role} /></td>
                    <td data-label="Status">
                      <span class={`badge ${INVITATION_STATUS[i.status] ?? 'badge-muted'}`}>{i.status}</span>
                    </td>
                    <td data-label="Invited by">{i.invited_by}</td>
                    <td data-label="Expires">{fmtDateTime(i.expires_at)}</td>
                    {admin && (
                      <td class="actions-cell">
                        {i.status === 'pending' && (
                          <button
                            type="button"
                            class="btn btn-small btn-danger-outline"
                            onClick={() =>
                              ask({
                                title: `Revoke the invitation for ${i.email}?`,
                                text: 'Its link stops working at once.',
                                label: 'Revoke invitation',
                                run: () => client.revokeInvitation(i.id),
                                done: `The invitation for ${i.email} was revoked.`,
                              })
                            }
                          >
                            Revoke<span class="sr-only"> the invitation for {i.email}</span>
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {more.error && <ErrorNotice error={more.error} />}
          {list.hasMore && (
            <button type="button" class="btn" onClick={list.loadMore} disabled={more.pending}>
              {more.pending ? 'Loading…' : 'Load more invitations'}
            </button>
          )}
        </div>
      )}
      {dialog}
    </>
  );
}

function InviteForm({ onCreated }: { onCreated: (c: CreatedInvitation) => void }) {
  const { client, notify } = useApp();
  const owner = useCan('owner');
  const action = useAction();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  async function submit(e: Event) {
    e.preventDefault();
    const address = email.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) return action.setError('Enter the e-mail address the person signs in with.');
    const res = await action.run(() => client.createInvitation({ email: address, role }));
    if (res) {
      notify(`Invitation for ${address} created.`);
      setEmail('');
      onCreated(res);
    }
  }
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="invite-title" noValidate>
      <h2 id="invite-title">Invite someone</h2>
      <div class="row">
        <div class="field">
          <label for="invite-email">E-mail address</label>
          <input id="invite-email" type="email" autoComplete="off" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required />
        </div>
        <div class="field">
          <label for="invite-role">Role</label>
          <select id="invite-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.filter((r) => owner || r.role !== 'owner').map((r) => (
              <option key={r.role} value={r.role}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <p class="help">You get a single-use link to send them. {owner ? '' : 'Only owners can invite owners.'}</p>
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={action.pending}>
          {action.pending ? 'Inviting…' : 'Create invitation'}
        </button>
      </div>
    </form>
  );
}

/** Named, role-scoped, optionally expiring admin keys for scripts and CI (owners only). */
export function AdminKeys() {
  const { client } = useApp();
  const owner = useCan('owner');
  const list = useLoad((c) => c.listAdminKeys(), []);
  const [created, setCreated] = useState<CreatedAdminKey>();
  const { ask, dialog } = useConfirm(list.reload);
  const keys = list.data?.keys ?? [];
  return (
    <>
      <PageHeader title="API keys" />
      <p class="muted">Admin keys let scripts and CI use the admin API with a role of their own. People sign in instead.</p>
      {owner && !created && <NewAdminKeyForm onCreated={(c) => (setCreated(c), list.reload())} />}
      {created && (
        <div class="card">
          <SecretPanel
            title={`Admin key “${created.key.name}” created`}
            secret={created.secret}
            noun="key"
            why="OakAuth stores a hash of it and cannot show it again."
            testId="new-admin-key"
            onDone={() => setCreated(undefined)}
          >
            <p class="muted">
              Role {created.key.role}
              {created.key.expires_at ? `, works until ${fmtDateTime(created.key.expires_at)}` : ', works until revoked'}.
            </p>
          </SecretPanel>
        </div>
      )}
      {list.error && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.data && list.loading && <Loading label="Loading keys…" />}
      {list.data && keys.length === 0 && <Empty title="No admin keys." />}
      {keys.length > 0 && (
        <div class="card table-card">
          <div class="table-wrap">
            <table class="responsive" data-testid="admin-keys-table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Key</th>
                  <th scope="col">Role</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  {owner && <th scope="col"><span class="sr-only">Actions</span></th>}
                </tr>
              </thead>
              <tbody>
                {keys.map((k: AdminKey) => (
                  <tr key={k.id}>
                    <th scope="row" data-label="Name">{k.name}</th>
                    <td data-label="Key"><code>{k.key_prefix}…</code></td>
                    <td data-label="Role"><RoleBadge role={k.role} /></td>
                    <td data-label="Created">
                      {fmtDateTime(k.created_at)} <span class="muted small">by {k.created_by}</span>
                    </td>
                    <td data-label="Expires">
                      {k.revoked_at ? (
                        <span class="badge badge-deny">revoked</span>
                      ) : k.expires_at ? (
                        fmtDateTime(k.expires_at)
                      ) : (
                        'never'
                      )}
                    </td>
                    {owner && (
                      <td class="actions-cell">
                        {!k.revoked_at && (
                          <button
                            type="button"
                            class="btn btn-small btn-danger-outline"
                            onClick={() =>
                              ask({
                                title: `Revoke the key “${k.name}”?`,
                                text: `Anything using ${k.key_prefix}… is refused from its next request on.`,
                                label: 'Revoke key',
                                run: () => client.revokeAdminKey(k.id),
                                done: `The key ${k.name} was revoked.`,
                              })
                            }
                          >
                            Revoke<span class="sr-only"> the key {k.name}</span>
                          </button>
                        )}
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {dialog}
    </>
  );
}

function NewAdminKeyForm({ onCreated }: { onCreated: (c: CreatedAdminKey) => void }) {
  const { client, notify } = useApp();
  const action = useAction();
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [days, setDays] = useState('90');
  async function submit(e: Event) {
    e.preventDefault();
    if (!name.trim()) return action.setError('Give the key a name, such as the script or CI job that uses it.');
    let expires: number | null = null;
    if (days.trim()) {
      expires = Number(days);
      if (!Number.isInteger(expires) || expires < 1 || expires > 365) return action.setError('Expiry: a whole number of days from 1 to 365, or empty for none.');
    }
    const res = await action.run(() => client.createAdminKey({ name: name.trim(), role, expires_in_days: expires }));
    if (res) {
      notify(`Admin key ${res.key.name} created.`);
      setName('');
      onCreated(res);
    }
  }
  return (
    <form class="card form" onSubmit={submit} aria-labelledby="new-key-title" noValidate>
      <h2 id="new-key-title">New admin key</h2>
      <div class="row">
        <div class="field">
          <label for="key-name">Name</label>
          <input id="key-name" value={name} maxLength={100} placeholder="nightly-ci" onInput={(e) => setName(e.currentTarget.value)} required />
        </div>
        <div class="field">
          <label for="key-role">Role</label>
          <select id="key-role" value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
            {ROLES.map((r) => (
              <option key={r.role} value={r.role}>
                {r.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="key-days">Expires after (days)</label>
          <input id="key-days" inputMode="numeric" value={days} onInput={(e) => setDays(e.currentTarget.value)} aria-describedby="key-days-help" />
          <p id="key-days-help" class="help">
            1 to 365; empty: until revoked.
          </p>
        </div>
      </div>
      {action.error && <ErrorNotice error={action.error} />}
      <div class="actions">
        <button type="submit" class="btn btn-primary" disabled={action.pending}>
          {action.pending ? 'Creating…' : 'Create key'}
        </button>
      </div>
    </form>
  );
}

/** The signed-in person's sessions: this browser, others, bearer tokens; each can be ended. */
export function YourSessions() {
  const { client, person, signOut } = useApp();
  const list = useLoad((c) => (person ? c.listSessions() : Promise.resolve({ sessions: [] as UserSession[] })), [person]);
  const { ask, dialog } = useConfirm(list.reload);
  if (!person) {
    return (
      <>
        <PageHeader title="Your sessions" />
        <Empty title="Signed in with an admin key.">
          <p>Sessions belong to people who sign in with single sign-on.</p>
        </Empty>
      </>
    );
  }
  const sessions = list.data?.sessions ?? [];
  return (
    <>
      <PageHeader title="Your sessions" />
      <p class="muted">
        Signed in as <strong>{person.user.name}</strong> ({person.user.email}). End any session you do not recognize.
      </p>
      {list.error && <ErrorNotice error={list.error} onRetry={list.reload} />}
      {!list.data && list.loading && <Loading label="Loading sessions…" />}
      {sessions.length > 0 && (
        <div class="card table-card">
          <div class="table-wrap">
            <table class="responsive" data-testid="sessions-table">
              <thead>
                <tr>
                  <th scope="col">Session</th>
                  <th scope="col">Signed in</th>
                  <th scope="col">Last used</th>
                  <th scope="col">Ends</th>
                  <th scope="col"><span class="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {sessions.map((s) => (
                  <tr key={s.id}>
                    <th scope="row" data-label="Session">
                      {s.name || (s.kind === 'cookie' ? 'Browser' : 'Token')}{' '}
                      <span class="muted small">({s.kind === 'cookie' ? 'browser' : 'bearer token'}{s.mfa ? ', second factor' : ''})</span>
                      {s.current && <span class="badge badge-allow"> this one</span>}
                    </th>
                    <td data-label="Signed in">{fmtDateTime(s.created_at)}</td>
                    <td data-label="Last used">{fmtRelative(s.last_seen_at)}</td>
                    <td data-label="Ends">{fmtDateTime(s.expires_at)}</td>
                    <td class="actions-cell">
                      <button
                        type="button"
                        class="btn btn-small btn-danger-outline"
                        onClick={() =>
                          ask({
                            title: s.current ? 'End this session?' : 'End that session?',
                            text: s.current ? 'You are signed out here.' : 'Whoever uses it is signed out at once.',
                            label: 'End session',
                            run: async () => {
                              await client.revokeSession(s.id);
                              if (s.current) signOut('You ended this session.');
                            },
                            done: 'Session ended.',
                          })
                        }
                      >
                        End<span class="sr-only"> the session {s.name}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      )}
      {dialog}
    </>
  );
}

/**
 * The page an invitation link opens (`#/invitations/<token>`), signed in or not: what it offers, then
 * "Sign in to accept" (single sign-on, back to this page), then "Accept".
 */
export function InvitationAccept(props: {
  token: string;
  person?: SessionInfo;
  error?: string;
  onAccepted: (organizationId: string) => void;
  onSignOut: () => void;
}) {
  const { token, person } = props;
  const [preview, setPreview] = useState<InvitationPreview>();
  const [loadError, setLoadError] = useState<string>();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string | undefined>(props.error);
  useEffect(() => {
    cookieClient()
      .invitationPreview(token)
      .then(setPreview, (err) =>
        setLoadError(
          (err as { status?: number }).status === 404
            ? 'This invitation link is not valid. Check that you copied all of it, or ask for a new one.'
            : describeError(err, API_URL),
        ),
      );
  }, [token]);

  const member = preview && person?.organizations.find((o) => o.id === preview.organization.id);
  async function accept() {
    if (!person || !preview) return;
    setPending(true);
    setError(undefined);
    try {
      // A cookie-authenticated write: the session's CSRF token goes with it.
      const client = createClient({ kind: 'person', baseUrl: API_URL, csrfToken: person.csrf_token });
      const res = await client.acceptInvitation(token);
      props.onAccepted(res.organization.id);
    } catch (err) {
      const code = (err as { code?: string }).code;
      setError(
        code === 'invitation_wrong_account'
          ? `This invitation is for ${preview.email}, and you are signed in as ${person.user.email}. Sign out, then sign in with ${preview.email}.`
          : describeError(err, API_URL),
      );
    } finally {
      setPending(false);
    }
  }

  return (
    <section class="card invite-card" aria-labelledby="invitation-title" data-testid="invitation-page">
      <h1 id="invitation-title">Invitation</h1>
      {loadError && <ErrorNotice error={loadError} />}
      {!preview && !loadError && <Loading label="Reading the invitation…" />}
      {preview && (
        <>
          <p>
            <strong>{preview.organization.name}</strong> invites <strong>{preview.email}</strong> to join as{' '}
            <RoleBadge role={preview.role} />.
          </p>
          {preview.status === 'pending' && <p class="muted">The link works once and expires {fmtDateTime(preview.expires_at)}.</p>}
          {preview.status === 'expired' && <ErrorNotice error="This invitation has expired. Ask for a new one." />}
          {preview.status === 'revoked' && <ErrorNotice error="This invitation was revoked. Ask for a new one." />}
          {preview.status === 'accepted' && !member && <ErrorNotice error="This invitation has been used already." />}
        </>
      )}
      {error && <ErrorNotice error={error} />}
      {preview && member && (
        <>
          <p role="status">
            You are a member of {member.name} as {member.role}.
          </p>
          <button type="button" class="btn btn-primary" onClick={() => props.onAccepted(member.id)}>
            Open {member.name}
          </button>
        </>
      )}
      {preview && !member && preview.status === 'pending' && (
        <>
          {person ? (
            <>
              <p>
                Signed in as {person.user.name} ({person.user.email}).
              </p>
              <button type="button" class="btn btn-primary" disabled={pending} onClick={accept}>
                {pending ? 'Accepting…' : 'Accept'}
              </button>
              <button type="button" class="btn" onClick={props.onSignOut}>
                Sign out
              </button>
            </>
          ) : (
            <>
              <button
                type="button"
                class="btn btn-primary"
                onClick={() => window.location.assign(signInUrl(currentPage(), token))}
              >
                Sign in to accept
              </button>
              <p class="help">Sign in with {preview.email} at your identity provider; you come back here.</p>
            </>
          )}
        </>
      )}
      {!person && (
        <p class="help">
          <a href="#/">Back to sign-in</a>
        </p>
      )}
    </section>
  );
}
