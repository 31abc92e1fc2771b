// The admin key lives in sessionStorage only: it is gone when the tab closes, and never in a URL or localStorage.
const KEY = 'oakauth.adminKey';

/**
 * The API this build talks to, fixed at build time (VITE_OAKAUTH_API_URL; vite.config.ts checks it and
 * writes the Content-Security-Policy that lets the page connect to it and nowhere else).
 */
export const API_URL: string = import.meta.env.VITE_OAKAUTH_API_URL;

export interface Session {
  adminKey: string;
  baseUrl: string;
}

export function loadSession(): Session | null {
  const adminKey = sessionStorage.getItem(KEY);
  return adminKey ? { adminKey, baseUrl: API_URL } : null;
}

export function saveSession(s: Session): void {
  sessionStorage.setItem(KEY, s.adminKey);
}

export function clearSession(): void {
  sessionStorage.removeItem(KEY);
}
