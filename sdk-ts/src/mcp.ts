// oakauth/mcp: puts OakAuth in front of every tool of a `@modelcontextprotocol/sdk` McpServer.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { OakAuth, isAllowed, type OakAuthOptions } from './client.js';
import { OakAuthRateLimitError, withExplanation } from './errors.js';
import { RECEIPT_META_KEY, ReceiptInvalidError, ReceiptVerifier } from './receipts.js';
import type { ValidateRequest, ValidateResponse } from './types.js';

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
   * Receipt-only mode: run a tool call only when its request carries a signed OakAuth decision
   * receipt (`params._meta["oakauth/receipt"]`) for the call's OakAuth tool and scope (after
   * `toolMapping`) and for exactly the arguments the tool will get (less the reasoning argument),
   * not used before. The server then validates nothing itself and needs no agent key: the caller
   * (`oakauth proxy`, or an agent that called validate) asked OakAuth, and the receipt proves the
   * answer was an allow. `true` makes a {@link ReceiptVerifier} with `baseUrl` (or
   * `OAKAUTH_BASE_URL`) as the issuer, `allowInsecureLoopback`, and `timeout` for fetching the
   * public keys; pass a verifier for other options (offline keys, a shared replay cache). Not with
   * `apiKey`, `client` or `hideDeniedTools`. Default false.
   */
  requireReceipt?: boolean | Pick<ReceiptVerifier, 'verify'>;
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
   * granted, an unconditional deny rule, agent disabled, or OakAuth unreachable). A tool whose
   * rules test the call's arguments stays listed: a listing validates each tool without reasoning
   * and without arguments: each check is logged (context `{"mcp": "tools/list"}`) and takes a token from the
   * agent's rate limit, and its answer is kept for `listCacheTtl`. A call of a hidden tool answers
   * exactly like a call of a tool the server does not have (`Tool <name> not found`), so calls
   * cannot tell hidden tools from missing ones. Default false.
   */
  hideDeniedTools?: boolean;
  /**
   * With `hideDeniedTools`: milliseconds for which a tool's listing decision is reused, so that
   * listing again within that time validates nothing again. 0 asks OakAuth on every listing.
   * Tool calls are never cached: every call is validated. Default 5000.
   */
  listCacheTtl?: number;
}

/** What the wrapper's tools/call answers when a call is refused. */
export interface RefusalResult {
  [key: string]: unknown;
  content: { type: 'text'; text: string }[];
  isError: true;
}

type Handler = (request: unknown, extra: unknown) => Promise<unknown>;

const WRAPPED = Symbol.for('oakauth.mcp.wrapped');
/** Milliseconds a listing decision is reused by default. */
export const DEFAULT_LIST_CACHE_TTL = 5_000;
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
 * - The call's other arguments are sent to OakAuth as the call's `arguments`, for rules whose
 *   conditions test them (and the tool's `input_schema`, when it has one registered in OakAuth).
 * - A deny, a rate limit or any failure to get an allow answers the call with `isError: true` and
 *   a sentence that tells the model why; the tool does not run.
 * - A call that needs a person's approval answers "approval requested (id apr_…); an administrator
 *   must approve; call this tool again with the same arguments once approved". The model's retry
 *   with the same arguments is then allowed, once: the wrapper sends the arguments exactly as the
 *   model gave them (less the reasoning argument, which an approval is not bound to).
 *
 * With `requireReceipt`, calls are not validated but must carry a valid receipt instead; a call
 * without one, or with one that does not verify, answers `isError: true` with why, and the tool does
 * not run. The tools are listed as they are.
 *
 * Returns `server`.
 */
export function withOakAuth<S extends McpServer>(server: S, options: WithOakAuthOptions = {}): S {
  const receipts = receiptVerifier(options);
  const client = receipts ? undefined : (options.client ?? new OakAuth(options));
  const defaultScope = options.defaultScope ?? 'call';
  const reasoningArgument = options.reasoningArgument ?? '_reasoning';
  const mapping = options.toolMapping;
  const hide = options.hideDeniedTools === true;
  const listCacheTtl = options.listCacheTtl ?? DEFAULT_LIST_CACHE_TTL;
  if (!Number.isFinite(listCacheTtl) || listCacheTtl < 0) throw new TypeError('withOakAuth: listCacheTtl must be a number of milliseconds, 0 or more');
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
  const registered = (name: string): boolean => {
    const tool = (server as unknown as { _registeredTools?: Record<string, { enabled?: boolean }> })._registeredTools?.[name];
    return tool !== undefined && tool.enabled !== false;
  };

  // Listing decisions per OakAuth tool and scope; a pending check is shared by concurrent listings.
  const listed = new Map<string, { expires: number; keep: Promise<boolean> }>();
  const mayList = (mcpTool: string): Promise<boolean> => {
    if (mcpTool === '' || !client) return Promise.resolve(false);
    const { tool, scope } = target(mcpTool);
    const key = JSON.stringify([tool, scope]);
    const now = Date.now();
    const cached = listed.get(key);
    if (cached && cached.expires > now) return cached.keep;
    const keep = mayUse(client, tool, scope);
    if (listCacheTtl > 0) listed.set(key, { expires: now + listCacheTtl, keep });
    return keep;
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

    if (receipts) {
      const refused = await checkReceipt(receipts, params, tool, scope, args);
      if (refused) return refused;
      return callTool({ ...(request as object), params: { ...params, arguments: args } }, extra);
    }
    if (!client) return refusal('OakAuth: no client to check this call with; the tool did not run.');

    let decision: ValidateResponse;
    try {
      const request: ValidateRequest = { tool, scope, reasoning, context: { mcp_tool: name } };
      if (isObject(args)) request.arguments = args;
      decision = await client.validate(request);
    } catch (err) {
      // With hideDeniedTools, what a listing would hide answers as a tool the server does not have,
      // and a rate limit does not name the OakAuth tool (its mapping would tell that the tool exists).
      if (hide) return isRateLimit(err) ? refusal(explainError(err, name)) : notFound(name);
      return refusal(explainError(err, `${tool}:${scope}`));
    }
    if (hide && (!keepListed(decision) || (isAllowed(decision) && !registered(name)))) return notFound(name);
    if (!isAllowed(decision)) return refusal(explainDeny(decision, tool, scope, reasoningArgument));
    return callTool({ ...(request as object), params: { ...params, arguments: args } }, extra);
  });

  handlers.set('tools/list', async (request, extra) => {
    const result = (await listTools(request, extra)) as { tools?: unknown };
    // The reasoning goes to OakAuth with the validation that got the receipt, not to this server.
    if (receipts) return result;
    if (!isObject(result) || !Array.isArray(result.tools)) return result;
    let tools = (result.tools as Record<string, unknown>[]).map((t) => advertise(t, reasoningArgument));
    if (hide) {
      const keep = await Promise.all(tools.map((t) => mayList(typeof t.name === 'string' ? t.name : '')));
      tools = tools.filter((_, i) => keep[i]);
    }
    return { ...result, tools };
  });

  marked[WRAPPED] = true;
  return server;
}

