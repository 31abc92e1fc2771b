// Writes src/generated/openapi.ts from ../docs/openapi.yaml with openapi-typescript (the version
// pinned in package.json). The one place that knows the generator's options: `npm run generate`
// and test/contract.test.mjs both call it. Usage: node scripts/generate.mjs [output path]
import { execFileSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SPEC = join(root, '..', 'docs', 'openapi.yaml');
export const GENERATED = join(root, 'src', 'generated', 'openapi.ts');
const cli = join(root, 'node_modules', 'openapi-typescript', 'bin', 'cli.js');

export function generate(output = GENERATED) {
  execFileSync(
    process.execPath,
    [
      cli,
      SPEC,
      '--output',
      output,
      // `context` and `detail` are free-form objects: `Record<string, unknown>`, not `Record<string, never>`.
      '--empty-objects-unknown',
      // A property with a default (CreateAgent.enabled, RotateKey.overlap_seconds) stays optional in requests.
      '--default-non-nullable=false',
    ],
    { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  generate(process.argv[2] ? resolve(process.argv[2]) : GENERATED);
}
