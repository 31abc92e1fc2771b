// The package as users get it: `npm pack`, install the tarball into an empty project, and use it
// from ES modules, from CommonJS and from TypeScript.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const SDK = join(dirname(fileURLToPath(import.meta.url)), '..');
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let work;
let project;
let packed;

// Everything below runs in the consumer project, against node_modules/oakauth from the tarball.
const ESM_USE = `
import { OakAuth, OakAuthAdmin, OakAuthDeniedError, OakAuthError, configure, guard, isAllowed } from 'oakauth';
import { withOakAuth } from 'oakauth/mcp';
const deny = { allowed: false, reason: 'scope_not_granted', message: 'denied', decision_id: 'dec_1', reasoning_required: 'none', reasoning_provided: false, rate_limit: null };
const oak = new OakAuth({ apiKey: 'oak_x', baseUrl: 'https://oakauth.example.com', fetch: async () => new Response(JSON.stringify(deny), { status: 200 }) });
let ran = false;
const err = await oak.guard({ tool: 't', scope: 's' }, () => { ran = true; }).catch((e) => e);
console.log(JSON.stringify({
  denied: err instanceof OakAuthDeniedError && err instanceof OakAuthError && err.reason === 'scope_not_granted',
  ran,
  admin: typeof new OakAuthAdmin({ adminKey: 'oakadm_x', baseUrl: 'https://oakauth.example.com' }).listLogs,
  exports: [typeof configure, typeof guard, typeof isAllowed, typeof withOakAuth],
}));
`;
const CJS_USE = ESM_USE.replace(
  /^import \{ (.*) \} from 'oakauth';\nimport \{ withOakAuth \} from 'oakauth\/mcp';/m,
  "const { $1 } = require('oakauth');\nconst { withOakAuth } = require('oakauth/mcp');\n(async () => {",
) + '})();';
const EXPECTED = { denied: true, ran: false, admin: 'function', exports: ['function', 'function', 'function', 'function'] };

const TS_USE = `
import { OakAuth, OakAuthAdmin, OakAuthDeniedError, type ValidateResponse, type LogEntry, type Stats } from 'oakauth';
const oak = new OakAuth({ apiKey: 'oak_x', baseUrl: 'https://oakauth.example.com' });
const admin = new OakAuthAdmin({ adminKey: 'oakadm_x', baseUrl: 'https://oakauth.example.com' });
export async function use(): Promise<[number, string, ValidateResponse['reason'], Stats['total']]> {
  const n: number = await oak.guard({ tool: 't', scope: 's', reasoning: 'why' }, (d) => d.rate_limit?.remaining ?? 0);
  let first: LogEntry | undefined;
  for await (const entry of admin.logs({ allowed: false })) { first = entry; break; }
  const e = new Error() as unknown;
  const reason = e instanceof OakAuthDeniedError ? e.reason : 'allowed';
  return [n, first?.decision_id ?? '', reason, (await admin.stats()).total];
}
`;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'oakauth-pack-'));
  const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', work], { cwd: SDK, maxBuffer: 16 << 20 });
  packed = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  project = join(work, 'consumer');
  await run('mkdir', ['-p', project]);
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }));
  await run(NPM, ['install', '--offline', '--no-audit', '--no-fund', join(work, packed.filename)], { cwd: project });
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('packs the ESM and CommonJS builds with their types, and no sources or tests', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'dist/esm/index.js', 'dist/esm/index.d.ts', 'dist/esm/mcp.js', 'dist/cjs/index.js', 'dist/cjs/index.d.ts', 'dist/cjs/mcp.js', 'dist/cjs/package.json']) {
      assert.ok(files.includes(f), `${f} missing from the tarball`);
    }
    assert.ok(!files.some((f) => f.startsWith('src/') || f.startsWith('test/') || f.startsWith('node_modules/')), files.join(' '));
  });

  it('installs into an empty project with no dependencies', async () => {
    const { stdout } = await run(NPM, ['ls', '--all', '--json'], { cwd: project });
    assert.deepEqual(Object.keys(JSON.parse(stdout).dependencies), ['oakauth']);
  });

  it('works from ES modules', async () => {
    await writeFile(join(project, 'use.mjs'), ESM_USE);
    const { stdout } = await run(process.execPath, ['use.mjs'], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), EXPECTED);
  });

  it('works from CommonJS', async () => {
    await writeFile(join(project, 'use.cjs'), CJS_USE);
    const { stdout } = await run(process.execPath, ['use.cjs'], { cwd: project });
    assert.deepEqual(JSON.parse(stdout), EXPECTED);
  });

  it('the CommonJS and ES builds are separate files, each loaded from its own folder', async () => {
    const script = "console.log(require.resolve('oakauth'), require.resolve('oakauth/mcp'))";
    const { stdout } = await run(process.execPath, ['-e', script], { cwd: project });
    assert.match(stdout, /dist\/cjs\/index\.js .*dist\/cjs\/mcp\.js/);
    const esm = await run(process.execPath, ['--input-type=module', '-e', "console.log(import.meta.resolve('oakauth'))"], { cwd: project });
    assert.match(esm.stdout, /dist\/esm\/index\.js/);
  });

  it('gives TypeScript its types from both module systems', async () => {
    await writeFile(join(project, 'use.mts'), TS_USE);
    await writeFile(join(project, 'use.cts'), TS_USE);
    const tsc = join(SDK, 'node_modules', 'typescript', 'bin', 'tsc');
    const compilerOptions = { noEmit: true, strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [] };
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['use.mts', 'use.cts'] }));
    const result = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).catch((e) => e);
    assert.equal(result.code ?? 0, 0, `${result.stdout}${result.stderr}`);
  });
});
