// Noise sources of SPEC.md Appendix F: `portable` (F.3, defined completely)
// and `a1111-nv` (F.4.2, through the platform's binary64 log and sin).
import { fail } from './errors.js';

const M0 = 0xd2511f53, M1 = 0xcd9e8d57, W0 = 0x9e3779b9, W1 = 0xbb67ae85;

// Full 64-bit product of two 32-bit words as [hi, lo].
function mulhilo(a, b) {
  const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  const lo = ((mid & 0xffff) * 65536 + (ll & 0xffff)) >>> 0;
  const hi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
  return [hi, lo];
}

// Philox4x32-10 (F.3.1): counter c[0..3], key k[0..1], all uint32.
export function philox(c, k) {
  let [c0, c1, c2, c3] = c;
  let [k0, k1] = k;
  for (let round = 0; round < 10; round++) {
    if (round > 0) { k0 = (k0 + W0) >>> 0; k1 = (k1 + W1) >>> 0; }
    const [h0, l0] = mulhilo(M0, c0), [h1, l1] = mulhilo(M1, c2);
    [c0, c1, c2, c3] = [(h1 ^ c1 ^ k0) >>> 0, l1, (h0 ^ c3 ^ k1) >>> 0, l0];
  }
  return [c0, c1, c2, c3];
}

const hex = (s) => { // C99 hex float literal -> double
  const m = /^(-?)0x([01])\.([0-9a-f]+)p([+-]\d+)$/.exec(s);
  const v = (parseInt(m[2], 16) + parseInt(m[3], 16) / 16 ** m[3].length) * 2 ** parseInt(m[4], 10);
  return m[1] ? -v : v;
};
const A = ['0x1.39a296f7d925ep+11', '0x1.052d26b2e45e4p+15', '0x1.06c1c55b78f20p+16', '0x1.66c3e869b752ap+15', '0x1.ad1d8cd4ee71dp+13', '0x1.ece5d2213c0ccp+10', '0x1.0a4888b1a436ep+7', '0x1.b18d91e9eef75p+1'].map(hex);
const B = ['0x1.46a7eca984b69p+12', '0x1.c0e457cb1ae76p+14', '0x1.3317caa64f4bep+15', '0x1.4b772d5d65266p+14', '0x1.512322e75c89fp+12', '0x1.5797efdc8b3f7p+9', '0x1.5281b386e1ab5p+5', '0x1.0p+0'].map(hex);
const C = ['0x1.9615ac0b7ace9p-11', '0x1.744eb6c45ec67p-6', '0x1.ef2abb9b85c37p-3', '0x1.453cc085375b2p+0', '0x1.d2ecb1a3d02c4p+1', '0x1.713f71462256ap+2', '0x1.2857748cab19bp+2', '0x1.6c665fde9526ap+0'].map(hex);
const D = ['0x1.20d3f686439e4p-30', '0x1.1f18cbfdf2728p-11', '0x1.f207a7eab17bfp-7', '0x1.2f5123394f040p-3', '0x1.61292f23385c9p-1', '0x1.ad278e6526633p+0', '0x1.06cefbb46a449p+1', '0x1.0p+0'].map(hex);
const E = ['0x1.afb74d693bf93p-23', '0x1.c6ec6cc59e02ap-16', '0x1.45c1908425345p-10', '0x1.b2b41193b4ee7p-6', '0x1.2fad9315255cfp-2', '0x1.c8ea6461fa445p+0', '0x1.5daea6e875003p+2', '0x1.aa1b1c13ee526p+2'].map(hex);
const F = ['0x1.269bff1f8c190p-49', '0x1.31446f740b9e0p-23', '0x1.35c2c496374bfp-16', '0x1.9c8bc979dc5d7p-11', '0x1.e76f93215462ap-7', '0x1.186eb183443fbp-3', '0x1.331d34fc7d77fp-1', '0x1.0p+0'].map(hex);
const Q1 = hex('0x1.b333333333333p-2'), Q2 = hex('0x1.71eb851eb851fp-3'), SPLIT = hex('0x1.999999999999ap+0');
const SQRT2 = hex('0x1.6a09e667f3bcdp+0'), LN2_HI = hex('0x1.62e42fee00000p-1'), LN2_LO = hex('0x1.a39ef35793c76p-33');
const L = [0, '0x1.5555555555555p-2', '0x1.999999999999ap-3', '0x1.2492492492492p-3', '0x1.c71c71c71c71cp-4', '0x1.745d1745d1746p-4', '0x1.3b13b13b13b14p-4', '0x1.1111111111111p-4', '0x1.e1e1e1e1e1e1ep-5', '0x1.af286bca1af28p-5', '0x1.8618618618618p-5', '0x1.642c8590b2164p-5'].map((s) => (s ? hex(s) : 0));

