#!/usr/bin/env node
// Runs the local OpenID Connect provider (tests/support/oidc.mjs: panva's oidc-provider with a
// login page that accepts any e-mail address) for the dev command, and prints one JSON line when
// it is ready:
//   {"issuer":"http://127.0.0.1:8790","client_id":"oakauth","client_secret":"oakauth-local-secret"}
// It runs until SIGTERM/SIGINT (or, with --exit-on-stdin-close, until its standard input closes).
// Options:
//   --port N               default: a free port
//   --redirect-uri URL     repeatable; the default client's redirect URIs (at least one)
//   --client-id ID         default oakauth
//   --client-secret S      default oakauth-local-secret; --public for a client without a secret
//   --id-token-ttl SECONDS default 3600
//   --exit-on-stdin-close  for test suites that hold a pipe to it
import { parseArgs } from 'node:util';
import { startOidcProvider } from '../tests/support/oidc.mjs';

let values;
try {
  ({ values } = parseArgs({
    options: {
      port: { type: 'string' },
      'redirect-uri': { type: 'string', multiple: true },
      'client-id': { type: 'string', default: 'oakauth' },
      'client-secret': { type: 'string', default: 'oakauth-local-secret' },
      public: { type: 'boolean', default: false },
      'id-token-ttl': { type: 'string' },
      'exit-on-stdin-close': { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  console.error(`oidc-provider: ${err.message}`);
  process.exit(2);
}
if (!values['redirect-uri']?.length) {
  console.error('oidc-provider: give at least one --redirect-uri, e.g. --redirect-uri http://127.0.0.1:8787/v1/auth/callback');
  process.exit(2);
}
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && !(Number.isInteger(port) && port >= 0 && port < 65536)) {
  console.error(`oidc-provider: bad --port ${values.port}`);
  process.exit(2);
}
const idTokenTTL = values['id-token-ttl'] === undefined ? undefined : Number(values['id-token-ttl']);
if (idTokenTTL !== undefined && !(Number.isInteger(idTokenTTL) && idTokenTTL > 0)) {
  console.error(`oidc-provider: bad --id-token-ttl ${values['id-token-ttl']}`);
  process.exit(2);
}

const op = await startOidcProvider({
  port,
  idTokenTTL,
  clients: [{
    client_id: values['client-id'],
    client_secret: values.public ? undefined : values['client-secret'],
    redirect_uris: values['redirect-uri'],
  }],
});
process.stdout.write(JSON.stringify({
  issuer: op.issuer,
  client_id: op.clientId,
  client_secret: op.clientSecret ?? null,
}) + '\n');

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  await op.close();
  process.exit(0);
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (values['exit-on-stdin-close']) {
  process.stdin.on('end', shutdown);
  process.stdin.on('close', shutdown);
  process.stdin.resume();
}
