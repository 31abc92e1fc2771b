// The dashboard's API URL, fixed at build time, and the Cloudflare Pages `_headers` file the build
// writes for it: the Content-Security-Policy lets the page connect to its own origin and that API
// origin only, so a script injected into the page cannot send the admin key anywhere else.

/** Where `scripts/dev.sh` runs the worker: the API URL when VITE_OAKAUTH_API_URL is not set. */
export const LOCAL_API_URL = 'http://127.0.0.1:8787';

/**
 * The API URL from `VITE_OAKAUTH_API_URL` (or the local worker's), without a trailing slash.
 * Throws unless it is an https URL, or plain http to a loopback address (a local worker).
 */
export function apiUrl(value) {
  const text = (value || LOCAL_API_URL).trim().replace(/\/+$/, '');
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`VITE_OAKAUTH_API_URL is not a URL: ${text}`);
  }
  const loopback = url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw new Error(`VITE_OAKAUTH_API_URL must be https (plain http only to 127.0.0.1, ::1 or localhost): ${text}`);
  }
  if (url.search || url.hash || url.username || url.password) {
    throw new Error(`VITE_OAKAUTH_API_URL must not have a query, a fragment or credentials: ${text}`);
  }
  return text;
}

/** The headers every page gets, for the API at `api` (a URL `apiUrl()` accepted). */
export function securityHeaders(api) {
  const origin = new URL(api).origin;
  return {
    'Content-Security-Policy': [
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self' ${origin}`,
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "object-src 'none'",
    ].join('; '),
    'X-Frame-Options': 'DENY',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
  };
}

/** The `_headers` file of a build for the API at `api`; scripts/serve.mjs applies it locally too. */
export function pagesHeadersFile(api) {
  const lines = Object.entries(securityHeaders(api)).map(([name, value]) => `  ${name}: ${value}`);
  return [
    '# Written by the build (dashboard/scripts/headers.mjs) for the API URL it was built with.',
    '# Cloudflare Pages applies these to every file; scripts/serve.mjs applies them locally too.',
    '/*',
    ...lines,
    '',
  ].join('\n');
}
