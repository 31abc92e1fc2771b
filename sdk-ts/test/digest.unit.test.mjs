// argumentsDigest() is the worker's `arguments_digest` (core/src/approval.rs): SHA-256 (hex) of the
// RFC 8785 canonical JSON of the arguments, with the same cases as the core's unit test.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { argumentsDigest } from 'oakauth';

const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
const d = (text) => argumentsDigest(JSON.parse(text));

describe('argumentsDigest', () => {
  it('no arguments hash like {}', () => {
    assert.equal(argumentsDigest({}), '44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
    assert.equal(argumentsDigest(), argumentsDigest({}));
    assert.equal(argumentsDigest(null), argumentsDigest({}));
  });

  it('is the SHA-256 of the canonical JSON: keys sorted, no whitespace', () => {
    assert.equal(argumentsDigest({ to: 'ana', amount: 10 }), sha256('{"amount":10,"to":"ana"}'));
  });

  it('ignores key order, whitespace and number spelling, but no value', () => {
    const base = d('{"amount": 10, "to": "ana", "meta": {"b": 1, "a": [1, 2]}}');
    assert.equal(base, d('{"meta":{"a":[1,2],"b":1},"to":"ana","amount":10}'));
    assert.equal(base, d('{"amount": 10.0, "to": "ana", "meta": {"b": 1e0, "a": [1, 2]}}'));
    assert.notEqual(base, d('{"amount": 10000, "to": "ana", "meta": {"b": 1, "a": [1, 2]}}'));
    assert.notEqual(base, d('{"amount": 10, "to": "ana", "meta": {"b": 1, "a": [2, 1]}}'), 'array order matters');
    assert.notEqual(base, d('{"amount": "10", "to": "ana", "meta": {"b": 1, "a": [1, 2]}}'), 'types matter');
  });

  it('unicode: the same string escaped or not is the same; a look-alike is not', () => {
    assert.equal(d('{"to": "é"}'), d('{"to": "\\u00e9"}'));
    assert.notEqual(d('{"to": "ana"}'), d('{"to": "аna"}'));
  });

  it("sorts keys by UTF-16 code units, as RFC 8785's own example (section 3.2.3)", () => {
    const args = { '\u20ac': 1, '\r': 2, '\ufb33': 3, '1': 4, '\u{1f600}': 5, '\u0080': 6, '\u00f6': 7 };
    assert.equal(argumentsDigest(args), sha256('{"\\r":2,"1":4,"\u0080":6,"\u00f6":7,"\u20ac":1,"\u{1f600}":5,"\ufb33":3}'));
  });

  it('numbers as ECMAScript writes them (RFC 8785 section 3.2.2.3)', () => {
    assert.equal(argumentsDigest({ n: 1e21, m: 0.000001, z: -0, f: 333333333.3333333 }), sha256('{"f":333333333.3333333,"m":0.000001,"n":1e+21,"z":0}'));
  });

  it('what JSON leaves out is left out; what JSON cannot carry is refused', () => {
    assert.equal(argumentsDigest({ a: 1, gone: undefined }), argumentsDigest({ a: 1 }));
    assert.throws(() => argumentsDigest({ n: Number.NaN }), /NaN/);
    assert.throws(() => argumentsDigest({ n: Infinity }), /Infinity/);
  });

  it('only an object is arguments', () => {
    for (const bad of [[1, 2], 'x', 5, true]) assert.throws(() => argumentsDigest(bad), TypeError);
  });
});
