// Text coder `deflate` (ID 1, SPEC.md §7.3): the canonical deflater and the
// decoder that checks a block is exactly its output.
import { fail } from '../errors.js';
import { inflate, LENGTH_BASE, LENGTH_EXTRA, DIST_BASE, DIST_EXTRA } from './inflate.js';
import { splitFramed, frame, TEXT_LIMIT } from './framing.js';

class LsbWriter {
  constructor() { this.out = []; this.buf = 0; this.n = 0; }
  bits(v, n) { // v's n low bits, least significant first
    for (let i = 0; i < n; i++) {
      this.buf |= ((v >>> i) & 1) << this.n;
      if (++this.n === 8) { this.out.push(this.buf); this.buf = 0; this.n = 0; }
    }
  }
  huff(code, len) { for (let i = len - 1; i >= 0; i--) this.bits((code >>> i) & 1, 1); } // MSB first
  finish() { if (this.n) this.out.push(this.buf); return Uint8Array.from(this.out); }
}

function putLiteral(w, s) {
  if (s < 144) w.huff(0x30 + s, 8);
  else if (s < 256) w.huff(0x190 + s - 144, 9);
  else if (s < 280) w.huff(s - 256, 7);
  else w.huff(0xc0 + s - 280, 8);
}

function putMatch(w, len, dist) {
  let c = 28;
  while (LENGTH_BASE[c] > len) c--;
  putLiteral(w, 257 + c);
  w.bits(len - LENGTH_BASE[c], LENGTH_EXTRA[c]);
  let d = 29;
  while (DIST_BASE[d] > dist) d--;
  w.huff(d, 5);
  w.bits(dist - DIST_BASE[d], DIST_EXTRA[d]);
}

// The canonical deflater: greedy parse, at most 32 nearest candidates of equal
// 3-byte prefix within 32768 bytes, longest match, nearest among equals.
export function canonicalDeflate(t) {
  const n = t.length;
  const w = new LsbWriter();
  w.bits(1, 1); w.bits(1, 2); // BFINAL = 1, BTYPE = 01
  const head = new Map(); // 3-byte key -> last position with that prefix
  const prev = new Int32Array(n).fill(-1);
  let inserted = 0;
  const insertUpTo = (limit) => { // insert positions < limit
    for (; inserted < limit; inserted++) {
      if (inserted + 3 > n) continue;
      const key = (t[inserted] << 16) | (t[inserted + 1] << 8) | t[inserted + 2];
      const h = head.get(key);
      prev[inserted] = h === undefined ? -1 : h;
      head.set(key, inserted);
    }
  };
  let i = 0;
  while (i < n) {
    insertUpTo(i);
    let bestLen = 0, bestDist = 0;
    if (i + 3 <= n) {
      const maxLen = Math.min(258, n - i);
      const key = (t[i] << 16) | (t[i + 1] << 8) | t[i + 2];
      let p = head.get(key);
      if (p === undefined) p = -1;
      for (let c = 0; c < 32 && p >= 0 && i - p <= 32768; c++, p = prev[p]) {
        // A candidate can only win if it is strictly longer: check the byte at bestLen first.
        if (bestLen >= 3 && (bestLen >= maxLen || t[p + bestLen] !== t[i + bestLen])) continue;
        let l = 3;
        while (l < maxLen && t[p + l] === t[i + l]) l++;
        if (l > bestLen) { bestLen = l; bestDist = i - p; if (l === maxLen) break; }
      }
    }
    if (bestLen >= 3) { putMatch(w, bestLen, bestDist); i += bestLen; }
    else { putLiteral(w, t[i]); i++; }
  }
  putLiteral(w, 256);
  return w.finish();
}

export function decode(block, n, base = 0) {
  const { out, end } = inflate(block, TEXT_LIMIT, base);
  if (end !== block.length) fail('E_TEXT_CORRUPT', `${block.length - end} bytes after the end of the DEFLATE stream`, base + end);
  const strings = splitFramed(out, n, base);
  const again = canonicalDeflate(out);
  if (again.length !== block.length || again.some((b, k) => b !== block[k]))
    fail('E_NONCANONICAL', 'DEFLATE stream is not the canonical deflater\'s output', base);
  return strings;
}

export function encode(strings) { return canonicalDeflate(frame(strings)); }
