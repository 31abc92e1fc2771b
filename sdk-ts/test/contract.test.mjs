// The SDK's types come from docs/openapi.yaml: src/generated/openapi.ts must be what
// openapi-typescript makes of the spec today. A spec change without `npm run generate` fails here.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GENERATED, generate } from '../scripts/generate.mjs';

describe('types generated from docs/openapi.yaml', () => {
  let work;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'oakauth-contract-'));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('the committed src/generated/openapi.ts is what the spec generates today', async () => {
    const fresh = join(work, 'openapi.ts');
    generate(fresh);
    const [committed, regenerated] = await Promise.all([readFile(GENERATED, 'utf8'), readFile(fresh, 'utf8')]);
    assert.ok(
      committed === regenerated,
      'src/generated/openapi.ts is stale: docs/openapi.yaml changed. Run `npm run generate` in sdk-ts and commit the result.',
    );
  });
});
