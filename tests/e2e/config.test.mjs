// Shipped configuration: what a production deploy gets by default, and the local development
// settings scripts/dev.sh writes. No worker is started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, LOCAL_CORS_ORIGINS } from '../support/worker.mjs';

const run = promisify(execFile);

/** The lines of one top-level table of a TOML file, up to the next table header. */
const tomlTable = (text, name) => {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `[${name}]`);
  assert.ok(start >= 0, `no [${name}] table`);
  const end = lines.findIndex((l, i) => i > start && /^\s*\[/.test(l));
  return lines.slice(start + 1, end < 0 ? undefined : end).filter((l) => !/^\s*(#|$)/.test(l));
};

test("wrangler.toml's production default allows no browser origin, and no local one anywhere", async () => {
  const text = await readFile(join(ROOT, 'wrangler.toml'), 'utf8');
  const vars = tomlTable(text, 'vars');
  const cors = vars.filter((l) => /^\s*CORS_ORIGINS\s*=/.test(l));
  assert.deepEqual(cors.map((l) => l.trim()), ['CORS_ORIGINS = ""']);
  for (const line of vars) assert.doesNotMatch(line, /localhost|127\.0\.0\.1|\[::1\]/i, 'a local origin in a deployed variable');
  assert.doesNotMatch(text, /^\s*\[+env\./m, 'environments do not inherit bindings: keep local settings in .dev.vars');
});

const devVars = (file) => run('bash', [join(ROOT, 'scripts', 'dev-vars.sh'), file], { cwd: ROOT });

test('scripts/dev.sh writes the local CORS origins into a new .dev.vars, with a fresh secret', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'oakauth-devvars-'));
  try {
    const file = join(dir, '.dev.vars');
    await devVars(file);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^KEY_HASH_SECRET=[0-9a-f]{64}$/m);
    assert.match(text, /^RECEIPT_KEYS=dev-\d{8}:[A-Za-z0-9_-]{43}$/m, 'a fresh receipt signing key');
    assert.equal(text.match(/^CORS_ORIGINS=.*$/gm)?.join(), `CORS_ORIGINS=${LOCAL_CORS_ORIGINS}`);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    await devVars(file);
    assert.equal(await readFile(file, 'utf8'), text, 'a second run changes nothing');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an older .dev.vars gets the lines it lacks appended (receipt key, CORS origins, loopback webhooks, the local identity provider), and nothing else changes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'oakauth-devvars-'));
  try {
    const file = join(dir, '.dev.vars');
    const old = '# made by an older scripts/dev.sh\nKEY_HASH_SECRET=0123456789abcdef0123456789abcdef';
    await writeFile(file, old); // no final line break
    await devVars(file);
    const appended = (await readFile(file, 'utf8')).replace(/^RECEIPT_KEYS=dev-\d{8}:[A-Za-z0-9_-]{43}$/m, 'RECEIPT_KEYS=…');
    const signIn = 'OIDC_ISSUER=http://127.0.0.1:8790\nOIDC_CLIENT_ID=oakauth\nOIDC_CLIENT_SECRET=oakauth-local-secret\nSIGNUP=open\nDASHBOARD_URL=http://127.0.0.1:8788\n';
    assert.equal(appended, `${old}\nRECEIPT_KEYS=…\nCORS_ORIGINS=${LOCAL_CORS_ORIGINS}\nWEBHOOK_ALLOW_HTTP_LOOPBACK=true\n${signIn}`);
    const own = 'KEY_HASH_SECRET=0123456789abcdef0123456789abcdef\nRECEIPT_KEYS=mine:nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\nCORS_ORIGINS=http://127.0.0.1:5173\nWEBHOOK_ALLOW_HTTP_LOOPBACK=false\nOIDC_ISSUER=https://login.example.com\n';
    await writeFile(file, own);
    await devVars(file);
    assert.equal(await readFile(file, 'utf8'), own, "a developer's own receipt key, CORS_ORIGINS, webhook setting and identity provider are kept");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
