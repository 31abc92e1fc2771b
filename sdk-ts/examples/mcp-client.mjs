// Starts examples/mcp-server.mjs over stdio and plays the model: lists the tools, writes a file,
// tries to delete it without reasoning (refused), then with reasoning (allowed).
//
//   export OAKAUTH_BASE_URL=http://127.0.0.1:8787 OAKAUTH_ALLOW_INSECURE_LOOPBACK=1
//   OAKAUTH_API_KEY="$(cat ../.oakauth/agent-key)" node examples/mcp-client.mjs
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const scratch = await mkdtemp(join(tmpdir(), 'oakauth-mcp-'));
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [join(dirname(fileURLToPath(import.meta.url)), 'mcp-server.mjs')],
  env: { ...process.env, FILES_ROOT: scratch },
  stderr: 'inherit',
});
const client = new Client({ name: 'example-client', version: '1.0.0' });
await client.connect(transport);

const show = (label, result) => console.log(`${label}:${result.isError ? ' [isError]' : ''} ${result.content.map((c) => c.text).join(' ')}`);
try {
  const { tools } = await client.listTools();
  console.log('tools:', tools.map((t) => t.name).join(', '));
  show('write_file', await client.callTool({ name: 'write_file', arguments: { name: 'todo.txt', content: 'buy milk' } }));
  show('read_file', await client.callTool({ name: 'read_file', arguments: { name: 'todo.txt', _reasoning: 'the user asked what is on the list' } }));
  show('delete_file', await client.callTool({ name: 'delete_file', arguments: { name: 'todo.txt' } }));
  show(
    'delete_file',
    await client.callTool({ name: 'delete_file', arguments: { name: 'todo.txt', _reasoning: 'the user said the list is done' } }),
  );
} finally {
  await client.close();
  await rm(scratch, { recursive: true, force: true });
}
