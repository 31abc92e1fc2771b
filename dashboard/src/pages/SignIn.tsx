import { useState } from 'preact/hooks';
import { createClient, describeError } from '../api';
import { DEFAULT_BASE_URL, normalizeBaseUrl, savedBaseUrl, type Session } from '../session';
import type { Me } from '../types';
import { ErrorNotice } from '../ui';

export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (s: Session, me: Me) => void }) {
  const [adminKey, setAdminKey] = useState('');
  const [baseUrl, setBaseUrl] = useState(savedBaseUrl);
  const [showAdvanced, setShowAdvanced] = useState(savedBaseUrl() !== DEFAULT_BASE_URL);
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();

  async function submit(e: Event) {
    e.preventDefault();
    setError(undefined);
    const key = adminKey.trim();
    const url = normalizeBaseUrl(baseUrl);
    if (!key) return setError('Paste your admin key.');
    if (key.startsWith('oak_')) {
      return setError('That is an agent key. The dashboard needs an admin key, which starts with oakadm_.');
    }
    if (!key.startsWith('oakadm_')) return setError('Admin keys start with oakadm_. Check that you pasted the whole key.');
    if (!url) {
      setShowAdvanced(true);
      return setError('The API URL must be a full http:// or https:// address, like http://127.0.0.1:8787.');
    }
    const session = { adminKey: key, baseUrl: url };
    setPending(true);
    try {
      const me = await createClient(session).me();
      onSignedIn(session, me);
    } catch (err) {
      setError(describeError(err, url));
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
        <details open={showAdvanced} onToggle={(e) => setShowAdvanced(e.currentTarget.open)}>
          <summary>API URL: {normalizeBaseUrl(baseUrl) ?? baseUrl}</summary>
          <label for="base-url">API URL</label>
          <input
            id="base-url"
            name="base-url"
            type="url"
            inputMode="url"
            spellcheck={false}
            value={baseUrl}
            onInput={(e) => setBaseUrl(e.currentTarget.value)}
            aria-describedby="base-url-help"
          />
          <p id="base-url-help" class="help">
            Where the OakAuth worker answers. Its CORS_ORIGINS setting must include {window.location.origin}.
          </p>
        </details>
        {error && <ErrorNotice error={error} />}
        <button type="submit" class="btn btn-primary btn-block" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
