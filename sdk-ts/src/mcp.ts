// oakauth/mcp: puts OakAuth in front of every tool of a `@modelcontextprotocol/sdk` McpServer.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { OakAuth, isAllowed, type OakAuthOptions } from './client.js';
import { OakAuthRateLimitError } from './errors.js';
import type { ValidateResponse } from './types.js';

/** The OakAuth tool and scope that calls of an MCP tool are checked as. Missing parts take the defaults. */
export interface ToolTarget {
  /** Default: the MCP tool's name. */
  tool?: string;
  /** Default: the `defaultScope` option. */
  scope?: string;
}

export interface WithOakAuthOptions extends OakAuthOptions {
  /** An existing client to validate with; when set, `apiKey`, `baseUrl`, `allowInsecureLoopback`, `timeout`, `retries` and `fetch` are ignored. */
  client?: OakAuth;
  /**
   * Maps an MCP tool name to the OakAuth tool and scope it is checked as, as an object keyed by MCP
   * tool name or a function. Unmapped tools are checked as their own name with `defaultScope`.
   */
  toolMapping?: Record<string, ToolTarget> | ((mcpTool: string) => ToolTarget | undefined);
  /** The scope of unmapped tools. Default `"call"`. */
  defaultScope?: string;
  /** The argument that carries the model's reasoning. Default `"_reasoning"`. */
  reasoningArgument?: string;
  /**
   * Leave out of `tools/list` the tools the agent may not use at all (unknown tool, scope not
   * granted, agent disabled, or OakAuth unreachable). Each listing then validates every tool once,
   * without reasoning: each check is logged (context `{"mcp": "tools/list"}`) and takes a token
   * from the agent's rate limit. Default false.
   */
  hideDeniedTools?: boolean;
}

/** What the wrapper's tools/call answers when a call is refused. */
export interface RefusalResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  isError: true;
}

type Handler = (request: unknown, extra: unknown) => Promise<unknown>;

const WRAPPED = Symbol.for('oakauth.mcp.wrapped');
const REASONING_DESCRIPTION =
  'Why you need to make this call. Recorded in the audit log; some calls are refused without it.';

/**
 * Validates every tool call of `server` with OakAuth before the tool runs; tools registered before
 * and after this call are covered alike. Call it before `server.connect()`.
 *
 * - A call of MCP tool `name` is checked as OakAuth tool `name` with scope `defaultScope`
 *   (`"call"`), unless `toolMapping` says otherwise.
 * - Each tool advertises an optional string argument `_reasoning` (see `reasoningArgument`); the
 *   wrapper sends it to OakAuth as the reasoning and removes it before the tool sees its arguments.
 * - A deny, a rate limit or any failure to get an allow answers the call with `isError: true` and
 *   a sentence that tells the model why; the tool does not run.
 *
 * Returns `server`.
 */
export function withOakAuth<S extends McpServer>(server: S, options: WithOakAuthOptions = {}): S {
  const client = options.client ?? new OakAuth(options);
  const defaultScope = options.defaultScope ?? 'call';
  const reasoningArgument = options.reasoningArgument ?? '_reasoning';
  const mapping = options.toolMapping;
  if (typeof defaultScope !== 'string' || defaultScope === '') throw new TypeError('withOakAuth: defaultScope must be a non-empty string');
  if (typeof reasoningArgument !== 'string' || reasoningArgument === '') {
    throw new TypeError('withOakAuth: reasoningArgument must be a non-empty string');
  }

  const marked = server as unknown as Record<symbol, boolean>;
  if (marked[WRAPPED]) throw new Error('withOakAuth: this server is wrapped already');
  const handlers = toolHandlers(server);
  const listTools = handlers.get('tools/list');
  const callTool = handlers.get('tools/call');
  if (!listTools || !callTool) throw new Error('withOakAuth: the server has no tools/list and tools/call handlers to wrap');

  const target = (mcpTool: string): { tool: string; scope: string } => {
    const found = typeof mapping === 'function' ? mapping(mcpTool) : mapping && Object.hasOwn(mapping, mcpTool) ? mapping[mcpTool] : undefined;
    return { tool: found?.tool ?? mcpTool, scope: found?.scope ?? defaultScope };
  };

  handlers.set('tools/call', async (request, extra) => {
    const params = (request as { params?: Record<string, unknown> } | undefined)?.params;
    const name = params?.name;
    if (!isObject(params) || typeof name !== 'string') return refusal('Invalid tools/call request: no tool name. The tool did not run.');
    const { tool, scope } = target(name);

    let args = params.arguments;
    let reasoning: string | undefined;
    if (isObject(args) && Object.hasOwn(args, reasoningArgument)) {
      const { [reasoningArgument]: given, ...rest } = args;
      args = rest;
      if (typeof given === 'string') reasoning = given;
      else if (given !== undefined && given !== null) {
        return refusal(`The \`${reasoningArgument}\` argument must be a string that says why you need this call; the tool did not run.`);
      }
    }

    let decision: ValidateResponse;
    try {
      decision = await client.validate({ tool, scope, reasoning, context: { mcp_tool: name } });
    } catch (err) {
      return refusal(explainError(err, tool, scope));
    }
    if (!isAllowed(decision)) return refusal(explainDeny(decision, tool, scope, reasoningArgument));
    return callTool({ ...(request as object), params: { ...params, arguments: args } }, extra);
  });

  handlers.set('tools/list', async (request, extra) => {
    const result = (await listTools(request, extra)) as { tools?: unknown };
    if (!isObject(result) || !Array.isArray(result.tools)) return result;
    let tools = (result.tools as Record<string, unknown>[]).map((t) => advertise(t, reasoningArgument));
    if (options.hideDeniedTools) {
      const keep = await Promise.all(tools.map((t) => mayUse(client, typeof t.name === 'string' ? t.name : '', target)));
      tools = tools.filter((_, i) => keep[i]);
    }
    return { ...result, tools };
  });

  marked[WRAPPED] = true;
  return server;
}

