// Stored text (reasoning, context, arguments, rule descriptions and conditions, explanations) as the
// dashboard shows it: control characters, bidi controls and other invisible characters are written as
// visible escapes (`\n`, `\u{202e}`), so that a value cannot reorder, hide or forge what is around it.
// The same characters and the same escapes as the CLI (sdk-rs/src/bin/oakauth/output.rs, `escape`).

/** Control characters, zero-width and bidi controls, and the other invisible characters the CLI escapes. */
const INVISIBLE = /[\p{Cc}\u200B-\u200F\u2028-\u202E\u2060-\u206F\u061C\u00AD\u180E\uFEFF\uFFF9-\uFFFB]/gu;
/** The same, not global: for `test`, which would otherwise leave `lastIndex` behind for the next use. */
const HAS_INVISIBLE = new RegExp(INVISIBLE.source, 'u');

function escapeChar(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\u{${c.codePointAt(0)!.toString(16)}}`;
}

/** `text` with every invisible character written as an escape. */
export function escapeText(text: string): string {
  return text.replace(INVISIBLE, escapeChar);
}

/** A JSON value (on one line, or pretty-printed with `indent`), the invisible characters inside its strings escaped. */
export function jsonText(value: unknown, indent?: number): string {
  const json = JSON.stringify(value, null, indent) ?? 'null';
  // A line feed in the output is JSON's own line break: one inside a string is already written `\n`.
  return json.replace(INVISIBLE, (c) => (c === '\n' ? c : escapeChar(c)));
}

/**
 * Shows stored text with its invisible characters as escapes, each marked (class `escaped`) so that
 * it stands out from the text around it.
 */
export function SafeText({ text }: { text: string }) {
  if (!HAS_INVISIBLE.test(text)) return <>{text}</>;
  const parts: (string | preact.JSX.Element)[] = [];
  let last = 0;
  let n = 0;
  for (const m of text.matchAll(INVISIBLE)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(
      <span class="escaped" key={n++} title="An invisible or control character, shown escaped">
        {escapeChar(m[0])}
      </span>,
    );
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return <>{parts}</>;
}

/** A JSON value in a `<pre>`, its strings' invisible characters escaped. */
export function JsonBlock({ value, testId }: { value: unknown; testId?: string }) {
  return (
    <pre class="json" data-testid={testId}>
      {jsonText(value, 2)}
    </pre>
  );
}
