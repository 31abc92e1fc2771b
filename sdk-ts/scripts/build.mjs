// Builds dist/esm (ES modules) and dist/cjs (CommonJS), each with its .d.ts files, from src/, and
// checks that every file package.json exports (`oakauth`, `oakauth/mcp`, `oakauth/webhooks`, `oakauth/receipts`, in
// both module systems, and their typesVersions) was built.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const dist = join(root, 'dist');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--module', 'CommonJS', '--moduleResolution', 'Node10', '--outDir', 'dist/cjs'], { cwd: root, stdio: 'inherit' });
// Tell Node that the files under dist/cjs are CommonJS although the package is "type": "module".
writeFileSync(join(dist, 'cjs', 'package.json'), JSON.stringify({ type: 'commonjs' }) + '\n');

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const targets = (value) => (typeof value === 'string' ? [value] : Object.values(value).flatMap(targets));
const exported = [...targets(pkg.exports), ...Object.values(pkg.typesVersions['*']).flat(), pkg.main, pkg.module, pkg.types];
const missing = exported.filter((file) => !existsSync(join(root, file)));
if (missing.length > 0) {
  console.error(`package.json exports files the build did not make: ${missing.join(', ')}`);
  process.exit(1);
}
console.log('built dist/esm and dist/cjs');
