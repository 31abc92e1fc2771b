// The digest an approval is bound to, computed exactly as the worker computes it
// (core/src/approval.rs `arguments_digest`): SHA-256, in lower-case hex, of the RFC 8785 (JCS)
// canonical JSON of the call's arguments.
import * as canonicalizeModule from 'canonicalize';
import { hash } from 'fast-sha256';

type Serialize = (input: unknown) => string | undefined;
// canonicalize is CommonJS (`module.exports = serialize`) while its types declare an ES default
// export, so which `default` holds the function depends on who loads it: Node's ES module loader
// and esModuleInterop put it in `default`, a loader that follows the types in `default.default`.
const loaded = canonicalizeModule as unknown as { default: Serialize | { default: Serialize } };
const canonicalize: Serialize = typeof loaded.default === 'function' ? loaded.default : loaded.default.default;

/**
 * The SHA-256 (hex) of the RFC 8785 canonical JSON of a tool call's arguments: what an approval is
 * bound to, and what an admin sees as an approval's `arguments_digest`. No arguments (`undefined`
 * or `null`) hash like `{}`. Key order, whitespace and number spelling (`1.0` and `1`) do not change
 * it; any change of a value does.
 *
 * ```ts
 * argumentsDigest({ to: 'ana', amount: 10 }) === argumentsDigest({ amount: 10.0, to: 'ana' }); // true
 * ```
 */
export function argumentsDigest(args?: Record<string, unknown> | null): string {
  if (args !== undefined && args !== null && (typeof args !== 'object' || Array.isArray(args))) {
    throw new TypeError('argumentsDigest: the arguments must be an object (the tool call\'s arguments by name)');
  }
  // What travels is JSON: values JSON cannot carry (undefined, functions) are left out as
  // JSON.stringify leaves them out, and NaN or Infinity are refused.
  const canonical = canonicalize(args ?? {});
  if (canonical === undefined) throw new TypeError('argumentsDigest: the arguments are not JSON');
  return toHex(hash(new TextEncoder().encode(canonical)));
}

function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
