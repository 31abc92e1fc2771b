import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { createClient, describeError, isAuthFailure } from './api';
import { App as AppCtx, type AppContext, type PendingApprovals, usePendingApprovals } from './context';
import { href, useRoute } from './router';
import { clearSession, loadSession, saveSession, type Session } from './session';
import type { Me } from './types';
import { ErrorNotice, Loading } from './ui';
import { SignIn } from './pages/SignIn';
import { Overview } from './pages/Overview';
import { Agents } from './pages/Agents';
import { AgentDetail } from './pages/AgentDetail';
import { LogRecord, Logs } from './pages/Logs';
import { Activity } from './pages/Activity';
import { ApprovalPage, Approvals } from './pages/Approvals';
import { WebhookDetail, Webhooks } from './pages/Webhooks';

/** How often the navigation counts pending approvals. */
const PENDING_EVERY_MS = 15_000;

type State =
  | { kind: 'signed-out'; notice?: string }
  | { kind: 'restoring'; session: Session; error?: string }
  | { kind: 'signed-in'; session: Session; me: Me };

export function App() {
  const [state, setState] = useState<State>(() => {
    const session = loadSession();
    return session ? { kind: 'restoring', session } : { kind: 'signed-out' };
  });
  const [toast, setToast] = useState<{ id: number; text: string }>();

  const signOut = useCallback((notice?: string) => {
    clearSession();
    setState({ kind: 'signed-out', notice });
  }, []);

  // A reloaded tab still has its key in sessionStorage: check it is still good before showing anything.
  const restoring = state.kind === 'restoring' && !state.error ? state.session : null;
  useEffect(() => {
    if (!restoring) return;
    createClient(restoring).me().then(
      (me) => setState({ kind: 'signed-in', session: restoring, me }),
      (err) =>
        isAuthFailure(err)
          ? signOut('The API no longer accepts the saved admin key. Sign in again.')
          : setState({ kind: 'restoring', session: restoring, error: describeError(err, restoring.baseUrl) }),
    );
  }, [restoring, signOut]);

  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(undefined), 4000);
    return () => clearTimeout(t);
  }, [toast]);

  const client = useMemo(() => (state.kind === 'signed-in' ? createClient(state.session) : undefined), [state]);
  const pending = usePendingApprovals(client, PENDING_EVERY_MS);
  const ctx = useMemo<AppContext | null>(
    () =>
      state.kind === 'signed-in' && client
        ? {
            client,
            session: state.session,
            me: state.me,
            signOut,
            notify: (text) => setToast({ id: Date.now(), text }),
            pending,
          }
        : null,
    [state, client, signOut, pending],
  );

  if (state.kind === 'signed-out') {
    return (
      <SignIn
        notice={state.notice}
        onSignedIn={(session, me) => {
          saveSession(session);
          setState({ kind: 'signed-in', session, me });
          if (!window.location.hash) history.replaceState(null, '', '#/overview');
        }}
      />
    );
  }
  if (state.kind === 'restoring') {
    return (
      <main id="main" class="signin">
        <div class="card signin-card">
          {state.error ? (
            <>
              <ErrorNotice
                error={state.error}
                onRetry={() => setState({ kind: 'restoring', session: state.session })}
              />
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
  return (
    <AppCtx.Provider value={ctx}>
      <Shell
        me={state.me}
        pending={pending}
        onSignOut={() => {
          // Forget where this admin was: the next sign-in may be another organization's.
          history.replaceState(null, '', window.location.pathname + window.location.search);
          signOut('You are signed out.');
        }}
      />
      <div class="toast-region" role="status" aria-live="polite">
        {toast && (
          <p class="toast" key={toast.id}>
            {toast.text}
          </p>
        )}
      </div>
    </AppCtx.Provider>
  );
}

const NAV = [
  { path: 'overview', label: 'Overview' },
  { path: 'agents', label: 'Agents' },
  { path: 'approvals', label: 'Approvals' },
  { path: 'logs', label: 'Logs' },
  { path: 'activity', label: 'Activity' },
  { path: 'webhooks', label: 'Webhooks' },
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

function Shell({ me, pending, onSignOut }: { me: Me; pending: PendingApprovals; onSignOut: () => void }) {
  const route = useRoute();
  const [section = 'overview', id] = route.path;
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
            {NAV.map((n) => (
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
          <span class="org" title={`Admin key ${me.key_prefix}…`}>
            {me.organization.name}
          </span>
          <button type="button" class="btn btn-small" onClick={onSignOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {section === 'agents' && id ? (
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
        ) : (
          <Overview />
        )}
      </main>
    </>
  );
}
