// An agent that asks OakAuth before it touches files. Run it against the demo agent that
// scripts/dev.sh creates (tool `filesystem`; read: none, write: soft, delete: hard):
//
//   cd sdk-ts && npm ci && npm run build
//   export OAKAUTH_BASE_URL=http://127.0.0.1:8787 OAKAUTH_ALLOW_INSECURE_LOOPBACK=1
//   OAKAUTH_API_KEY="$(cat ../.oakauth/agent-key)" node examples/agent.mjs
//
// There is no default base URL. Plain http is only accepted to a loopback address, and only with
// OAKAUTH_ALLOW_INSECURE_LOOPBACK=1; a deployed OakAuth is https://….
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OakAuth, OakAuthDeniedError, OakAuthRateLimitError } from 'oakauth';

const oak = new OakAuth(); // the key from OAKAUTH_API_KEY, the URL from OAKAUTH_BASE_URL
const dir = await mkdtemp(join(tmpdir(), 'oakauth-example-'));

async function attempt(label, request, action) {
  try {
    const result = await oak.guard(request, action);
    console.log(`${label}: allowed${result === undefined ? '' : ` ${JSON.stringify(result)}`}`);
  } catch (err) {
    if (err instanceof OakAuthDeniedError) console.log(`${label}: denied (${err.reason}), decision ${err.decisionId}`);
    else if (err instanceof OakAuthRateLimitError) console.log(`${label}: rate limited, retry in ${err.retryAfter} s`);
    else throw err; // no answer from OakAuth: the action did not run either
  }
}

// read needs no reasoning; a soft rule (write) allows without it but the log flags it.
await attempt('write a note', { tool: 'filesystem', scope: 'write' }, () => writeFile(join(dir, 'note.txt'), 'hello'));
await attempt('list the folder', { tool: 'filesystem', scope: 'read', reasoning: 'show the user what is in the folder' }, () => readdir(dir));
// delete is a hard rule: without real reasoning the action does not run.
await attempt('delete without reasoning', { tool: 'filesystem', scope: 'delete' }, () => rm(dir, { recursive: true }));
await attempt(
  'delete with reasoning',
  { tool: 'filesystem', scope: 'delete', reasoning: 'the example is done; remove its temporary folder', context: { path: dir } },
  () => rm(dir, { recursive: true }),
);
