// An HTTP client for the end-to-end tests that checks every answer against docs/openapi.yaml:
// the route and status must be documented, the body must match the documented schema, and every
// answer must carry X-Request-Id. A test that talks to the worker through this client therefore
// also proves the OpenAPI document true for what it saw.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';
import { ROOT } from './worker.mjs';

export const spec = YAML.parse(readFileSync(join(ROOT, 'docs', 'openapi.yaml'), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'oakauth', components: spec.components });
const compiled = new Map();

function schemaFor(ref) {
  if (!compiled.has(ref)) compiled.set(ref, ajv.compile({ $ref: `oakauth${ref}` }));
  return compiled.get(ref);
}

/** A response schema written in place (not a shared schema); its `$ref`s point into the components. */
function inlineSchema(schema) {
  const key = JSON.stringify(schema);
  if (!compiled.has(key)) {
    const resolved = JSON.parse(key.replaceAll('"#/components/', '"oakauth#/components/'));
    compiled.set(key, ajv.compile(resolved));
  }
  return compiled.get(key);
}

const templates = Object.keys(spec.paths).map((tpl) => ({
  tpl,
  re: new RegExp('^' + tpl.replace(/\{[^}]+\}/g, '[^/]+') + '$'),
}));

/** Every response seen, as "METHOD template status", for the coverage test. */
export const seen = new Set();

export function checkAgainstSpec(method, url, status, headers, text) {
  const path = new URL(url).pathname;
  const match = templates.find((t) => t.re.test(path));
  if (!match) {
    // Undocumented paths must be a plain 404.
    if (status !== 404) throw new Error(`${method} ${path} is not in openapi.yaml but answered ${status}`);
    return;
  }
  const item = spec.paths[match.tpl];
  const op = item[method.toLowerCase()];
  if (!op) {
    if (status !== 405 && !(method === 'OPTIONS' && status === 204)) {
      throw new Error(`${method} ${match.tpl} is not in openapi.yaml but answered ${status}`);
    }
    return;
  }
  seen.add(`${method} ${match.tpl} ${status}`);
  let response = op.responses[String(status)];
  if (!response) throw new Error(`${method} ${match.tpl} answered ${status}, which openapi.yaml does not document`);
  if (response.$ref) response = spec.components.responses[response.$ref.split('/').pop()];
  if (!headers.get('x-request-id')) throw new Error(`${method} ${match.tpl} ${status} has no X-Request-Id`);
  const content = response.content?.['application/json'];
  if (!content) {
    if (text !== '') throw new Error(`${method} ${match.tpl} ${status} should have no body, got ${text}`);
    return;
  }
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${match.tpl} ${status} body is not JSON: ${text.slice(0, 200)}`);
  }
  const validate = content.schema.$ref ? schemaFor(content.schema.$ref) : inlineSchema(content.schema);
  if (!validate(body)) {
    const name = content.schema.$ref ?? `the inline schema of ${method} ${match.tpl} ${status}`;
    throw new Error(`${method} ${match.tpl} ${status} body breaks ${name}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`);
  }
}

/**
 * Returns `call(method, path, body?, options?)` → { status, headers, body, text }.
 * `body` objects are sent as JSON; `options.raw` sends a string as is; `options.headers` adds
 * headers; `options.key` overrides the bearer key (null for none).
 */
export function client(baseUrl, key) {
  return async function call(method, path, body, options = {}) {
    const headers = { ...(options.headers ?? {}) };
    const k = options.key === undefined ? key : options.key;
    if (k) headers.Authorization = `Bearer ${k}`;
    let payload;
    if (options.raw !== undefined) payload = options.raw;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['Content-Type'] ??= 'application/json';
    }
    const res = await fetch(baseUrl + path, { method, headers, body: payload });
    const text = await res.text();
    checkAgainstSpec(method, res.url || baseUrl + path, res.status, res.headers, text);
    let parsed;
    try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };
}

/** Creates an agent with one tool and rules; returns { agent, key, tool }. */
export async function makeAgent(admin, { name, rateLimit, tool = 'filesystem', scopes = ['read', 'write', 'delete'], rules = {} } = {}) {
  const created = await admin('POST', '/v1/admin/agents', {
    name: name ?? `agent-${Math.random().toString(36).slice(2, 10)}`,
    ...(rateLimit ? { rate_limit: rateLimit } : {}),
  });
  if (created.status !== 201) throw new Error(`create agent: ${created.status} ${created.text}`);
  const agentId = created.body.agent.id;
  const t = await admin('POST', `/v1/admin/agents/${agentId}/tools`, { name: tool, scopes, risk_level: 'write' });
  if (t.status !== 201) throw new Error(`create tool: ${t.status} ${t.text}`);
  for (const [scope, policy] of Object.entries(rules)) {
    const r = await admin('POST', `/v1/admin/agents/${agentId}/rules`, { tool, scope, require_reasoning: policy });
    if (r.status !== 201) throw new Error(`create rule: ${r.status} ${r.text}`);
  }
  return { agent: created.body.agent, key: created.body.api_key, tool: t.body };
}

/**
 * Waits until the organization's audit rows in D1 stop changing (the rows of earlier decisions
 * reach D1 in the background, normally within a second: docs/api.md), so organization-wide counts
 * taken next are not moved by them. Returns the stats read last.
 */
export async function settled(admin, { quietMs = 600, timeoutMs = 15_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last = (await admin('GET', '/v1/admin/stats')).body;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, quietMs));
    const now = (await admin('GET', '/v1/admin/stats')).body;
    if (now.total === last.total) return now;
    last = now;
  }
  throw new Error('the audit log did not settle');
}

/** Makes the agent's decisions visible in D1 now: an agent's log page writes what its object holds. */
export async function flushed(admin, agentId) {
  const r = await admin('GET', `/v1/admin/logs?agent_id=${agentId}&limit=1`);
  if (r.status !== 200) throw new Error(`flushing ${agentId}: ${r.status}`);
}
