import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { cookieClient, createClient, describeError, isAuthFailure } from './api';
import { App as AppCtx, type AppContext, type PendingApprovals, useApp, usePendingApprovals, useUsageOnNavigation } from './context';
import { href, navigate, useRoute } from './router';
import {
  API_URL,
  clearSession,
  loadSession,
  saveOrganization,
  saveSession,
  savedOrganization,
  signInErrorText,
  takeSignInError,
  type KeySession,
  type PersonSession,
  type Session,
} from './session';
import { atLeast, type Me, type Role, type SessionInfo } from './types';
import { ErrorNotice, Loading } from './ui';
import { SignIn } from './pages/SignIn';
import { Overview } from './pages/Overview';
import { Agents } from './pages/Agents';
import { AgentDetail } from './pages/AgentDetail';
import { LogRecord, Logs } from './pages/Logs';
import { Activity } from './pages/Activity';
import { ApprovalPage, Approvals } from './pages/Approvals';
import { WebhookDetail, Webhooks } from './pages/Webhooks';
import { AdminKeys, InvitationAccept, Invitations, Members, YourSessions } from './pages/People';
import { Usage, ValidationsBanner } from './pages/Usage';
import { Organization } from './pages/Organization';

/** How often the navigation counts pending approvals. */
const PENDING_EVERY_MS = 15_000;

type State =
  | { kind: 'signed-out'; notice?: string; error?: string }
  /** Checking a saved admin key, or whether the browser has a person's session cookie. */
  | { kind: 'restoring'; session?: KeySession; organizationId?: string; error?: string }
  | { kind: 'signed-in'; session: Session; me: Me; person?: SessionInfo }
  /** A person signed in who belongs to no organization (yet): an invitation link is the way in. */
  | { kind: 'no-organization'; person: SessionInfo };

/** Signs a person in to one of their organizations: the one asked for, the one last chosen in this tab, or their first. */
async function personState(info: SessionInfo, wanted?: string): Promise<State> {
  const orgs = info.organizations;
  const org = orgs.find((o) => o.id === wanted) ?? orgs.find((o) => o.id === savedOrganization()) ?? orgs[0];
  if (!org) return { kind: 'no-organization', person: info };
  saveOrganization(org.id);
  const session: PersonSession = { kind: 'person', baseUrl: API_URL, organizationId: org.id, csrfToken: info.csrf_token };
  const me = await createClient(session).me();
  return { kind: 'signed-in', session, me, person: info };
}

