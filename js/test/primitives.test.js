import test from 'node:test';
import assert from 'node:assert/strict';
import { BitReader, BitWriter, readUvarint, uvarintBytes, decimalForm, readDec, writeDec, readSeed, writeSeed } from '../src/bits.js';
import { crc32, sha256, toHex, utf8Decode, utf8Encode, toBase64, fromBase64 } from '../src/util.js';
import { AigifError } from '../src/errors.js';
import { floatText } from '../src/json.js';
import { createHash } from 'node:crypto';

const code = (fn) => { try { fn(); } catch (e) { assert.ok(e instanceof AigifError, String(e)); return e.code; } return null; };
const bits = (s) => { const w = new BitWriter(); for (const c of s) w.bit(c === '1' ? 1 : 0); return w.bytes(); };
const reader = (s) => { const b = bits(s); return new BitReader(b, 0, b.length); };

test('uvarint examples and limits (§3.2)', () => {
  assert.deepEqual(uvarintBytes(0), [0]);
  assert.deepEqual(uvarintBytes(127), [0x7f]);
  assert.deepEqual(uvarintBytes(128), [0x80, 1]);
  assert.deepEqual(uvarintBytes(300), [0xac, 2]);
  assert.deepEqual(readUvarint(Uint8Array.from([0xac, 2]), 0, 2), [300n, 2]);
  assert.equal(code(() => readUvarint(Uint8Array.from([0x80, 0]), 0, 2)), 'E_VARINT');
  assert.equal(code(() => readUvarint(Uint8Array.from([0x80]), 0, 1)), 'E_OVERRUN');
  const max = Uint8Array.from([...Array(9).fill(0xff), 1]);
  assert.equal(readUvarint(max, 0, 10)[0], 2n ** 64n - 1n);
  assert.equal(code(() => readUvarint(Uint8Array.from([...Array(9).fill(0xff), 2]), 0, 10)), 'E_VARINT');
});

test('ue and se codes (§3.4)', () => {
  for (const [v, c] of [[0, '1'], [1, '010'], [2, '011'], [3, '00100'], [6, '00111'], [7, '0001000']]) {
    assert.equal(reader(c).ue(), v);
    const w = new BitWriter(); w.ue(v); assert.deepEqual([...w.bytes()], [...bits(c)]);
  }
  assert.equal(Object.is(reader('1').se(), 0), true); // never -0
  assert.equal(reader('010').se(), 1);
  assert.equal(reader('011').se(), -1);
  assert.equal(code(() => reader('0'.repeat(33) + '1').ue()), 'E_EXPGOLOMB_OVERLONG');
  assert.equal(reader('0'.repeat(32) + '1' + '1'.repeat(31) + '0').ue(), 2 ** 33 - 2 - 1);
  assert.equal(code(() => reader('0000').ue()), 'E_OVERRUN');
});

test('exp-code boundaries (Appendix B)', () => {
  for (const id of [0, 1, 254, 255, 256, 509, 510, 764, 765, 4079]) {
    const w = new BitWriter(); w.expcode(id);
    const b = w.bytes();
    assert.equal(b.length, Math.floor(id / 255) + 1);
    assert.equal(new BitReader(b, 0, b.length).expcode(), id);
  }
  const ff16 = new Uint8Array(16).fill(0xff);
  assert.equal(code(() => new BitReader(ff16, 0, 16).expcode()), 'E_EXPCODE_OVERLONG');
  assert.equal(code(() => new BitReader(ff16, 0, 15).expcode()), 'E_OVERRUN');
});

