// Primitive encodings of SPEC.md §3: MSB-first bit fields, uvarint, exp-code,
// Exp-Golomb, dec, seed.
import { fail } from './errors.js';

const F64 = new DataView(new ArrayBuffer(8));
export function doubleToBits(x) { F64.setFloat64(0, x); return F64.getBigUint64(0); }
export function bitsToDouble(b) { F64.setBigUint64(0, BigInt.asUintN(64, b)); return F64.getFloat64(0); }

export class BitReader {
  // bytes[startByte:endByte) is the bit field area; base maps positions to file offsets.
  constructor(bytes, startByte, endByte, base = 0) {
    this.bytes = bytes; this.pos = startByte * 8; this.end = endByte * 8; this.base = base;
  }
  get offset() { return this.base + (this.pos >> 3); }
  bit() {
    if (this.pos >= this.end) fail('E_OVERRUN', 'a field runs past the end of its container', this.offset);
    const b = (this.bytes[this.pos >> 3] >> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return b;
  }
  u(n) { // n <= 32
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ubig(n) {
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 1n) | BigInt(this.bit());
    return v;
  }
  ue() {
    const at = this.offset;
    let z = 0;
    while (this.bit() === 0) {
      z++;
      if (z > 32) fail('E_EXPGOLOMB_OVERLONG', 'Exp-Golomb code with more than 32 leading zeros', at);
    }
    return 2 ** z - 1 + this.u(z);
  }
  se() {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : k === 0 ? 0 : -(k / 2); // no -0 for k = 0
  }
  expcode() {
    const at = this.offset;
    let k = 0;
    for (let i = 1; ; i++) {
      const t = this.u(8);
      if (t !== 0xff) return 255 * k + t;
      if (i === 16) fail('E_EXPCODE_OVERLONG', 'exp-code longer than 16 units', at);
      k++;
    }
  }
  // Padding to the byte boundary must be zero bits (§3.10).
  padding() {
    const at = this.offset;
    while (this.pos & 7) if (this.bit() !== 0) fail('E_NONZERO_PADDING', 'padding bits are not zero', at);
  }
}

export class BitWriter {
  constructor() { this.out = []; this.cur = 0; this.n = 0; }
  bit(b) {
    this.cur = (this.cur << 1) | (b & 1);
    if (++this.n === 8) { this.out.push(this.cur); this.cur = 0; this.n = 0; }
  }
  u(n, v) { for (let i = n - 1; i >= 0; i--) this.bit(Math.floor(v / 2 ** i) % 2); }
  ubig(n, v) { for (let i = BigInt(n - 1); i >= 0n; i--) this.bit(Number((v >> i) & 1n)); }
  ue(v) {
    const x = v + 1;
    let z = 0;
    while (2 ** (z + 1) <= x) z++;
    for (let i = 0; i < z; i++) this.bit(0);
    this.u(z + 1, x);
  }
  se(v) { this.ue(v > 0 ? 2 * v - 1 : -2 * v); }
  expcode(id) {
    for (let i = 0; i < Math.floor(id / 255); i++) this.u(8, 0xff);
    this.u(8, id % 255);
  }
  pad() { while (this.n !== 0) this.bit(0); }
  bytes() { this.pad(); return Uint8Array.from(this.out); }
}

// ---- uvarint (§3.2), byte-aligned. Returns [value BigInt, next position].
// `overrunCode` lets the body length report E_TRUNCATED instead of E_OVERRUN.
export function readUvarint(bytes, pos, end, base = 0, overrunCode = 'E_OVERRUN') {
  const start = pos;
  let v = 0n;
  for (let i = 0; ; i++) {
    if (pos >= end) fail(overrunCode, 'a uvarint runs past the end of its container', base + start);
    const b = bytes[pos++];
    if (i === 9 && b > 1) fail('E_VARINT', 'uvarint of 2^64 or more', base + start);
    v |= BigInt(b & 0x7f) << BigInt(7 * i);
    if ((b & 0x80) === 0) {
      if (b === 0 && i > 0) fail('E_VARINT', 'overlong uvarint', base + start);
      return [v, pos];
    }
  }
}

export function writeUvarint(out, v) {
  let x = BigInt(v);
  do {
    let b = Number(x & 0x7fn); x >>= 7n;
    if (x) b |= 0x80;
    out.push(b);
  } while (x);
}

export function uvarintBytes(v) { const o = []; writeUvarint(o, v); return o; }

// ---- byte-aligned exp-code (pixel codec, model compressor)
export function readExpcodeBytes(bytes, pos, end, base = 0) {
  const start = pos;
  let k = 0;
  for (let i = 1; ; i++) {
    if (pos >= end) fail('E_OVERRUN', 'exp-code runs past the end of the body', base + start);
    const t = bytes[pos++];
    if (t !== 0xff) return [255 * k + t, pos];
    if (i === 16) fail('E_EXPCODE_OVERLONG', 'exp-code longer than 16 units', base + start);
    k++;
  }
}
export function writeExpcodeBytes(out, id) {
  for (let i = 0; i < Math.floor(id / 255); i++) out.push(0xff);
  out.push(id % 255);
}

// ---- dec (§3.6)
const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

// Exact round-half-even of value × 10^e; null when |result| >= 2^32.
function scaledInteger(value, e) {
  const bits = doubleToBits(value);
  const neg = bits >> 63n === 1n;
  const ex = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const mant = ex === 0 ? frac : frac | (1n << 52n);
  const shift = (ex === 0 ? 1 : ex) - 1075; // value = mant * 2^shift
  let num = mant * 10n ** BigInt(e);
  let m;
  if (shift >= 0) m = num << BigInt(shift);
  else {
    const s = BigInt(-shift);
    if (s > 200n) m = 0n; // num < 2^73, so the quotient rounds to 0
    else {
      const q = num >> s, r = num - (q << s), half = 1n << (s - 1n);
      m = r > half || (r === half && (q & 1n)) ? q + 1n : q;
    }
  }
  if (m >= 1n << 32n) return null;
  return neg ? -m : m;
}

// The decimal form (e, m) of value, or null when it needs the binary form.
export function decimalForm(value) {
  if (!Number.isFinite(value)) return null;
  for (let e = 0; e <= 6; e++) {
    const m = scaledInteger(value, e);
    if (m === null) continue;
    const back = Number(m) / POW10[e];
    if (doubleToBits(back) === doubleToBits(value)) return { e, m: Number(m) };
  }
  return null;
}

export function readDec(r, desc) {
  const at = r.offset;
  const e = r.u(3);
  let value, canonical = true;
  if (e <= 6) {
    const m = r.se();
    value = m / POW10[e];
    if ((m === 0 && e !== 0) || (e > 0 && m % 10 === 0)) canonical = false;
  } else {
    value = bitsToDouble(r.ubig(64));
    if (!Number.isFinite(value)) fail('E_RANGE', `${desc.name}: NaN or infinity`, at);
    if (decimalForm(value) !== null) canonical = false;
  }
  if (desc.min !== undefined && !(value >= desc.min && value <= desc.max))
    fail('E_RANGE', `${desc.name}: ${value} is outside [${desc.min}, ${desc.max}]`, at);
  if (!canonical) fail('E_NONCANONICAL', `${desc.name}: dec value not in canonical form`, at);
  return value;
}

export function writeDec(w, value) {
  const d = decimalForm(value);
  if (d) { w.u(3, d.e); w.se(d.m); }
  else { w.u(3, 7); w.ubig(64, doubleToBits(value)); }
}

// ---- seed (§3.7)
export function readSeed(r) {
  const at = r.offset;
  const c = r.u(2);
  const width = 8 << c;
  const s = r.ubig(width);
  if (c > 0 && s < 1n << BigInt(width / 2)) fail('E_NONCANONICAL', 'seed not in its smallest width class', at);
  return s;
}
export function writeSeed(w, s) {
  let c = 0;
  while (s >= 1n << BigInt(8 << c)) c++;
  w.u(2, c); w.ubig(8 << c, s);
}