export function App() {
  const route = useRoute();
  const [signInError] = useState(() => {
    const code = takeSignInError();
    return code ? signInErrorText(code) : undefined;
  });
  const [state, setState] = useState<State>(() => ({ kind: 'restoring', session: loadSession() ?? undefined }));
  const [toast, setToast] = useState<{ id: number; text: string }>();

  const signOut = useCallback((notice?: string) => {
    clearSession();
    saveOrganization(null);
    setState({ kind: 'signed-out', notice });
  }, []);

  // A reloaded tab still has its admin key in sessionStorage, or the browser a person's session cookie
  // (also right after the identity provider sent the browser back): check it before showing anything.
  const restoring = state.kind === 'restoring' && !state.error ? state : null;
  useEffect(() => {
    if (!restoring) return;
    const key = restoring.session;
    if (key) {
      createClient(key).me().then(
        (me) => setState({ kind: 'signed-in', session: key, me }),
        (err) =>
          isAuthFailure(err)
            ? signOut('The API no longer accepts the saved admin key. Sign in again.')
            : setState({ ...restoring, error: describeError(err, key.baseUrl) }),
      );
      return;
    }
    cookieClient()
      .session()
      .then((info) => personState(info, restoring.organizationId))
      .then(setState, (err) =>
        // No session (401), or no way to ask (an API without sign-in for people): the sign-in page says what to do.
        isAuthFailure(err) || (err as { status?: number }).status === 404
          ? setState({ kind: 'signed-out', error: signInError })
          : setState({ kind: 'signed-out', error: signInError ?? describeError(err, API_URL) }),
      );
  }, [restoring, signOut, signInError]);

  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(undefined), 4000);
    return () => clearTimeout(t);
  }, [toast]);

  const switchOrganization = useCallback(
    (id: string) => {
      saveOrganization(id);
      setState({ kind: 'restoring', organizationId: id });
      navigate('overview', undefined, true);
    },
    [],
  );

  // One client per session: reading `me` again (refreshSession) keeps it, so the pages do not reload.
  const session = state.kind === 'signed-in' ? state.session : undefined;
  const client = useMemo(() => (session ? createClient(session) : undefined), [session]);
  const pending = usePendingApprovals(client, PENDING_EVERY_MS);

  // After a rename, the header and the organization switcher show the new name. A failure keeps the old
  // one: the page that changed it says what happened.
  const refreshSession = useCallback(() => {
    if (!client || !session) return;
    Promise.all([client.me(), session.kind === 'person' ? cookieClient().session() : undefined]).then(
      ([me, person]) => setState((s) => (s.kind === 'signed-in' && s.session === session ? { ...s, me, person: person ?? s.person } : s)),
      () => {},
    );
  }, [client, session]);
  const ctx = useMemo<AppContext | null>(
    () =>
      state.kind === 'signed-in' && client
        ? {
            client,
            session: state.session,
            me: state.me,
            person: state.person,
            switchOrganization,
            refreshSession,
            signOut,
            notify: (text) => setToast({ id: Date.now(), text }),
            pending,
          }
        : null,
    [state, client, signOut, switchOrganization, refreshSession, pending],
  );

  // Ends a person's session at the API (the cookie is HttpOnly: only the API can clear it), then forgets it here.
  const endSession = async () => {
    if (state.kind === 'signed-in' && state.session.kind === 'person') await client?.logout().catch(() => {});
    if (state.kind === 'no-organization') await cookieClient().logout().catch(() => {});
    // Forget where this admin was: the next sign-in may be another organization's.
    history.replaceState(null, '', window.location.pathname + window.location.search);
    signOut('You are signed out.');
  };

  // The invitation link's page works signed out too: it offers to sign in, then to accept.
  const [section, id] = route.path;
  const invitationToken = section === 'invitations' && id ? id : undefined;
  const person = state.kind === 'signed-in' ? state.person : state.kind === 'no-organization' ? state.person : undefined;
  const onAccepted = (organizationId: string) => {
    notify('You joined the organization.');
    switchOrganization(organizationId);
  };
  const notify = (text: string) => setToast({ id: Date.now(), text });

  if (state.kind === 'restoring') {
    return (
      <main id="main" class="signin">
        <div class="card signin-card">
          {state.error ? (
            <>
              <ErrorNotice error={state.error} onRetry={() => setState({ kind: 'restoring', session: state.session })} />
              <button type="button" class="btn" onClick={() => signOut()}>
                Sign out
              </button>
            </>
          ) : (
            <Loading label="Checking your session…" />
          )}
        </div>
      </main>
    );
  }
  if (state.kind !== 'signed-in' && invitationToken) {
    return (
      <main id="main" class="signin">
        <InvitationAccept token={invitationToken} person={person} error={signInError} onAccepted={onAccepted} onSignOut={endSession} />
        <Toast toast={toast} />
      </main>
    );
  }
  if (state.kind === 'signed-out') {
    return (
      <SignIn
        notice={state.notice}
        error={state.error}
        onSignedIn={(session, me) => {
          saveSession(session);
          setState({ kind: 'signed-in', session, me });
          if (!window.location.hash) history.replaceState(null, '', '#/overview');
        }}
      />
    );
  }
  if (state.kind === 'no-organization') {
    return (
      <main id="main" class="signin">
        <div class="card signin-card">
          <h1>You are not in an organization yet</h1>
          <p>
            You are signed in as {state.person.user.name} ({state.person.user.email}), but you are not a member of any
            organization. Open the invitation link an owner or admin sent you, or ask them for one.
          </p>
          <button type="button" class="btn" onClick={endSession}>
            Sign out
          </button>
        </div>
      </main>
    );
  }
  return (
    <AppCtx.Provider value={ctx}>
      <Shell me={state.me} person={state.person} pending={pending} onSignOut={endSession} onSwitch={switchOrganization} />
      <Toast toast={toast} />
    </AppCtx.Provider>
  );
}

function Toast({ toast }: { toast?: { id: number; text: string } }) {
  return (
    <div class="toast-region" role="status" aria-live="polite">
      {toast && (
        <p class="toast" key={toast.id}>
          {toast.text}
        </p>
      )}
    </div>
  );
}

