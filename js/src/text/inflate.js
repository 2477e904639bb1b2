// Raw DEFLATE decoder (RFC 1951) that judges streams as zlib's inflate does
// (SPEC.md §7.3): the same codes are accepted and refused. Rules taken from
// zlib: HLIT > 286 or HDIST > 30 is refused when the header is read; a code
// length code must be complete; a literal/length or distance code may be
// incomplete only when it is a single code of length 1 (an all-zero distance
// code is allowed until a distance is needed); symbol 256 must have a code;
// length code 284 with extra bits 31 (length 258) is accepted; fixed-code
// symbols 286, 287 and distance codes 30, 31 are invalid; a distance beyond
// the output so far is invalid. Output beyond `limit` stops decoding.
import { AigifError } from '../errors.js';

const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CLORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

export const LENGTH_BASE = LBASE, LENGTH_EXTRA = LEXT, DIST_BASE = DBASE, DIST_EXTRA = DEXT;

class Corrupt extends Error {}
class Limit extends Error {}

// A canonical Huffman code in the counts/symbols form of zlib's puff.c.
function buildCode(lengths, kind) {
  const count = new Uint16Array(16);
  let max = 0;
  for (const l of lengths) { count[l]++; if (l > max) max = l; }
  count[0] = 0;
  let left = 1;
  for (let len = 1; len <= 15; len++) {
    left = left * 2 - count[len];
    if (left < 0) throw new Corrupt('over-subscribed code');
  }
  if (max === 0) return { count, symbol: new Uint16Array(0) }; // no codes: any use is invalid
  if (left > 0 && (kind === 'codes' || max !== 1)) throw new Corrupt('incomplete code');
  const offs = new Uint16Array(16);
  for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len];
  const symbol = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) if (lengths[s]) symbol[offs[lengths[s]]++] = s;
  return { count, symbol };
}

let FIXED = null;
function fixedCodes() {
  if (!FIXED) {
    const l = new Array(288);
    for (let i = 0; i < 288; i++) l[i] = i < 144 ? 8 : i < 256 ? 9 : i < 280 ? 7 : 8;
    FIXED = { lit: buildCode(l, 'lens'), dist: buildCode(new Array(32).fill(5), 'dists') };
  }
  return FIXED;
}

// Returns { out: Uint8Array, end: index of the byte after the final block }.
// Throws AigifError E_TEXT_CORRUPT / E_TEXT_LIMIT with `offset`.
export function inflate(data, limit, offset = 0) {
  let pos = 0, bitbuf = 0, bitcnt = 0;
  const out = new Uint8Array(limit);
  let outLen = 0;
  const bits = (need) => {
    let val = bitbuf;
    while (bitcnt < need) {
      if (pos >= data.length) throw new Corrupt('stream ends early');
      val |= data[pos++] << bitcnt;
      bitcnt += 8;
    }
    bitbuf = val >>> need;
    bitcnt -= need;
    return val & ((1 << need) - 1);
  };
  const decode = (h) => {
    let code = 0, first = 0, index = 0;
    for (let len = 1; len <= 15; len++) {
      code |= bits(1);
      const count = h.count[len];
      if (code - count < first) return h.symbol[index + (code - first)];
      index += count; first += count; first <<= 1; code <<= 1;
    }
    throw new Corrupt('invalid code');
  };
  const put = (b) => {
    if (outLen >= limit) throw new Limit();
    out[outLen++] = b;
  };
  const codes = (lit, dist) => {
    for (;;) {
      let sym = decode(lit);
      if (sym < 256) put(sym);
      else if (sym === 256) return;
      else {
        sym -= 257;
        if (sym >= 29) throw new Corrupt('invalid literal/length code');
        const len = LBASE[sym] + bits(LEXT[sym]);
        const ds = decode(dist);
        if (ds >= 30) throw new Corrupt('invalid distance code');
        const d = DBASE[ds] + bits(DEXT[ds]);
        if (d > outLen) throw new Corrupt('invalid distance too far back');
        for (let k = 0; k < len; k++) put(out[outLen - d]);
      }
    }
  };
  try {
    let last;
    do {
      last = bits(1);
      const type = bits(2);
      if (type === 0) {
        bitbuf = 0; bitcnt = 0; // skip to the byte boundary (zlib does not check these bits)
        if (pos + 4 > data.length) throw new Corrupt('stream ends early');
        const len = data[pos] | (data[pos + 1] << 8);
        const nlen = data[pos + 2] | (data[pos + 3] << 8);
        pos += 4;
        if (len !== (~nlen & 0xffff)) throw new Corrupt('invalid stored block lengths');
        for (let k = 0; k < len; k++) {
          if (pos >= data.length) throw new Corrupt('stream ends early');
          put(data[pos++]);
        }
      } else if (type === 1) {
        const f = fixedCodes();
        codes(f.lit, f.dist);
      } else if (type === 2) {
        const nlen = bits(5) + 257, ndist = bits(5) + 1, ncode = bits(4) + 4;
        if (nlen > 286 || ndist > 30) throw new Corrupt('too many length or distance symbols');
        const cl = new Array(19).fill(0);
        for (let i = 0; i < ncode; i++) cl[CLORDER[i]] = bits(3);
        const lencode = buildCode(cl, 'codes');
        const lengths = new Array(nlen + ndist).fill(0);
        for (let i = 0; i < nlen + ndist;) {
          let sym = decode(lencode);
          if (sym < 16) { lengths[i++] = sym; continue; }
          let len = 0, rep;
          if (sym === 16) {
            if (i === 0) throw new Corrupt('invalid bit length repeat');
            len = lengths[i - 1]; rep = 3 + bits(2);
          } else if (sym === 17) rep = 3 + bits(3);
          else rep = 11 + bits(7);
          if (i + rep > nlen + ndist) throw new Corrupt('invalid bit length repeat');
          while (rep--) lengths[i++] = len;
        }
        if (lengths[256] === 0) throw new Corrupt('missing end-of-block code');
        const lit = buildCode(lengths.slice(0, nlen), 'lens');
        const dist = buildCode(lengths.slice(nlen), 'dists');
        codes(lit, dist);
      } else throw new Corrupt('invalid block type');
    } while (!last);
  } catch (e) {
    if (e instanceof Limit) throw new AigifError('E_TEXT_LIMIT', `text inflates past the limit of ${limit} bytes`, offset);
    if (e instanceof Corrupt) throw new AigifError('E_TEXT_CORRUPT', `invalid DEFLATE stream: ${e.message}`, offset);
    throw e;
  }
  return { out: out.subarray(0, outLen), end: pos };
}
