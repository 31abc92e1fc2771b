// The admin key lives in sessionStorage only: it is gone when the tab closes, and never in a URL or localStorage.
const KEY = 'oakauth.adminKey';
const BASE_URL = 'oakauth.baseUrl';

export const DEFAULT_BASE_URL: string = import.meta.env.VITE_OAKAUTH_API_URL || 'http://127.0.0.1:8787';

export interface Session {
  adminKey: string;
  baseUrl: string;
}

export function loadSession(): Session | null {
  const adminKey = sessionStorage.getItem(KEY);
  return adminKey ? { adminKey, baseUrl: savedBaseUrl() } : null;
}

export function savedBaseUrl(): string {
  return sessionStorage.getItem(BASE_URL) || DEFAULT_BASE_URL;
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, s.adminKey);
  sessionStorage.setItem(BASE_URL, s.baseUrl);
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}

/** Trims and validates a base URL typed by the user; returns it without a trailing slash, or null. */
export function normalizeBaseUrl(input: string): string | null {
  const trimmed = input.trim().replace(/\/+$/, '');
  try {
    const u = new URL(trimmed);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
    if (u.search || u.hash || u.username || u.password) return null;
    return trimmed;
  } catch {
    return null;
  }
}
