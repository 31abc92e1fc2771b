import { useEffect, useState } from 'preact/hooks';
import { cookieClient, createClient, describeError } from '../api';
import { API_URL, currentPage, signInUrl, type KeySession } from '../session';
import type { AuthConfig, Me } from '../types';
import { ErrorNotice } from '../ui';

/** The sign-in configuration of the API, or undefined while asking (or when it cannot say: admin keys still work). */
function useAuthConfig(): AuthConfig | undefined {
  const [config, setConfig] = useState<AuthConfig>();
  useEffect(() => {
    cookieClient().authConfig().then(setConfig, () => {});
  }, []);
  return config;
}

export function SignIn(props: { notice?: string; error?: string; onSignedIn: (s: KeySession, me: Me) => void }) {
  const config = useAuthConfig();
  const [adminKey, setAdminKey] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();
  const [showKey, setShowKey] = useState(false);
  const sso = config?.sso === true;

  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    const key = adminKey.trim();
    if (!key) return setError('Paste your admin key.');
    if (key.startsWith('oak_')) {
      return setError('That is an agent key. The dashboard needs an admin key, which starts with oakadm_.');
    }
    if (!key.startsWith('oakadm_')) return setError('Admin keys start with oakadm_. Check that you pasted the whole key.');
    const session: KeySession = { kind: 'key', adminKey: key, baseUrl: API_URL };
    setPending(true);
    try {
      const me = await createClient(session).me();
      props.onSignedIn(session, me);
    } catch (err) {
      setError(describeError(err, API_URL));
    } finally {
      setPending(false);
    }
  }

  const keyForm = (
    <form class="form" onSubmit={submit} aria-label="Sign in with a key" noValidate>
      <div>
        <label for="admin-key">Admin key</label>
        <input
          id="admin-key"
          name="admin-key"
          type="password"
          autoComplete="off"
          spellcheck={false}
          placeholder="oakadm_…"
          value={adminKey}
          onInput={(e) => setAdminKey(e.currentTarget.value)}
          aria-describedby="admin-key-help"
          required
        />
        <p id="admin-key-help" class="help">
          Kept in this tab's session storage only, and forgotten when you sign out or close the tab.
        </p>
      </div>
      {error && <ErrorNotice error={error} />}
      <button type="submit" class={`btn btn-block ${sso ? '' : 'btn-primary'}`} disabled={pending}>
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );

  return (
    <main id="main" class="signin">
      <div class="card signin-card">
        <p class="brand brand-large">
          <span class="logo" aria-hidden="true">◆</span> OakAuth
        </p>
        <h1 id="signin-title">Sign in to the admin dashboard</h1>
        {props.notice && !props.error && !error && (
          <p class="notice notice-info" role="status">
            {props.notice}
          </p>
        )}
        {props.error && <ErrorNotice error={props.error} />}
        {sso && (
          <>
            <button type="button" class="btn btn-primary btn-block" onClick={() => window.location.assign(signInUrl(currentPage()))}>
              Sign in with single sign-on
            </button>
            <p class="help">
              With your organization's identity provider
              {config?.signup === 'open' ? '. New here? Signing in creates your own organization.' : '.'}
            </p>
          </>
        )}
        {sso && !showKey ? (
          <button type="button" class="btn btn-small" aria-expanded="false" onClick={() => setShowKey(true)}>
            Use an admin key instead
          </button>
        ) : (
          keyForm
        )}
        <p class="help" data-testid="api-url">
          API: {API_URL} (set when the dashboard was built)
        </p>
      </div>
    </main>
  );
}