/** The verifier of receipt-only mode, or undefined when the wrapper validates calls itself. */
function receiptVerifier(options: WithOakAuthOptions): Pick<ReceiptVerifier, 'verify'> | undefined {
  const wanted = options.requireReceipt ?? false;
  if (wanted === false) return undefined;
  if (options.client !== undefined || options.apiKey !== undefined) {
    throw new TypeError('withOakAuth: requireReceipt checks the receipt of a decision the caller got; the server validates nothing itself, so it takes no apiKey or client');
  }
  if (options.hideDeniedTools) {
    throw new TypeError('withOakAuth: hideDeniedTools needs an agent key to check the tools with; with requireReceipt, let the caller (oakauth proxy) hide them');
  }
  // A verifier by shape, not by class: it may come from the other (ESM or CommonJS) build.
  if (typeof wanted === 'object' && wanted !== null && typeof wanted.verify === 'function') return wanted;
  if (wanted !== true) throw new TypeError('withOakAuth: requireReceipt must be true, false or a ReceiptVerifier');
  return new ReceiptVerifier({ issuer: options.baseUrl, allowInsecureLoopback: options.allowInsecureLoopback, timeout: options.timeout });
}

/** Undefined when the call's receipt verifies for this tool, scope and these arguments; else the refusal. */
async function checkReceipt(verifier: Pick<ReceiptVerifier, 'verify'>, params: Record<string, unknown>, tool: string, scope: string, args: unknown): Promise<RefusalResult | undefined> {
  const meta = params._meta;
  const receipt = isObject(meta) ? meta[RECEIPT_META_KEY] : undefined;
  if (receipt === undefined || receipt === null) {
    return refusal(
      `OakAuth: this server runs only calls that carry a signed OakAuth decision receipt (_meta["${RECEIPT_META_KEY}"]), and this call to ${tool}:${scope} has none. ` +
        'Call it through OakAuth (oakauth proxy, or validate first and send the receipt). The tool did not run.',
    );
  }
  if (args !== undefined && args !== null && !isObject(args)) return refusal('Invalid tools/call request: the arguments must be an object. The tool did not run.');
  try {
    await verifier.verify(receipt as string, { tool, scope, arguments: args as Record<string, unknown> | undefined });
    return undefined;
  } catch (err) {
    const invalid = err as Partial<ReceiptInvalidError> | null;
    if (err instanceof Error && err.name === 'ReceiptInvalidError' && typeof invalid?.reason === 'string') {
      return refusal(`OakAuth refused the decision receipt of this call to ${tool}:${scope} (${invalid.reason}): ${invalid.detail}. The tool did not run.`);
    }
    const detail = err instanceof Error && err.name.startsWith('OakAuth') ? err.message : 'unexpected error';
    return refusal(`OakAuth could not check the decision receipt of this call to ${tool}:${scope} (${detail}), so the tool did not run.`);
  }
}

