// An MCP server (stdio) whose every tool call is checked with OakAuth first. Its tools map onto the
// demo agent of scripts/dev.sh: read_file → filesystem:read, write_file → filesystem:write,
// delete_file → filesystem:delete (hard reasoning). Start it from an MCP client, for example:
//
//   export OAKAUTH_BASE_URL=http://127.0.0.1:8787 OAKAUTH_ALLOW_INSECURE_LOOPBACK=1
//   OAKAUTH_API_KEY="$(cat ../.oakauth/agent-key)" node examples/mcp-client.mjs
//
// or register `node /path/to/sdk-ts/examples/mcp-server.mjs` (with OAKAUTH_API_KEY and
// OAKAUTH_BASE_URL in its env) in any MCP host. Files live in a scratch folder (FILES_ROOT, default the system temp folder).
import { readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { withOakAuth } from 'oakauth/mcp';

const root = process.env.FILES_ROOT ?? tmpdir();
const inRoot = (name) => join(root, basename(name)); // no way out of the scratch folder
const text = (value) => ({ content: [{ type: 'text', text: value }] });

const server = new McpServer({ name: 'scratch-files', version: '1.0.0' });

withOakAuth(server, {
  // apiKey, baseUrl and allowInsecureLoopback come from OAKAUTH_API_KEY, OAKAUTH_BASE_URL and
  // OAKAUTH_ALLOW_INSECURE_LOOPBACK.
  toolMapping: {
    read_file: { tool: 'filesystem', scope: 'read' },
    write_file: { tool: 'filesystem', scope: 'write' },
    delete_file: { tool: 'filesystem', scope: 'delete' },
  },
  hideDeniedTools: true,
});

// Tools registered after wrapping are guarded just the same.
server.registerTool(
  'read_file',
  { description: 'Read a file of the scratch folder', inputSchema: { name: z.string() } },
  async ({ name }) => text(await readFile(inRoot(name), 'utf8')),
);
server.registerTool(
  'write_file',
  { description: 'Write a file in the scratch folder', inputSchema: { name: z.string(), content: z.string() } },
  async ({ name, content }) => {
    await writeFile(inRoot(name), content);
    return text(`wrote ${name}`);
  },
);
server.registerTool(
  'delete_file',
  { description: 'Delete a file of the scratch folder', inputSchema: { name: z.string() } },
  async ({ name }) => {
    await rm(inRoot(name));
    return text(`deleted ${name}`);
  },
);

await server.connect(new StdioServerTransport());
