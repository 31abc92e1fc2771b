// A tiny MCP server (the official TypeScript SDK, over stdio) whose one tool answers with exactly
// the arguments and the _meta it received, so a test can see what the proxy passed on.
import { writeFileSync } from 'node:fs';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const server = new Server({ name: 'echo-args', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [{
    name: 'echo_args',
    description: 'Answers with the arguments and _meta it received',
    inputSchema: { type: 'object', properties: { text: { type: 'string' } } },
    annotations: { readOnlyHint: true },
  }, {
    name: 'wait_for_cancel',
    description: 'Waits until the call is cancelled, then writes the file `marker`',
    inputSchema: { type: 'object', properties: { marker: { type: 'string' } }, required: ['marker'] },
  }],
}));
server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
  if (request.params.name === 'wait_for_cancel') {
    await new Promise((resolve) => extra.signal.addEventListener('abort', resolve, { once: true }));
    writeFileSync(request.params.arguments.marker, String(extra.signal.reason ?? 'cancelled'));
    return { content: [{ type: 'text', text: 'cancelled' }] };
  }
  return { content: [{ type: 'text', text: JSON.stringify({ arguments: request.params.arguments ?? {}, meta: request.params._meta ?? {} }) }] };
});
await server.connect(new StdioServerTransport());
