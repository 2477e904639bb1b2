import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inflate } from '../src/text/inflate.js';
import { canonicalDeflate } from '../src/text/deflate.js';
import * as none from '../src/text/none.js';
import * as deflate from '../src/text/deflate.js';
import * as prompt from '../src/text/prompt.js';
import { readPromptModel } from '../src/node.js';
import { AigifError } from '../src/errors.js';
import { utf8Encode } from '../src/util.js';

const code = (fn) => { try { fn(); } catch (e) { assert.ok(e instanceof AigifError, String(e && e.stack)); return e.code; } return null; };
const hex = (s) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

// LSB-first bit writer for hand-made DEFLATE streams.
function stream(parts) {
  const out = []; let buf = 0, n = 0;
  for (const [v, len, msb] of parts) {
    for (let i = 0; i < len; i++) {
      const bit = msb ? (v >>> (len - 1 - i)) & 1 : (v >>> i) & 1;
      buf |= bit << n;
      if (++n === 8) { out.push(buf); buf = 0; n = 0; }
    }
  }
  if (n) out.push(buf);
  return Uint8Array.from(out);
}

test('none: framing errors before UTF-8, limits (§7.2)', () => {
  assert.deepEqual(none.decode(hex('0161 00'), 2), ['a', '']);
  assert.equal(code(() => none.decode(hex('0161'), 2)), 'E_OVERRUN'); // missing string
  assert.equal(code(() => none.decode(hex('0161 00 00'), 2)), 'E_OVERRUN'); // bytes left
  assert.equal(code(() => none.decode(hex('05 61'), 2)), 'E_OVERRUN');
  assert.equal(code(() => none.decode(hex('8000 00'), 2)), 'E_VARINT');
  assert.equal(code(() => none.decode(hex('01ff 05'), 2)), 'E_OVERRUN'); // framing first
  assert.equal(code(() => none.decode(hex('01ff 00'), 2)), 'E_UTF8');
  assert.equal(code(() => none.decode(new Uint8Array(65537), 2)), 'E_TEXT_LIMIT');
});

test('the paper example text block is the canonical deflater output (Appendix D)', () => {
  const block = hex('e3 72 54 48 2e 2d 49 55 48 4e 2c e1 2d cf 2f 2a 2e 51 28 2c 4d cc c9 2c a9 04 00');
  assert.deepEqual(deflate.decode(block, 2), ['A cute cat', 'worst quality']);
  assert.deepEqual([...deflate.encode(['A cute cat', 'worst quality'])], [...block]);
});

test('canonical deflater: greedy, nearest among equals, overlap, 32 candidates', () => {
  for (const t of ['', 'a', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'abcabcabcabd abcabcabcabd', 'x'.repeat(70000).slice(0, 65536)]) {
    const b = utf8Encode(t);
    const z = canonicalDeflate(b);
    assert.deepEqual([...inflate(z, 65536).out], [...b]);
  }
  // Two equal-length candidates: the nearer one gives the smaller distance code.
  const t = utf8Encode('abcX abcY abcZ abc');
  const z = canonicalDeflate(t);
  assert.deepEqual([...inflate(z, 100).out], [...t]);
});

test('inflate judges streams as zlib does (§7.3)', () => {
  // A stored block.
  assert.deepEqual([...inflate(hex('01 0300 fcff 616263'), 100).out], [...utf8Encode('abc')]);
  assert.equal(code(() => inflate(hex('01 0300 fdff 616263'), 100)), 'E_TEXT_CORRUPT'); // LEN/NLEN
  assert.equal(code(() => inflate(hex('07'), 100)), 'E_TEXT_CORRUPT'); // reserved block type
  assert.equal(code(() => inflate(new Uint8Array(0), 100)), 'E_TEXT_CORRUPT');
  // Fixed block: literal 'a' then length code 284 with extra 31 (= 258) at distance 1: zlib accepts.
  const lit = (s) => (s < 144 ? [0x30 + s, 8, true] : [0x190 + s - 144, 9, true]);
  const ok = stream([[1, 1], [1, 2], lit(97), [0xc4, 8, true], [31, 5], [0, 5, true], [0, 7, true]]);
  assert.equal(inflate(ok, 1000).out.length, 259);
  // Fixed-code symbol 286 and distance code 30 are invalid.
  assert.equal(code(() => inflate(stream([[1, 1], [1, 2], [0xc6, 8, true]]), 100)), 'E_TEXT_CORRUPT');
  assert.equal(code(() => inflate(stream([[1, 1], [1, 2], lit(97), [1, 7, true], [30, 5, true]]), 100)), 'E_TEXT_CORRUPT');
  // Distance beyond the output.
  assert.equal(code(() => inflate(stream([[1, 1], [1, 2], lit(97), [1, 7, true], [1, 5, true]]), 100)), 'E_TEXT_CORRUPT');
  // HLIT = 30 (287 codes) is refused when the header is read; HDIST = 30 (31 codes) too.
  assert.equal(code(() => inflate(stream([[1, 1], [2, 2], [30, 5], [0, 5], [0, 4], [0, 32]]), 100)), 'E_TEXT_CORRUPT');
  assert.equal(code(() => inflate(stream([[1, 1], [2, 2], [0, 5], [30, 5], [0, 4], [0, 32]]), 100)), 'E_TEXT_CORRUPT');
  // Output beyond the limit: E_TEXT_LIMIT, not the later corruption.
  const bomb = canonicalDeflate(new Uint8Array(2000));
  assert.equal(code(() => inflate(bomb, 1999)), 'E_TEXT_LIMIT');
  assert.equal(inflate(bomb, 2000).out.length, 2000);
});