/** The pages, each with the least role that may open it (the API refuses the others anyway). */
const NAV: { path: string; label: string; role: Role }[] = [
  { path: 'overview', label: 'Overview', role: 'viewer' },
  { path: 'agents', label: 'Agents', role: 'viewer' },
  { path: 'approvals', label: 'Approvals', role: 'viewer' },
  { path: 'logs', label: 'Logs', role: 'viewer' },
  { path: 'activity', label: 'Activity', role: 'viewer' },
  { path: 'webhooks', label: 'Webhooks', role: 'admin' },
  { path: 'usage', label: 'Usage', role: 'viewer' },
  { path: 'members', label: 'Members', role: 'viewer' },
  { path: 'invitations', label: 'Invitations', role: 'admin' },
  { path: 'keys', label: 'API keys', role: 'owner' },
  { path: 'organization', label: 'Organization', role: 'viewer' },
];

/** The number of pending approvals next to "Approvals"; nothing when there are none. */
function PendingBadge({ pending }: { pending: PendingApprovals }) {
  if (!pending.count) return null;
  const n = `${pending.count}${pending.more ? '+' : ''}`;
  return (
    <span class="nav-badge" title={`${n} pending approval${n === '1' ? '' : 's'}`}>
      <span class="sr-only"> (</span>
      <span data-testid="pending-count">{n}</span>
      <span class="sr-only"> pending)</span>
    </span>
  );
}

function Shell(props: {
  me: Me;
  person?: SessionInfo;
  pending: PendingApprovals;
  onSignOut: () => void;
  onSwitch: (organizationId: string) => void;
}) {
  const { me, person, pending, onSignOut } = props;
  const route = useRoute();
  const [section = 'overview', id] = route.path;
  const nav = NAV.filter((n) => atLeast(me.role, n.role));
  // The validations banner above every page, loaded once per page shown; the usage page shows its own.
  const { client } = useApp();
  const usage = useUsageOnNavigation(client, section === 'usage' ? undefined : route.path.join('/'));
  const banner = section !== 'usage' && usage?.organization_id === me.organization.id ? usage : undefined;
  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="topbar">
        <a class="brand" href={href('overview')}>
          <span class="logo" aria-hidden="true">◆</span> OakAuth
        </a>
        <nav aria-label="Main">
          <ul>
            {nav.map((n) => (
              <li key={n.path}>
                <a href={href(n.path)} aria-current={section === n.path ? 'page' : undefined}>
                  {n.label}
                  {n.path === 'approvals' && <PendingBadge pending={pending} />}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="account">
          {person && person.organizations.length > 1 ? (
            <span class="inline-field">
              <label for="org-switch" class="sr-only">
                Organization
              </label>
              <select id="org-switch" value={me.organization.id} onChange={(e) => props.onSwitch(e.currentTarget.value)}>
                {person.organizations.map((o) => (
                  <option key={o.id} value={o.id}>
                    {o.name} ({o.role})
                  </option>
                ))}
              </select>
            </span>
          ) : (
            <span class="org" title={me.key_prefix ? `Admin key ${me.key_prefix}…` : undefined}>
              {me.organization.name}
            </span>
          )}
          {person ? (
            <a class="person" href={href('sessions')} title={`${person.user.email}: your sessions`} data-testid="person-name">
              {person.user.name}
            </a>
          ) : (
            <span class="muted small">{me.role ? `key, ${me.role}` : 'admin key'}</span>
          )}
          <button type="button" class="btn btn-small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {banner && <ValidationsBanner usage={banner} />}
        {section === 'invitations' && id ? (
          <InvitationAccept token={id} person={person} onAccepted={props.onSwitch} onSignOut={onSignOut} />
        ) : section === 'members' ? (
          <Members />
        ) : section === 'invitations' ? (
          <Invitations />
        ) : section === 'keys' ? (
          <AdminKeys />
        ) : section === 'sessions' ? (
          <YourSessions />
        ) : section === 'organization' ? (
          <Organization />
        ) : section === 'agents' && id ? (
          <AgentDetail key={id} agentId={id} />
        ) : section === 'agents' ? (
          <Agents />
        ) : section === 'logs' && id ? (
          <LogRecord key={id} decisionId={id} />
        ) : section === 'logs' ? (
          <Logs query={route.query} />
        ) : section === 'activity' ? (
          <Activity query={route.query} />
        ) : section === 'approvals' && id ? (
          <ApprovalPage key={id} approvalId={id} />
        ) : section === 'approvals' ? (
          <Approvals query={route.query} />
        ) : section === 'webhooks' && id ? (
          <WebhookDetail key={id} webhookId={id} query={route.query} />
        ) : section === 'webhooks' ? (
          <Webhooks />
        ) : section === 'usage' ? (
          <Usage query={route.query} />
        ) : (
          <Overview />
        )}
      </main>
    </>
  );
}