const horner = (c, r) => { let acc = c[0]; for (let i = 1; i < 8; i++) acc = acc * r + c[i]; return acc; };

const DV = new DataView(new ArrayBuffer(8));
// PLOG (F.3.4): for a positive normal binary64.
export function plog(x) {
  DV.setFloat64(0, x);
  const hiWord = DV.getUint32(0);
  let e = ((hiWord >>> 20) & 0x7ff) - 1023;
  DV.setUint32(0, (hiWord & 0x800fffff) | (1023 << 20)); // exact significand in [1, 2)
  let m = DV.getFloat64(0);
  if (m > SQRT2) { m = m * 0.5; e = e + 1; }
  const f = m - 1.0;
  const s = f / (2.0 + f);
  const z = s * s;
  let t = L[11];
  for (let i = 10; i >= 1; i--) t = t * z + L[i];
  const w = s + s * (z * t);
  const lm = w + w;
  const E_ = e;
  return (E_ * LN2_LO + lm) + E_ * LN2_HI;
}

export function ppnd(u) {
  const q = u - 0.5;
  let x;
  if (Math.abs(q) <= Q1) {
    const r = Q2 - q * q;
    x = (horner(A, r) * q) / horner(B, r);
  } else {
    let r = q <= 0 ? u : 1.0 - u;
    r = Math.sqrt(-plog(r));
    if (r <= 5.0) { r = r - SPLIT; x = horner(C, r) / horner(D, r); }
    else { r = r - 5.0; x = horner(E, r) / horner(F, r); }
    if (q < 0) x = -x;
  }
  return x;
}

function key(seed) {
  const s = BigInt(seed);
  if (s < 0n || s >= 2n ** 64n) fail('E_RANGE', 'seed is outside 0 .. 2^64-1');
  return [Number(s & 0xffffffffn), Number(s >> 32n)];
}

// Values n = start .. start+count-1 of the portable stream, as float32 numbers.
export function portable(seed, count, start = 0n) {
  const k = key(seed);
  const out = new Float32Array(count);
  let n = BigInt(start);
  let block = null, blockJ = -1n;
  for (let i = 0; i < count; i++, n++) {
    const j = n >> 1n;
    if (j !== blockJ) {
      block = philox([Number(j & 0xffffffffn), Number(j >> 32n), 0, 0], k);
      blockJ = j;
    }
    const h = Number(n & 1n);
    const a = block[2 * h], b = block[2 * h + 1];
    const K = a * 2 ** 20 + (b >>> 12);
    const u = (2 * K + 1) * 2 ** -53;
    out[i] = ppnd(u);
  }
  return out;
}

// a1111-nv (F.4.2): element i of draw t uses counter (t, 0, i, 0).
const C1 = Math.fround(2.3283064e-10), C2 = Math.fround(2.3283064e-10 * 6.2831855);
export function a1111nv(seed, count, draw = 0) {
  const k = key(seed);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const [w0, w1] = philox([draw, 0, i, 0], k);
    const u = w0 * C1 + C1 / 2, v = w1 * C2 + C2 / 2;
    out[i] = Math.sqrt(-2.0 * Math.log(u)) * Math.sin(v);
  }
  return out;
}

export const NOISE_SOURCES = { portable, 'a1111-nv': a1111nv };

export function float32Hex(x) {
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, x);
  return dv.getUint32(0).toString(16).padStart(8, '0');
}
