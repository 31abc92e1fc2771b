// oakauth: permission control for AI agents. `guard()` for agent code, `OakAuthAdmin` for the admin
// API, `ReceiptVerifier` for tool servers (also in `oakauth/receipts`); the MCP wrapper is in the
// `oakauth/mcp` subpath, the webhook verifier in `oakauth/webhooks`.
export {
  OakAuth,
  configure,
  guard,
  validate,
  isAllowed,
  DEFAULT_APPROVAL_TIMEOUT_MS,
  MAX_APPROVAL_WAIT_SECONDS,
  type ApprovalMode,
  type GetApprovalOptions,
  type GuardOptions,
  type OakAuthOptions,
} from './client.js';
export { argumentsDigest } from './digest.js';
export { OakAuthAdmin, type AdminSession, type OakAuthAdminOptions } from './admin.js';
export {
  ReceiptVerifier,
  MemoryReplayCache,
  verifyReceipt,
  RECEIPT_META_KEY,
  RECEIPT_TYPE,
  type ReceiptClaims,
  type ReceiptExpectation,
  type ReceiptVerifierOptions,
  type ReplayCache,
  type MemoryReplayCacheOptions,
  type JwksFetch,
} from './receipts.js';
export {
  OakAuthError,
  OakAuthDeniedError,
  ApprovalPendingError,
  ApprovalDeniedError,
  ApprovalExpiredError,
  OakAuthQuotaExceededError,
  OakAuthPlanLimitError,
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
  ReceiptInvalidError,
  type ReceiptInvalidReason,
} from './errors.js';
export { DEFAULT_RETRIES, DEFAULT_TIMEOUT, type FetchLike, type ResponseLike } from './http.js';
export type * from './types.js';
export type * from './accounts.js';
