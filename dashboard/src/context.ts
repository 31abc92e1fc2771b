import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { describeError, isAuthFailure } from './api';
import type { Session } from './session';
import type { AdminClient, Me } from './types';

export interface AppContext {
  client: AdminClient;
  session: Session;
  me: Me;
  /** Ends the session (the key was refused mid-session, or the user signed out). */
  signOut(message?: string): void;
  notify(message: string): void;
}

export const App = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(App);
  if (!ctx) throw new Error('useApp outside the signed-in app');
  return ctx;
}

/** A sentence for an error; when the API refused the key, ends the session instead. */
export function useErrorText(): (err: unknown) => string {
  const { session, signOut } = useApp();
  return useCallback(
    (err: unknown) => {
      if (isAuthFailure(err)) signOut('The API no longer accepts this admin key. Sign in again.');
      return describeError(err, session.baseUrl);
    },
    [session.baseUrl, signOut],
  );
}

export interface Loaded<T> {
  data?: T;
  error?: string;
  loading: boolean;
  reload(): void;
}

/** Loads data when `deps` change; keeps the last data while reloading so the screen does not flash. */
export function useLoad<T>(load: (client: AdminClient) => Promise<T>, deps: unknown[]): Loaded<T> {
  const { client } = useApp();
  const errorText = useErrorText();
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [nonce, setNonce] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    setState((s) => ({ ...s, loading: true }));
    load(client).then(
      (data) => mine === seq.current && setState({ data, loading: false }),
      (err) => mine === seq.current && setState((s) => ({ data: s.data, error: errorText(err), loading: false })),
    );
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, nonce, ...deps]);
  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { ...state, reload };
}

/** Runs one user action at a time, with its pending flag and error sentence. */
export function useAction() {
  const errorText = useErrorText();
  const [pending, setPending] = useState(false);
  const [error, setError] = useState<string>();
  const run = useCallback(
    async <T,>(action: () => Promise<T>): Promise<T | undefined> => {
      setPending(true);
      setError(undefined);
      try {
        return await action();
      } catch (err) {
        setError(errorText(err));
        return undefined;
      } finally {
        setPending(false);
      }
    },
    [errorText],
  );
  return { pending, error, setError, run };
}
