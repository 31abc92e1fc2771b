// Rule conditions: a compact one-line form for lists (`arguments /amount lt 500`), and the form's
// rows of simple tests to and from the API's condition objects.
import type { Condition, ConditionSource, ConditionTest, OnMissing, Operator } from './types';

export const SOURCES: ConditionSource[] = ['arguments', 'context', 'request'];

export const OPERATORS: { op: Operator; explain: string }[] = [
  { op: 'eq', explain: 'equal to a JSON value' },
  { op: 'ne', explain: 'not equal to a JSON value' },
  { op: 'lt', explain: 'less than a number (or a HH:MM time for request /time)' },
  { op: 'lte', explain: 'at most a number (or a HH:MM time)' },
  { op: 'gt', explain: 'greater than a number (or a HH:MM time)' },
  { op: 'gte', explain: 'at least a number (or a HH:MM time)' },
  { op: 'in', explain: 'one of a list of values' },
  { op: 'not_in', explain: 'none of a list of values' },
  { op: 'prefix', explain: 'a string starting with the text' },
  { op: 'suffix', explain: 'a string ending with the text' },
  { op: 'contains', explain: 'a string containing the text, or an array containing the value' },
  { op: 'matches', explain: 'a string matching a regular expression' },
  { op: 'len_max', explain: 'a string or array at most this long' },
  { op: 'path_under', explain: 'a path at or under a directory' },
  { op: 'host_in', explain: "a URL, e-mail or host name whose host is in a list (*.example.com for subdomains)" },
  { op: 'cidr', explain: 'an IP address inside one of a list of CIDR blocks' },
  { op: 'exists', explain: 'the value is present (true, the default) or absent (false)' },
];

/** Operators whose value is a list: typed as comma-separated items or as a JSON array. */
export const LIST_OPS: Operator[] = ['in', 'not_in', 'host_in', 'cidr'];
/** Operators whose value is a string, taken as typed (a JSON string in double quotes also works). */
export const TEXT_OPS: Operator[] = ['prefix', 'suffix', 'matches', 'path_under'];

export function isTest(c: Condition): c is ConditionTest {
  return typeof c === 'object' && c !== null && 'op' in c;
}

function valueText(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

/** One condition in one line: `arguments /amount lt 500`, `any of (…; …)`, `not (…)`. */
export function conditionText(c: Condition): string {
  if (isTest(c)) {
    const parts = [c.source ?? 'arguments', c.pointer === '' ? '""' : c.pointer, c.op];
    if (c.value !== undefined && c.value !== null) parts.push(valueText(c.value));
    let text = parts.join(' ');
    if (c.on_missing === 'skip') text += ' (skip if missing)';
    if (c.time_zone) text += ` [${c.time_zone}]`;
    return text;
  }
  if ('all_of' in c) return `all of (${c.all_of.map(conditionText).join('; ')})`;
  if ('any_of' in c) return `any of (${c.any_of.map(conditionText).join('; ')})`;
  if ('not' in c) return `not (${conditionText(c.not)})`;
  return JSON.stringify(c);
}

/** One row of the condition form: a simple test, its value as typed. */
export interface TestRow {
  source: ConditionSource;
  pointer: string;
  op: Operator;
  value: string;
  on_missing: OnMissing;
  time_zone: string;
}

export const emptyRow = (): TestRow => ({ source: 'arguments', pointer: '', op: 'eq', value: '', on_missing: 'deny', time_zone: '' });

/** A typed value as JSON when it is JSON (`500`, `true`, `"x"`, `[1,2]`), else as the string typed. */
function jsonOrString(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The value typed for an operator: a list, a string, or JSON; undefined when left empty. */
export function parseValue(op: Operator, typed: string): unknown {
  const text = typed.trim();
  if (text === '') return undefined;
  if (LIST_OPS.includes(op)) {
    if (text.startsWith('[')) return JSON.parse(text) as unknown;
    const items = text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    // host_in and cidr take strings; in and not_in take any JSON value (1, true, "x"), else the text.
    return op === 'host_in' || op === 'cidr' ? items : items.map(jsonOrString);
  }
  if (TEXT_OPS.includes(op)) return text.startsWith('"') ? (JSON.parse(text) as unknown) : text;
  return jsonOrString(text);
}

/** A form row as the API's condition. Throws with a sentence naming the row when its value is malformed JSON. */
export function rowToCondition(row: TestRow, index: number): ConditionTest {
  let value: unknown;
  try {
    value = parseValue(row.op, row.value);
  } catch {
    throw new Error(`Condition ${index + 1}: the value is not valid JSON. Write a list as a, b, c or ["a", "b"].`);
  }
  const c: ConditionTest = { source: row.source, pointer: row.pointer.trim(), op: row.op, on_missing: row.on_missing };
  if (value !== undefined) c.value = value;
  if (row.source === 'request' && row.time_zone.trim()) c.time_zone = row.time_zone.trim();
  return c;
}

/** A condition as a form row, or undefined for a combinator (or a test with fields the form lacks). */
export function conditionToRow(c: Condition): TestRow | undefined {
  if (!isTest(c)) return undefined;
  let value = '';
  if (c.value !== undefined && c.value !== null) {
    const plain = (v: unknown) =>
      typeof v === 'string' && v !== '' && !v.includes(',') && v.trim() === v && (c.op === 'host_in' || c.op === 'cidr' || jsonOrString(v) === v);
    if (LIST_OPS.includes(c.op) && Array.isArray(c.value) && c.value.length > 0 && c.value.every(plain)) {
      value = (c.value as string[]).join(', ');
    } else if (TEXT_OPS.includes(c.op) && typeof c.value === 'string' && !c.value.startsWith('"') && c.value.trim() === c.value) {
      value = c.value;
    } else {
      value = JSON.stringify(c.value);
    }
  }
  return {
    source: c.source ?? 'arguments',
    pointer: c.pointer,
    op: c.op,
    value,
    on_missing: c.on_missing,
    time_zone: c.time_zone ?? '',
  };
}