/** The request-handler table of the server, after making sure McpServer has installed its tool handlers. */
function toolHandlers(server: McpServer): Map<string, Handler> {
  // McpServer installs its tools/list and tools/call handlers lazily, on the first registration.
  // Installing them now lets the wrapper sit in front of them whatever is registered later.
  const lazy = server as unknown as { setToolRequestHandlers?: () => void };
  const protocol = (server as unknown as { server?: { _requestHandlers?: unknown } }).server;
  const handlers = protocol?._requestHandlers;
  if (typeof lazy.setToolRequestHandlers !== 'function' || !(handlers instanceof Map)) {
    throw new Error('withOakAuth: expected an McpServer from @modelcontextprotocol/sdk 1.x');
  }
  try {
    lazy.setToolRequestHandlers.call(server);
  } catch (err) {
    throw new Error('withOakAuth: wrap the server before server.connect()', { cause: err });
  }
  return handlers as Map<string, Handler>;
}

/** Adds the optional reasoning argument to a tool's advertised input schema. */
function advertise(tool: Record<string, unknown>, reasoningArgument: string): Record<string, unknown> {
  const schema = isObject(tool.inputSchema) ? tool.inputSchema : { type: 'object' };
  const properties = isObject(schema.properties) ? schema.properties : {};
  if (Object.hasOwn(properties, reasoningArgument)) return tool;
  return {
    ...tool,
    inputSchema: { ...schema, properties: { ...properties, [reasoningArgument]: { type: 'string', description: REASONING_DESCRIPTION } } },
  };
}

/** Whether the agent may use this tool at all: an allow now, or a deny that reasoning or waiting would lift. */
async function mayUse(client: OakAuth, mcpTool: string, target: (name: string) => { tool: string; scope: string }): Promise<boolean> {
  if (mcpTool === '') return false;
  const { tool, scope } = target(mcpTool);
  try {
    const decision = await client.validate({ tool, scope, context: { mcp: 'tools/list' } });
    return isAllowed(decision) || decision.reason === 'reasoning_required';
  } catch (err) {
    return isRateLimit(err);
  }
}

function refusal(text: string): RefusalResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** A sentence for the model: what was refused, why, and what it can do about it. */
function explainDeny(decision: ValidateResponse, tool: string, scope: string, reasoningArgument: string): string {
  if (decision.reason === 'reasoning_required') {
    return `OakAuth denied ${tool}:${scope}: reasoning required. Call the tool again with a \`${reasoningArgument}\` argument that says why you need it. (${decision.message})`;
  }
  return `OakAuth denied ${tool}:${scope} (${decision.reason}): ${decision.message} The tool did not run.`;
}

function explainError(err: unknown, tool: string, scope: string): string {
  if (isRateLimit(err)) {
    return `OakAuth rate limit reached for ${tool}:${scope}; retry in ${Math.max(1, err.retryAfter)} seconds. The tool did not run.`;
  }
  const detail = err instanceof Error && err.name.startsWith('OakAuth') ? err.message : 'unexpected error';
  return `OakAuth could not check ${tool}:${scope} (${detail}), so the tool did not run.`;
}

// By name as well as by class: a client from the ESM build may meet this module's CommonJS build.
function isRateLimit(err: unknown): err is OakAuthRateLimitError {
  return err instanceof OakAuthRateLimitError || (err instanceof Error && err.name === 'OakAuthRateLimitError');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