test('dec: decimal form, binary form, canonical checks (§3.6)', () => {
  assert.deepEqual(decimalForm(7.5), { e: 1, m: 75 });
  assert.deepEqual(decimalForm(7), { e: 0, m: 7 });
  assert.deepEqual(decimalForm(6.3), { e: 1, m: 63 });
  assert.deepEqual(decimalForm(0.000001), { e: 6, m: 1 });
  assert.equal(decimalForm(-0), null);
  assert.equal(decimalForm(1 / 3), null);
  const d = { name: 'guidance', type: 'dec', min: 0, max: 100 };
  for (const v of [7.5, 6.3, 0, -0, 100, 1 / 3, 5e-324, 99.99999999]) {
    const w = new BitWriter(); writeDec(w, v);
    const b = w.bytes();
    assert.ok(Object.is(readDec(new BitReader(b, 0, b.length), d), v), String(v));
  }
  const w = new BitWriter(); w.u(3, 1); w.se(75); // 7.5 as in §3.6
  assert.deepEqual([...w.bytes()], [...bits('001000000010010110')]);
  const enc = (e, m) => { const x = new BitWriter(); x.u(3, e); x.se(m); const b = x.bytes(); return new BitReader(b, 0, b.length); };
  assert.equal(code(() => readDec(enc(1, 0), d)), 'E_NONCANONICAL');
  assert.equal(code(() => readDec(enc(1, 70), d)), 'E_NONCANONICAL');
  assert.equal(code(() => readDec(enc(0, 101), d)), 'E_RANGE');
  const bin = (x) => { const y = new BitWriter(); y.u(3, 7); y.ubig(64, x); const b = y.bytes(); return new BitReader(b, 0, b.length); };
  assert.equal(code(() => readDec(bin(0x7ff8000000000000n), d)), 'E_RANGE');
  assert.equal(code(() => readDec(bin(0x401e000000000000n), d)), 'E_NONCANONICAL'); // 7.5 in binary form
});

test('seed classes (§3.7)', () => {
  for (const s of [0n, 255n, 256n, 65535n, 65536n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 64n - 1n]) {
    const w = new BitWriter(); writeSeed(w, s);
    const b = w.bytes();
    assert.equal(readSeed(new BitReader(b, 0, b.length)), s);
  }
  const w = new BitWriter(); w.u(2, 1); w.u(16, 255);
  const b = w.bytes();
  assert.equal(code(() => readSeed(new BitReader(b, 0, b.length))), 'E_NONCANONICAL');
});

test('CRC-32, SHA-256, UTF-8, base64', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
  assert.equal(toHex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(toHex(sha256(new TextEncoder().encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(toHex(sha256(new TextEncoder().encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
  const s = 'a é ☃ 😀';
  assert.equal(utf8Decode(utf8Encode(s)), s);
  for (const bad of [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xe2, 0x98]])
    assert.equal(code(() => utf8Decode(Uint8Array.from(bad))), 'E_UTF8', JSON.stringify(bad));
  assert.equal(code(() => utf8Encode('\ud800')), 'E_UTF8');
  for (const n of [0, 1, 2, 3, 4, 5]) {
    const b = Uint8Array.from({ length: n }, (_, i) => i * 77);
    assert.deepEqual([...fromBase64(toBase64(b))], [...b]);
  }
  assert.equal(toBase64(new TextEncoder().encode('foobar')), 'Zm9vYmFy');
});

test('floats are written as Python repr writes them (shortest round trip)', () => {
  const cases = [[1e-6, '1e-06'], [7.5, '7.5'], [7, '7.0'], [100, '100.0'], [0.1, '0.1'], [1e16, '1e+16'], [1e15, '1000000000000000.0'],
    [1.5e300, '1.5e+300'], [5e-324, '5e-324'], [0.0001, '0.0001'], [0.00001234, '1.234e-05'], [-2.5, '-2.5'], [-0, '-0.0'], [6.3, '6.3']];
  for (const [x, t] of cases) { assert.equal(floatText(x), t); assert.ok(Object.is(Number(t), x)); }
});

test('SHA-256 at every padding boundary matches node:crypto', () => {
  for (const n of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65536]) {
    const b = Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 255);
    assert.equal(toHex(sha256(b)), createHash('sha256').update(b).digest('hex'), String(n));
  }
});
