// oakauth: permission control for AI agents. `guard()` for agent code, `OakAuthAdmin` for the admin
// API; the MCP wrapper is in the `oakauth/mcp` subpath.
export { OakAuth, configure, guard, validate, isAllowed, type OakAuthOptions } from './client.js';
export { OakAuthAdmin, type OakAuthAdminOptions } from './admin.js';
export {
  OakAuthError,
  OakAuthDeniedError,
  OakAuthAPIError,
  OakAuthAuthenticationError,
  OakAuthValidationError,
  OakAuthNotFoundError,
  OakAuthConflictError,
  OakAuthRateLimitError,
  OakAuthServerError,
  OakAuthConfigurationError,
  OakAuthConnectionError,
  OakAuthTimeoutError,
  OakAuthMalformedResponseError,
  OakAuthRedirectError,
} from './errors.js';
export { DEFAULT_RETRIES, DEFAULT_TIMEOUT, type FetchLike, type ResponseLike } from './http.js';
export type * from './types.js';