/** The request-handler table of the server, after making sure McpServer has installed its tool handlers. */
function toolHandlers(server: McpServer): Map<string, Handler> {
  // McpServer installs its tools/list and tools/call handlers lazily, on the first registration.
  // Installing them now lets the wrapper sit in front of them whatever is registered later.
  const lazy = server as unknown as { setToolRequestHandlers?: () => void };
  const protocol = (server as unknown as { server?: { _requestHandlers?: unknown } }).server;
  const handlers = protocol?._requestHandlers;
  const tools = (server as unknown as { _registeredTools?: unknown })._registeredTools;
  if (typeof lazy.setToolRequestHandlers !== 'function' || !(handlers instanceof Map) || typeof tools !== 'object' || tools === null) {
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
async function mayUse(client: OakAuth, tool: string, scope: string): Promise<boolean> {
  try {
    // request_approval: false — a listing must not put an approval in front of an administrator.
    return keepListed(await client.validate({ tool, scope, context: { mcp: 'tools/list' }, request_approval: false }));
  } catch (err) {
    return isRateLimit(err);
  }
}

/**
 * Whether a decision leaves the tool in a listing: an allow, or a deny that reasoning, the call's
 * arguments or a person could lift (a rule's conditions, the tool's input schema or an approval
 * decided, not an unconditional deny rule).
 */
function keepListed(decision: ValidateResponse): boolean {
  switch (decision.reason) {
    case 'reasoning_required':
    case 'conditions_not_met':
    case 'invalid_arguments':
    case 'approval_required':
    case 'approval_denied':
    case 'approval_expired':
    case 'approval_cancelled':
    case 'approval_consumed':
    case 'approval_mismatch':
    // The organization's monthly quota: the tool comes back when it resets or the plan is upgraded.
    case 'quota_exceeded':
      return true;
    case 'denied_by_rule':
      return decision.explanation?.condition != null;
    default:
      return isAllowed(decision);
  }
}

function refusal(text: string): RefusalResult {
  return { content: [{ type: 'text', text }], isError: true };
}

/** The one answer, with hideDeniedTools, for a tool that is hidden or that the server does not have. */
function notFound(name: string): RefusalResult {
  return refusal(`Tool ${name} not found`);
}

/** A sentence for the model: what was refused, why, and what it can do about it. */
function explainDeny(decision: ValidateResponse, tool: string, scope: string, reasoningArgument: string): string {
  const approval = decision.approval;
  const id = approval ? ` (id ${approval.id})` : '';
  switch (decision.reason) {
    // Says nothing of the OakAuth tool: the same sentence for every tool, hidden or not.
    case 'quota_exceeded':
      return decision.quota
        ? `OakAuth: this organization has used its ${decision.quota.limit} validations for the month; every call is denied until ${decision.quota.resets_at}. The tool did not run; do not retry before then.`
        : `OakAuth: this organization has used its validations for the month. The tool did not run.`;
    case 'reasoning_required':
      return `OakAuth denied ${tool}:${scope}: reasoning required. Call the tool again with a \`${reasoningArgument}\` argument that says why you need it. (${decision.message})`;
    case 'approval_required':
      return (
        `OakAuth: approval requested${id} for ${tool}:${scope}; an administrator must approve; ` +
        `call this tool again with the same arguments once approved${approval ? ` (the request expires at ${approval.expires_at})` : ''}. The tool did not run.`
      );
    case 'approval_denied': {
      const comment = approval?.comment;
      const said = comment ? `, with the comment: ${JSON.stringify(comment)}` : ' (no comment given)';
      return `OakAuth: an administrator denied the approval${id} of this call to ${tool}:${scope}${said}. The tool did not run; do not repeat this call.`;
    }
    case 'approval_expired':
      return (
        `OakAuth: the approval${id} of this call to ${tool}:${scope} expired before an administrator decided or before the approved call was made; nobody denied it. ` +
        `The tool did not run. Calling it again with the same arguments requests approval anew.`
      );
    case 'approval_cancelled':
      return `OakAuth: the approval${id} of this call to ${tool}:${scope} was cancelled. The tool did not run.`;
    case 'approval_consumed':
      return (
        `OakAuth: the approval${id} of this call to ${tool}:${scope} was already used; an approval allows the approved call once. ` +
        `The tool did not run${approval ? `; the same call can request a new approval after ${approval.expires_at}` : ''}.`
      );
    default:
      return `OakAuth denied ${tool}:${scope} (${decision.reason}): ${withExplanation(decision)} The tool did not run.`;
  }
}

/** `what` names the call: the OakAuth `tool:scope`, or the MCP tool name when tools are hidden. */
function explainError(err: unknown, what: string): string {
  if (isRateLimit(err)) {
    return `OakAuth rate limit reached for ${what}; retry in ${Math.max(1, err.retryAfter)} seconds. The tool did not run.`;
  }
  const detail = err instanceof Error && err.name.startsWith('OakAuth') ? err.message : 'unexpected error';
  return `OakAuth could not check ${what} (${detail}), so the tool did not run.`;
}

// By name as well as by class: a client from the ESM build may meet this module's CommonJS build.
function isRateLimit(err: unknown): err is OakAuthRateLimitError {
  return err instanceof OakAuthRateLimitError || (err instanceof Error && err.name === 'OakAuthRateLimitError');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
