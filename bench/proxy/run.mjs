// The MCP proxy's added latency on tools/call: the same upstream (tests/proxy/echo-server.mjs over
// stdio) called directly and through `oakauth proxy --timings` (a release build), by the official
// TypeScript SDK client, at concurrency 1 and 16, against the real worker in local workerd. The
// proxy times each call itself (validate round trip, upstream, the rest = its own overhead), so the
// validate round trip is reported apart from the proxy's own work. Writes the "## Proxy" section of
// docs/benchmarks.md.
//
// Usage: node bench/proxy/run.mjs  (bounded: PROXY_BENCH_CALLS calls per case, default 2000)
// OAKAUTH_BIN: the release binary (default $CARGO_TARGET_DIR/release/oakauth or target/release/oakauth;
// build it with `cargo build --release -p oakauth --bin oakauth`). PROXY_BENCH_OUT: the file to update.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { startWorker, ROOT } from '../../tests/support/worker.mjs';
import { client as apiClient } from '../../tests/support/api.mjs';

const CALLS = Number(process.env.PROXY_BENCH_CALLS ?? 2000);
const WARMUP = 200;
const OUT = process.env.PROXY_BENCH_OUT ?? join(ROOT, 'docs', 'benchmarks.md');
const BIN = process.env.OAKAUTH_BIN ?? join(process.env.CARGO_TARGET_DIR ?? join(ROOT, 'target'), 'release', 'oakauth');
const ECHO = join(ROOT, 'tests', 'proxy', 'echo-server.mjs');

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (x) => x.toFixed(3);

async function connect(command, args, env) {
  const stderr = [];
  const transport = new StdioClientTransport({ command, args, env: { ...process.env, ...env }, stderr: 'pipe' });
  transport.stderr?.on('data', (d) => stderr.push(d.toString()));
  const c = new Client({ name: 'proxy-bench', version: '1.0.0' });
  await c.connect(transport);
  return { c, stderr };
}

/** `calls` tools/call of echo_args with `concurrency` in flight; client-side latencies in ms. */
async function load(c, calls, concurrency) {
  const latencies = [];
  let next = 0;
  const worker = async () => {
    while (next < calls) {
      next++;
      const t0 = process.hrtime.bigint();
      const r = await c.callTool({ name: 'echo_args', arguments: { text: 'bench', _reasoning: 'benchmark' } });
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.isError) throw new Error(`the call failed: ${JSON.stringify(r.content)}`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return latencies;
}

/** The proxy's own timing lines since `from`: validate, upstream and own time in ms. */
function timings(stderr, from) {
  const rows = stderr.join('').split('\n').slice(from).filter((l) => l.startsWith('oakauth-proxy timing tools/call'));
  const field = (l, k) => Number(l.match(new RegExp(`${k}=(\\d+)`))[1]) / 1000;
  return {
    count: rows.length,
    validate: rows.map((l) => field(l, 'validate_us')),
    upstream: rows.map((l) => field(l, 'upstream_us')),
    own: rows.map((l) => field(l, 'proxy_us')),
  };
}

const w = await startWorker();
const dir = mkdtempSync(join(tmpdir(), 'oakauth-proxy-bench-'));
try {
  const admin = apiClient(w.baseUrl, w.adminKey);
  const created = await admin('POST', '/v1/admin/agents', { name: 'proxy-bench', rate_limit: { capacity: 100000, refill_per_second: 100000 } });
  const agentId = created.body.agent.id;
  await admin('POST', `/v1/admin/agents/${agentId}/tools`, { name: 'echo', scopes: ['call'], risk_level: 'read' });
  await admin('POST', `/v1/admin/agents/${agentId}/rules`, { tool: 'echo', scope: 'call', require_reasoning: 'none' });
  const config = join(dir, 'bench.toml');
  writeFileSync(config, `default = "deny"\n[oakauth]\nbase_url = "${w.baseUrl}"\nallow_insecure_loopback = true\nkey_env = "OAKAUTH_API_KEY"\n\n[[tools]]\nmatch = "echo_args"\ntool = "echo"\nscope = "call"\n`);

  const direct = await connect('node', [ECHO], {});
  const proxied = await connect(BIN, ['proxy', '--timings', '--config', config, '--', 'node', ECHO], { OAKAUTH_API_KEY: created.body.api_key });
  const rows = [];
  for (const concurrency of [1, 16]) {
    await load(direct.c, WARMUP, concurrency);
    await load(proxied.c, WARMUP, concurrency);
    const d = await load(direct.c, CALLS, concurrency);
    const mark = proxied.stderr.join('').split('\n').length - 1;
    const p = await load(proxied.c, CALLS, concurrency);
    const t = timings(proxied.stderr, mark);
    rows.push({ concurrency, d, p, t });
    console.error(`c=${concurrency}: direct p50 ${ms(pct(d, 50))} ms, proxied p50 ${ms(pct(p, 50))} ms, validate p50 ${ms(pct(t.validate, 50))} ms, own p99 ${ms(pct(t.own, 99))} ms (${t.count} timed calls)`);
  }
  await direct.c.close();
  await proxied.c.close();

  const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT }).toString().trim();
  const table = rows.map(({ concurrency, d, p, t }) =>
    `| ${concurrency} | ${ms(pct(d, 50))} / ${ms(pct(d, 99))} | ${ms(pct(p, 50))} / ${ms(pct(p, 99))} | ${ms(pct(p, 50) - pct(d, 50))} / ${ms(pct(p, 99) - pct(d, 99))} | ${ms(pct(t.validate, 50))} / ${ms(pct(t.validate, 99))} | ${ms(pct(t.own, 50))} / ${ms(pct(t.own, 99))} |`);
  const section = `## Proxy

\`oakauth proxy\` (release build, commit ${commit}) in front of a tiny MCP server over stdio
(tests/proxy/echo-server.mjs), against calling that server directly; the official TypeScript SDK
client, ${CALLS} \`tools/call\` per case after ${WARMUP} to warm up, the real worker in local workerd for
the validate round trip. Milliseconds, p50 / p99. "Validate" and "proxy's own" are timed inside
the proxy (\`--timings\`): the OakAuth round trip, and the rest of the proxy's handling of the call
(taking the reasoning argument out, the mapping, the receipt into \`_meta\`, relaying the call and
its answer) without the upstream's time. The difference between the proxied and the direct column
also holds the extra stdio hop and JSON (de)serialization on both sides of the proxy.

| concurrency | direct | through the proxy | added | validate round trip | proxy's own |
| --- | --- | --- | --- | --- | --- |
${table.join('\n')}

Target: the proxy's own overhead p99 under 1 ms. Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, load
average ${loadavg().map((x) => x.toFixed(2)).join(' ')} at the end (shared with other builds and tests). Command:
\`cargo build --release -p oakauth --bin oakauth && node bench/proxy/run.mjs\`.
`;
  console.log(section);
  const doc = readFileSync(OUT, 'utf8');
  const start = doc.indexOf('## Proxy\n');
  let updated;
  if (start >= 0) {
    const end = doc.indexOf('\n## ', start + 1);
    updated = doc.slice(0, start) + section + (end >= 0 ? doc.slice(end) : '');
  } else {
    const machine = doc.indexOf('## Machine');
    updated = machine >= 0 ? doc.slice(0, machine) + section + '\n' + doc.slice(machine) : doc + '\n' + section;
  }
  writeFileSync(OUT, updated);
} finally {
  await w.stop();
  rmSync(dir, { recursive: true, force: true });
}