test('inflate: a dynamic block whose distance code is one code of length 1 (incomplete) is accepted', () => {
  // Code length code: lengths for symbols 1 and 0... build: HCLEN such that symbols 16,17,18,0,8,7,9,6,10,5,11,4,12,3,13,2,14,1 are listed.
  // Literal/length: 'a' (97) and 256 of length 1; distance: code 0 of length 1 (incomplete, allowed).
  // Code-length alphabet: symbols 0 and 1 with length 1 each (complete), plus 18 (run of zeros) length 2? keep it complete:
  // lengths: sym0 -> 2, sym1 -> 2, sym18 -> 1  (complete: 1/2 + 1/4 + 1/4)
  const clOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
  const cl = new Array(19).fill(0); cl[0] = 2; cl[1] = 2; cl[18] = 1;
  const hclen = clOrder.length; // 18 entries: 16..1
  const parts = [[1, 1], [2, 2], [0, 5], [0, 5], [hclen - 4, 4]];
  for (let i = 0; i < hclen; i++) parts.push([cl[clOrder[i]], 3]);
  // Canonical codes: sym18 (len 1) = 0; sym0 (len 2) = 10; sym1 (len 2) = 11.
  const Z = (n) => [[0, 1, true], [n - 11, 7]]; // 18: run of n zeros (11..138)
  const one = [0b11, 2, true], zero = [0b10, 2, true];
  // 257 lit/len lengths: 97 zeros, '1' for 97, 158 zeros, '1' for 256; then 1 distance length: '1'.
  parts.push(...Z(97), one, ...Z(138), ...Z(20), one, one);
  void zero;
  // Data: lit/len code: 97 -> 0, 256 -> 1. Emit 'a', 'a', EOB.
  parts.push([0, 1, true], [0, 1, true], [1, 1, true]);
  const s = stream(parts);
  assert.deepEqual([...inflate(s, 10).out], [97, 97]);
});

const model = readPromptModel();

test('prompt coder: the worked examples of Appendix E.12', { skip: model ? false : 'model file not found' }, () => {
  const opts = { promptModel: model };
  for (const [strings, h] of [[['A photo of a cat', ''], 'e3aca77e'], [['(masterpiece:1.2), 1girl', 'worst quality'], '03ad5d404784'], [['Zyxq ☃', ''], 'dc37ea4d269cd6eea231']]) {
    assert.equal(Buffer.from(prompt.encode(strings, opts)).toString('hex'), h);
    assert.deepEqual(prompt.decode(hex(h), strings.length, 0, opts), strings);
  }
  assert.equal(prompt.encode([], opts).length, 0);
});

test('prompt coder: round trips and the E.7 checks', { skip: model ? false : 'model file not found' }, () => {
  const opts = { promptModel: model };
  const cases = [['', ''], ['iPhone  x', 'HTMLParser ABc'], [' leading space', 'trailing '], ['\n\t\u0000 😀 日本 \udbff\udfff', 'x'.repeat(300)], ['Zyxqwv qqqq CAT Cat cat', '1girl, (best:1.3)']];
  for (const strings of cases) {
    const b = prompt.encode(strings, opts);
    assert.deepEqual(prompt.decode(b, strings.length, 0, opts), strings);
    assert.equal(code(() => prompt.decode(Uint8Array.from([...b, 0]), strings.length, 0, opts)), 'E_NONCANONICAL'); // check 1
    assert.equal(code(() => prompt.decode(Uint8Array.from([...b, 7]), strings.length, 0, opts)), 'E_NONCANONICAL'); // check 5
  }
  assert.equal(code(() => prompt.decode(hex('ffffffff01'), 2, 0, opts)), 'E_TEXT_CORRUPT');
  // String bytes over the limit, and framed text over it (checked after decoding).
  assert.equal(code(() => prompt.decode(prompt.encode(['a'.repeat(65537), ''], opts), 2, 0, opts)), 'E_TEXT_LIMIT');
  assert.equal(code(() => prompt.decode(prompt.encode(['a'.repeat(65534), ''], opts), 2, 0, opts)), 'E_TEXT_LIMIT');
  assert.equal(code(() => prompt.decode(hex('e3aca77e'), 2, 0, {})), null); // the node default loader finds the model
});

test('prompt coder: a wrong model file is E_UNSUPPORTED', () => {
  assert.equal(code(() => prompt.decode(hex('e3aca77e'), 2, 0, { promptModel: new Uint8Array(10) })), 'E_UNSUPPORTED');
});

test('tokenisation of E.4', { skip: model ? false : 'model file not found' }, () => {
  const m = prompt.loadPromptModel(model);
  const syms = prompt.tokenize(m, 'iPhone  x');
  // " i" (a word), "Phone" (NOSP_CAP + word), " " (lone space), " x".
  assert.equal(syms.length, 6);
  assert.equal(syms[1][0], m.FIRST_MOD + 3);
  assert.equal(syms[5][0], m.EOS);
  void readFileSync;
});
