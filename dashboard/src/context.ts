import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { describeError, isAuthFailure } from './api';
import type { Session } from './session';
import { atLeast, type AdminClient, type Me, type Role, type SessionInfo, type Usage } from './types';

export interface AppContext {
  client: AdminClient;
  session: Session;
  me: Me;
  /** The signed-in person, their session and organizations; undefined when signed in with an admin key. */
  person?: SessionInfo;
  /** Acts in another of the person's organizations. */
  switchOrganization(id: string): void;
  /** Reads `me` and the person's organizations again (after a rename: the header shows the name). */
  refreshSession(): void;
  /** Ends the session (the key was refused mid-session, or the user signed out). */
  signOut(message?: string): void;
  notify(message: string): void;
  /** The organization's pending approvals, counted for the navigation's badge. */
  pending: PendingApprovals;
}

export interface PendingApprovals {
  /** How many approvals wait for a person (undefined until first counted). */
  count?: number;
  /** More are pending than were counted. */
  more: boolean;
  /** Counts again now (after a decision, or when a page shows the pending list). */
  refresh(): void;
}

/** Counts pending approvals now, every `everyMs`, and when the tab comes back into view. */
export function usePendingApprovals(client: AdminClient | undefined, everyMs: number): PendingApprovals {
  const [state, setState] = useState<{ count?: number; more: boolean }>({ more: false });
  const [nonce, setNonce] = useState(0);
  useEffect(() => {
    if (!client) return;
    let stopped = false;
    const count = () =>
      client.listApprovals({ status: 'pending', limit: PENDING_COUNT_LIMIT }).then(
        (page) => !stopped && setState({ count: page.approvals.length, more: page.next_cursor !== null }),
        // A count that failed keeps the last one: the page the admin is on says what went wrong.
        () => {},
      );
    void count();
    const timer = setInterval(count, everyMs);
    const onVisible = () => document.visibilityState === 'visible' && void count();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      stopped = true;
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [client, everyMs, nonce]);
  const refresh = useCallback(() => setNonce((n) => n + 1), []);
  return useMemo(() => ({ ...state, refresh }), [state, refresh]);
}

/**
 * The organization's usage for the banner above every page: loaded when `page` changes (a page load or a
 * navigation), never on a timer. `page` undefined loads nothing (the usage page loads its own). A failed
 * load keeps the last usage: the pages say what went wrong with their own requests.
 */
export function useUsageOnNavigation(client: AdminClient | undefined, page: string | undefined): Usage | undefined {
  const [usage, setUsage] = useState<Usage>();
  useEffect(() => {
    if (!client || page === undefined) return;
    let stopped = false;
    client.usage().then(
      (u) => !stopped && setUsage(u),
      () => {},
    );
    return () => {
      stopped = true;
    };
  }, [client, page]);
  return usage;
}

/** The badge counts up to this many pending approvals, then says "N+". */
export const PENDING_COUNT_LIMIT = 100;

export const App = createContext<AppContext | null>(null);

/** Whether the caller's role here has at least `needed`'s power (write controls are shown only then). */
export function useCan(needed: Role): boolean {
  return atLeast(useApp().me.role, needed);
}

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
      if (isAuthFailure(err)) {
        signOut(session.kind === 'key' ? 'The API no longer accepts this admin key. Sign in again.' : 'Your session has ended. Sign in again.');
      }
      return describeError(err, session.baseUrl);
    },
    [session, signOut],
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

/** One page of a list: its items and the cursor of the next page (null on the last). */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Paged<T> {
  /** The first page and the pages loaded after it, in order. */
  items: T[];
  /** The first page's loading state; `reload()` starts again from it. */
  first: Loaded<Page<T>>;
  /** Loading the next page: its pending flag and error. */
  more: ReturnType<typeof useAction>;
  /** Whether there is a next page. */
  hasMore: boolean;
  loadMore(): Promise<void>;
}

/**
 * A list the API pages: the first page loads when `deps` change, `loadMore()` appends the next one.
 * `fetch(client, cursor)` gets one page.
 */
export function usePaged<T>(fetch: (client: AdminClient, cursor?: string) => Promise<Page<T>>, deps: unknown[]): Paged<T> {
  const { client } = useApp();
  const [extra, setExtra] = useState<{ items: T[]; cursor: string | null }>({ items: [], cursor: null });
  const first = useLoad(async (c) => {
    const page = await fetch(c);
    setExtra({ items: [], cursor: page.next_cursor });
    return page;
  }, deps);
  const more = useAction();
  async function loadMore() {
    const page = await more.run(() => fetch(client, extra.cursor ?? undefined));
    if (page) setExtra((x) => ({ items: [...x.items, ...page.items], cursor: page.next_cursor }));
  }
  return { items: [...(first.data?.items ?? []), ...extra.items], first, more, hasMore: !!extra.cursor, loadMore };
}
