// What the proxy's tests share: where the binary and the MCP servers are, and a configuration.
import { connect } from 'node:net';
import { join } from 'node:path';
import { ROOT } from '../support/worker.mjs';

/** The `oakauth` binary under test (`cargo build -p oakauth --bin oakauth`). */
export const OAKAUTH_BIN = process.env.OAKAUTH_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'debug', 'oakauth');
const modules = join(ROOT, 'node_modules', '@modelcontextprotocol');
export const FILESYSTEM = join(modules, 'server-filesystem', 'dist', 'index.js');
export const EVERYTHING = join(modules, 'server-everything', 'dist', 'index.js');
export const ECHO = join(ROOT, 'tests', 'proxy', 'echo-server.mjs');

/**
 * The top of a proxy configuration: settings and [oakauth] (key from OAKAUTH_API_KEY unless
 * `key: false`, for an HTTP listener whose clients bring their own). Mappings are appended.
 */
export function proxyConfig(baseUrl, { hide_denied = false, timeout_ms, retries, key = true } = {}) {
  const lines = ['default = "deny"', `hide_denied = ${hide_denied}`, '', '[oakauth]', `base_url = "${baseUrl}"`, 'allow_insecure_loopback = true'];
  if (key) lines.push('key_env = "OAKAUTH_API_KEY"');
  if (timeout_ms !== undefined) lines.push(`timeout_ms = ${timeout_ms}`);
  if (retries !== undefined) lines.push(`retries = ${retries}`);
  return lines.join('\n') + '\n';
}

/** Resolves once something accepts connections on 127.0.0.1:port (at most 30 s). */
export async function waitForPort(port, deadline = Date.now() + 30_000) {
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => { s.destroy(); resolve(true); });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
