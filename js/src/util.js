// Byte utilities: CRC-32 (§4.3), strict UTF-8 (§1), SHA-256 (§6.4), hex, base64.
import { fail } from './errors.js';

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(bytes, start = 0, end = bytes.length) {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
export function utf8Decode(bytes, start = 0, end = bytes.length, offset = start) {
  let s;
  let i = start;
  const bad = () => fail('E_UTF8', 'string is not valid UTF-8', offset);
  const parts = [];
  let runStart = i;
  while (i < end) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let n, cp, min;
    if (b >= 0xc2 && b <= 0xdf) { n = 1; cp = b & 0x1f; min = 0x80; }
    else if (b >= 0xe0 && b <= 0xef) { n = 2; cp = b & 0x0f; min = 0x800; }
    else if (b >= 0xf0 && b <= 0xf4) { n = 3; cp = b & 0x07; min = 0x10000; }
    else bad();
    if (i + n >= end) bad(); // sequence cut off by the end of the string
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if ((c & 0xc0) !== 0x80) bad();
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) bad();
    if (runStart < i) parts.push(latin(bytes, runStart, i));
    parts.push(String.fromCodePoint(cp));
    i += n + 1;
    runStart = i;
  }
  if (runStart < end) parts.push(latin(bytes, runStart, end));
  s = parts.join('');
  return s;
}

function latin(bytes, a, b) { // ASCII run
  let s = '';
  for (let i = a; i < b; i += 8192) s += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(b, i + 8192)));
  return s;
}

// UTF-8 encoding; a lone surrogate in a JS string cannot be encoded (E_UTF8).
export function utf8Encode(str) {
  const out = [];
  for (let i = 0; i < str.length; i++) {
    let c = str.charCodeAt(i);
    if (c < 0x80) { out.push(c); continue; }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < str.length) {
      const d = str.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00); i++; }
    }
    if (c >= 0xd800 && c <= 0xdfff) fail('E_UTF8', 'string holds a lone surrogate');
    if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return Uint8Array.from(out);
}

// SHA-256 (FIPS 180-4), synchronous so that parsing stays synchronous in browsers too.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);

export function sha256(data) {
  const h = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Int32Array(64);
  const block = (src, off) => {
    for (let i = 0; i < 16; i++, off += 4) w[i] = (src[off] << 24) | (src[off + 1] << 16) | (src[off + 2] << 8) | src[off + 3];
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15], b = w[i - 2];
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
    }
    let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
  };
  const n = data.length;
  const full = n - (n % 64);
  for (let off = 0; off < full; off += 64) block(data, off);
  // The tail with the padding and the bit length: one or two blocks.
  const tail = new Uint8Array(n % 64 < 56 ? 64 : 128);
  tail.set(data.subarray(full));
  tail[n - full] = 0x80;
  const dv = new DataView(tail.buffer);
  dv.setUint32(tail.length - 8, Math.floor(n / 0x20000000));
  dv.setUint32(tail.length - 4, (n * 8) >>> 0);
  for (let off = 0; off < tail.length; off += 64) block(tail, off);
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) ov.setInt32(4 * i, h[i]);
  return out;
}

export function toHex(bytes) {
  let s = '';
  for (const b of bytes) s += (b < 16 ? '0' : '') + b.toString(16);
  return s;
}
export function fromHex(s, what = 'hex string') {
  if (typeof s !== 'string' || !/^([0-9a-f]{2})*$/.test(s)) fail('E_RANGE', `${what}: not lower-case hex`);
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
  return out;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64CODES = new Uint8Array(128).fill(255);
for (let i = 0; i < 64; i++) B64CODES[B64.charCodeAt(i)] = i;
const ENC = new Uint8Array(64);
for (let i = 0; i < 64; i++) ENC[i] = B64.charCodeAt(i);

// RFC 4648 §4 base64 with padding, built in chunks (payloads reach 256 MiB).
export function toBase64(bytes) {
  const n = bytes.length, chunks = [];
  const CH = 3 * 16384;
  const buf = new Uint8Array((CH / 3) * 4);
  for (let start = 0; start < n; start += CH) {
    const end = Math.min(n, start + CH);
    let o = 0, i = start;
    for (; i + 2 < end; i += 3) {
      const v = (bytes[i] << 16) | (bytes[i + 1] << 8) | bytes[i + 2];
      buf[o++] = ENC[v >> 18]; buf[o++] = ENC[(v >> 12) & 63]; buf[o++] = ENC[(v >> 6) & 63]; buf[o++] = ENC[v & 63];
    }
    if (i < end) {
      const a = bytes[i], b = i + 1 < end ? bytes[i + 1] : 0;
      buf[o++] = ENC[a >> 2]; buf[o++] = ENC[((a & 3) << 4) | (b >> 4)];
      buf[o++] = i + 1 < end ? ENC[(b & 15) << 2] : 61; buf[o++] = 61;
    }
    chunks.push(String.fromCharCode.apply(null, buf.subarray(0, o)));
  }
  return chunks.join('');
}

export function fromBase64(s, what = 'base64 data') {
  const bad = () => fail('E_RANGE', `${what}: not padded RFC 4648 base64`);
  if (typeof s !== 'string' || s.length % 4 !== 0) bad();
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  const body = s.length - (pad ? 4 : 0);
  const code = (k) => { const c = s.charCodeAt(k); const v = c < 128 ? B64CODES[c] : 255; if (v === 255) bad(); return v; };
  for (let i = 0; i < body; i += 4) {
    const v = (code(i) << 18) | (code(i + 1) << 12) | (code(i + 2) << 6) | code(i + 3);
    out[o++] = v >> 16; out[o++] = (v >> 8) & 255; out[o++] = v & 255;
  }
  if (pad) {
    const i = body;
    const a = code(i), b = code(i + 1);
    const c = pad === 1 ? code(i + 2) : 0;
    // Unused bits of the last group are ignored, as RFC 4648 decoders commonly do.
    out[o++] = (a << 2) | (b >> 4);
    if (pad === 1) out[o++] = ((b & 15) << 4) | (c >> 2);
  }
  return out;
}
