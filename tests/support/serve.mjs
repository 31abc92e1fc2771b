#!/usr/bin/env node
// Starts a seeded test worker (see worker.mjs) and prints one JSON line:
//   {"base_url": "...", "admin_key": "oakadm_…", "other_admin_key": "oakadm_…", "persist_dir": "..."}
// It runs until SIGTERM/SIGINT or until its standard input closes, then stops the worker and
// deletes its state. For test suites written in other languages (the Rust SDK, the dashboard).
// Options: --port N
import { startWorker } from './worker.mjs';

const portArg = process.argv.indexOf('--port');
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : undefined;

const worker = await startWorker({ port });
process.stdout.write(JSON.stringify({
  base_url: worker.baseUrl,
  admin_key: worker.adminKey,
  other_admin_key: worker.otherAdminKey,
  organization_id: worker.orgId,
  other_organization_id: worker.otherOrgId,
  persist_dir: worker.persistDir,
}) + '\n');

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await worker.stop();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
