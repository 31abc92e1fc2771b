import { useState } from 'preact/hooks';
import { createClient, describeError } from '../api';
import { API_URL, type Session } from '../session';
import type { Me } from '../types';
import { ErrorNotice } from '../ui';

export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (s: Session, me: Me) => void }) {
  const [adminKey, setAdminKey] = useState('');
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    const key = adminKey.trim();
    if (!key) return setError('Paste your admin key.');
    if (key.startsWith('oak_')) {
      return setError('That is an agent key. The dashboard needs an admin key, which starts with oakadm_.');
    }
    if (!key.startsWith('oakadm_')) return setError('Admin keys start with oakadm_. Check that you pasted the whole key.');
    const session = { adminKey: key, baseUrl: API_URL };
    setPending(true);
    try {
      const me = await createClient(session).me();
      onSignedIn(session, me);
    } catch (err) {
      setError(describeError(err, API_URL));
    } finally {
      setPending(false);
    }
  }

  return (
    <main id="main" class="signin">
      <form class="card signin-card" onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <p class="brand brand-large">
          <span class="logo" aria-hidden="true">◆</span> OakAuth
        </p>
        <h1 id="signin-title">Sign in to the admin dashboard</h1>
        {notice && !error && <p class="notice notice-info" role="status">{notice}</p>}
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
        <p class="help" data-testid="api-url">
          API: {API_URL} (set when the dashboard was built)
        </p>
        {error && <ErrorNotice error={error} />}
        <button type="submit" class="btn btn-primary btn-block" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
