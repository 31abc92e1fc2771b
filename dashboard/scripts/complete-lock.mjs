#!/usr/bin/env node
// Records rollup's platform packages that the project's npm mirror does not carry (it has only the
// linux-gnu builds), the way npm records them with a complete registry, so that `npm ci` accepts the
// lock file. Without them `npm ci` fails with "Missing: @rollup/rollup-… from lock file".
// Run after any `npm install` that changes vite or rollup: node scripts/complete-lock.mjs package-lock.json
import { readFileSync, writeFileSync } from 'node:fs';
const lockPath = process.argv[2];
const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
const rollup = lock.packages['node_modules/rollup'];
const platform = (name) => {
  const m = name.replace('@rollup/rollup-', '');
  const [os, cpuRaw, abi] = m.split('-');
  const cpu = cpuRaw === 'arm' ? 'arm' : cpuRaw;
  const entry = { os: [os], cpu: [cpu] };
  if (os === 'linux' && abi) entry.libc = [abi.startsWith('musl') ? 'musl' : 'glibc'];
  return entry;
};
let added = 0;
for (const [name, version] of Object.entries(rollup.optionalDependencies)) {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) continue;
  if (name === 'fsevents') {
    lock.packages[key] = { version, dev: true, hasInstallScript: true, license: 'MIT', optional: true, os: ['darwin'], engines: { node: '^8.16.0 || ^10.6.0 || >=11.0.0' } };
  } else {
    const p = platform(name);
    lock.packages[key] = { version, cpu: p.cpu, dev: true, ...(p.libc ? { libc: p.libc } : {}), license: 'MIT', optional: true, os: p.os };
  }
  added++;
}
const sorted = Object.fromEntries(Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
console.log(`added ${added} entries`);
