// Text coder `prompt` (ID 2): SPEC.md §7.4 and Appendix E — a static-model
// range coder over word-level symbols, with the canonicality checks of E.7.
import { AigifError, fail } from '../errors.js';
import { sha256, toHex, utf8Encode } from '../util.js';
import registryData from '../registry_data.js';
import { TEXT_LIMIT } from './framing.js';

export const MODEL_SHA256 = registryData.tables.text_coders.find((e) => e.key === 'prompt').model_sha256;

// ------------------------------------------------------------------ model (E.2)
class Table {
  constructor(ids, freqs) {
    const n = ids.length;
    this.ids = Int32Array.from(ids);
    this.freq = Uint32Array.from(freqs);
    this.cum = new Uint32Array(n + 1);
    for (let k = 0; k < n; k++) this.cum[k + 1] = this.cum[k] + freqs[k];
    this.total = this.cum[n];
  }
  indexOf(id) { // binary search over the sorted ids; -1 if absent
    let lo = 0, hi = this.ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1, v = this.ids[mid];
      if (v === id) return mid;
      if (v < id) lo = mid + 1; else hi = mid - 1;
    }
    return -1;
  }
  // Index of the entry k in [a, z) with cum[k] - base <= v < cum[k+1] - base.
  find(v, a, z, base) {
    let lo = a, hi = z - 1;
    const target = v + base;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.cum[mid] <= target) lo = mid; else hi = mid - 1;
    }
    return lo;
  }
}

class ModelReader {
  constructor(b) { this.b = b; this.pos = 0; }
  uvar() {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      if (this.pos >= this.b.length) throw new Error('model file ends early');
      const x = this.b[this.pos++];
      v += (x & 0x7f) * 2 ** (7 * i);
      if (!(x & 0x80)) {
        if (x === 0 && i > 0) throw new Error('non-minimal uvar in model file');
        return v;
      }
    }
    throw new Error('uvar over 4 bytes in model file');
  }
  bytes(n) {
    if (this.pos + n > this.b.length) throw new Error('model file ends early');
    const s = this.b.subarray(this.pos, this.pos + n); this.pos += n; return s;
  }
  table() {
    const n = this.uvar(), ids = new Array(n), freqs = new Array(n);
    let id = -1;
    for (let k = 0; k < n; k++) {
      id = id + this.uvar() + 1; ids[k] = id;
      freqs[k] = this.uvar();
      if (freqs[k] < 1) throw new Error('zero frequency in model table');
    }
    const t = new Table(ids, freqs);
    if (t.total > 65536 || t.total < 1) throw new Error('model table total outside 1..65536');
    return t;
  }
}

const td = new TextDecoder('utf-8', { fatal: true });

export class PromptModel {
  constructor(bytes) {
    const r = new ModelReader(bytes);
    if (td.decode(r.bytes(8)) !== 'AIGIFTXT' || r.bytes(1)[0] !== 1) throw new Error('not an AIGIFTXT version 1 model');
    const nOther = r.uvar();
    this.others = [];
    for (let i = 0; i < nOther; i++) this.others.push(td.decode(r.bytes(r.uvar())));
    const nWords = r.uvar();
    this.words = [];
    let prev = '';
    for (let i = 0; i < nWords; i++) {
      const keep = r.uvar(), tail = td.decode(r.bytes(r.uvar()));
      if (keep > prev.length) throw new Error('front coding keeps more than the previous word');
      prev = prev.slice(0, keep) + tail;
      this.words.push(prev);
    }
    const nBuckets = r.uvar();
    this.nTop = r.uvar();
    this.bucketSize = [];
    this.bucketStart = [];
    let start = this.nTop;
    for (let i = 0; i < nBuckets; i++) {
      const s = r.uvar();
      if (s < 1 || s > 65536) throw new Error('bucket size outside 1..65536');
      this.bucketStart.push(start); this.bucketSize.push(s); start += s;
    }
    if (start !== nWords) throw new Error('buckets do not cover the words');
    this.EOS = 0; this.ESC_OTHER = 1; this.ESC_OTHER_SP = 2;
    this.BACKOFF = 3 + nOther; this.ESC_WORD = this.BACKOFF + 1; this.FIRST_WORD = this.BACKOFF + 2;
    this.FIRST_BUCKET = this.FIRST_WORD + nWords; this.FIRST_MOD = this.FIRST_BUCKET + nBuckets;
    this.BOS = this.FIRST_MOD + 5;
    this.order0 = r.table();
    this.ctx1 = new Map();
    let c = -1;
    for (let i = 0, n = r.uvar(); i < n; i++) { c = c + r.uvar() + 1; this.ctx1.set(c, r.table()); }
    this.ctx2 = new Map();
    for (let i = 0, n = r.uvar(); i < n; i++) { const p2 = r.uvar(), p1 = r.uvar(); this.ctx2.set(p2 * 2 ** 20 + p1, r.table()); }
    this.letters = [];
    for (let i = 0; i < 27; i++) this.letters.push(r.table());
    this.cpclass = r.table();
    if (r.pos !== bytes.length) throw new Error('trailing bytes after the model');
    this.otherIndex = new Map(this.others.map((t, i) => [t, 3 + i]));
    this.wordIndex = new Map(this.words.map((w, i) => [w, i]));
    // Per table: first class-W entry a and first class-M entry z (E.5 restricted coding).
    for (const t of [this.order0, ...this.ctx1.values(), ...this.ctx2.values()]) {
      let a = 0; while (a < t.ids.length && t.ids[a] < this.BACKOFF) a++;
      let z = a; while (z < t.ids.length && t.ids[z] < this.FIRST_MOD) z++;
      t.a = a; t.z = z;
    }
  }
  ctx2Of(p2, p1) { return p2 === null ? undefined : this.ctx2.get(p2 * 2 ** 20 + p1); }
  chain(p2, p1) {
    const ch = [];
    const t2 = this.ctx2Of(p2, p1); if (t2) ch.push(t2);
    const t1 = this.ctx1.get(p1); if (t1) ch.push(t1);
    return ch;
  }
  isMod(s) { return s >= this.FIRST_MOD && s < this.FIRST_MOD + 5; }
}

const cache = new WeakMap();
// Parse a model file after checking its SHA-256 against the registry (E.10:
// the model is part of the format). A missing or wrong model is E_UNSUPPORTED (§16).
export function loadPromptModel(bytes) {
  if (bytes instanceof PromptModel) return bytes;
  if (!(bytes instanceof Uint8Array)) fail('E_UNSUPPORTED', 'prompt coder model not given');
  const hit = cache.get(bytes);
  if (hit) return hit;
  if (toHex(sha256(bytes)) !== MODEL_SHA256) fail('E_UNSUPPORTED', 'prompt coder model file does not match its SHA-256');
  let m;
  try { m = new PromptModel(bytes); } catch (e) { fail('E_UNSUPPORTED', `prompt coder model file is corrupted: ${e.message}`); }
  cache.set(bytes, m);
  return m;
}

let defaultLoader = null;
let defaultModel = null;
// The node entry point installs a loader that reads the model file; browsers pass bytes.
export function setDefaultPromptModel(modelOrLoader) {
  if (typeof modelOrLoader === 'function') { defaultLoader = modelOrLoader; defaultModel = null; }
  else { defaultModel = modelOrLoader ? loadPromptModel(modelOrLoader) : null; defaultLoader = null; }
}
function modelFrom(options) {
  if (options && options.promptModel) return loadPromptModel(options.promptModel);
  if (!defaultModel && defaultLoader) defaultModel = loadPromptModel(defaultLoader());
  if (!defaultModel) fail('E_UNSUPPORTED', 'the prompt text coder needs its model file (options.promptModel)');
  return defaultModel;
}

// ------------------------------------------------------------------ tokeniser (E.4)
const PIECE = / ?(?:[a-z]+|[A-Z][a-z]+|[A-Z]+(?![a-z])|[0-9]|[^ A-Za-z0-9])| /gu;
const MOD = { NOSP: 0, CAP: 1, UPPER: 2, NOSP_CAP: 3, NOSP_UPPER: 4 };

// Symbols of one string: [sym] or [ESC_WORD, word] or [ESC_OTHER(_SP), codepoint]; ends with EOS.
export function tokenize(m, s) {
  const out = [];
  if (s === '') return out;
  const t = ' ' + s;
  for (const piece of t.match(PIECE)) {
    const sp = piece[0] === ' ';
    const core = sp ? piece.slice(1) : piece;
    const c0 = core.charCodeAt(0);
    const isLetter = core.length > 0 && ((c0 >= 97 && c0 <= 122) || (c0 >= 65 && c0 <= 90));
    if (isLetter) {
      const lower = core.toLowerCase();
      let cls;
      if (core === lower) cls = 'lower';
      else if (core.length >= 2 && core === core.toUpperCase()) cls = 'upper';
      else cls = 'cap';
      let mod = null;
      if (sp) mod = cls === 'cap' ? MOD.CAP : cls === 'upper' ? MOD.UPPER : null;
      else mod = cls === 'lower' ? MOD.NOSP : cls === 'cap' ? MOD.NOSP_CAP : MOD.NOSP_UPPER;
      if (mod !== null) out.push([m.FIRST_MOD + mod]);
      const wi = m.wordIndex.get(lower);
      out.push(wi === undefined ? [m.ESC_WORD, lower] : [m.FIRST_WORD + wi]);
    } else {
      const o = m.otherIndex.get(piece);
      if (o !== undefined) out.push([o]);
      else out.push([sp ? m.ESC_OTHER_SP : m.ESC_OTHER, core.codePointAt(0)]);
    }
  }
  out.push([m.EOS]);
  return out;
}

// ------------------------------------------------------------------ range encoder (E.6)
class Encoder {
  constructor() { this.low = 0; this.range = 0xffffffff; this.out = []; }
  carry() {
    let i = this.out.length - 1;
    while (this.out[i] === 0xff) { this.out[i] = 0; i--; }
    this.out[i]++;
  }
  put(cum, freq, total) {
    const r = Math.floor(this.range / total);
    this.low += r * cum;
    this.range = r * freq;
    if (this.low >= 2 ** 32) { this.low -= 2 ** 32; this.carry(); }
    while (this.range < 2 ** 24) {
      this.out.push(Math.floor(this.low / 2 ** 24));
      this.low = (this.low % 2 ** 24) * 256;
      this.range *= 256;
    }
  }
  finish() {
    if (this.low + this.range > 2 ** 32) this.carry();
    else if (this.low !== 0) this.out.push(Math.floor((this.low + 0xffffff) / 2 ** 24));
    let n = this.out.length;
    while (n > 0 && this.out[n - 1] === 0) n--;
    return Uint8Array.from(this.out.slice(0, n));
  }
}

function putEntry(enc, t, k, restricted) {
  if (restricted) enc.put(t.cum[k] - t.cum[t.a], t.freq[k], t.cum[t.z] - t.cum[t.a]);
  else enc.put(t.cum[k], t.freq[k], t.total);
}

function symbolIn(m, t, s) { // E.2 model validity guarantees presence where the spec relies on it
  const k = t.indexOf(s);
  if (k < 0) throw new Error(`symbol ${s} missing from a model table`);
  return k;
}

export function encode(strings, options = {}) {
  const m = modelFrom(options);
  for (const s of strings) utf8Encode(s); // refuses lone surrogates (E_UTF8)
  return encodeSymbols(m, strings.map((s) => tokenize(m, s)));
}

// Range-codes one symbol sequence per string (E.5, E.6), as `tokenize` gives
// them; exposed so that tests can build non-canonical streams.
export function encodeSymbols(m, lists) {
  const enc = new Encoder();
  lists.forEach((list, i) => {
    let p1 = m.BOS + Math.min(i, 2), p2 = null, restricted = false;
    const syms = list.length ? list : [[m.EOS]];
    for (const [sym, payload] of syms) {
      let coded = false;
      for (const t of m.chain(p2, p1)) {
        const k = t.indexOf(sym);
        if (k >= 0) { putEntry(enc, t, k, restricted); coded = true; break; }
        putEntry(enc, t, symbolIn(m, t, m.BACKOFF), restricted);
      }
      if (!coded) {
        const t = m.order0, wi = sym - m.FIRST_WORD;
        if (wi >= m.nTop && sym < m.FIRST_BUCKET) {
          let b = m.bucketStart.length - 1;
          while (m.bucketStart[b] > wi) b--;
          putEntry(enc, t, symbolIn(m, t, m.FIRST_BUCKET + b), restricted);
          enc.put(wi - m.bucketStart[b], 1, m.bucketSize[b]);
        } else putEntry(enc, t, symbolIn(m, t, sym), restricted);
      }
      if (m.isMod(sym)) { restricted = true; continue; }
      if (sym === m.ESC_WORD) {
        let prev = 0;
        for (let j = 0; j < payload.length; j++) {
          const c = payload.charCodeAt(j) - 96;
          const lt = m.letters[prev];
          putEntry(enc, lt, symbolIn(m, lt, c), false);
          prev = c;
        }
        putEntry(enc, m.letters[prev], symbolIn(m, m.letters[prev], 0), false);
      } else if (sym === m.ESC_OTHER || sym === m.ESC_OTHER_SP) {
        const u = payload;
        const k = u < 0x80 ? 0 : u < 0x800 ? 1 : u < 0x10000 ? 2 : 3;
        putEntry(enc, m.cpclass, symbolIn(m, m.cpclass, k), false);
        const [base, size] = CP_CLASSES[k];
        if (k < 3) enc.put(u - base, 1, size);
        else { enc.put((u - base) >> 10, 1, 1024); enc.put((u - base) & 1023, 1, 1024); }
      }
      if (sym === m.EOS) break;
      restricted = false; p2 = p1; p1 = sym;
    }
  });
  return enc.finish();
}

const CP_CLASSES = [[0, 0x80], [0x80, 0x780], [0x800, 0xf800], [0x10000, 0x100000]];

// ------------------------------------------------------------------ decoder (E.6–E.8)
class Corrupt extends Error {}
class Noncanonical extends Error {}
class Limit extends Error {}

export function decode(block, count, base = 0, options = {}) {
  const m = modelFrom(options);
  try {
    const strings = decodeStrings(m, block, count, TEXT_LIMIT);
    // §7.4: the framed-text limit of §7.1 applies too. The reference checks it
    // after the whole block decoded (E.7 checks included), on the framed size.
    let framed = 0;
    for (const s of strings) { const n = utf8Encode(s).length; framed += n + uvarintLength(n); }
    if (framed > TEXT_LIMIT) throw new Limit();
    return strings;
  } catch (e) {
    if (e instanceof Corrupt) fail('E_TEXT_CORRUPT', `prompt coder: ${e.message}`, base);
    if (e instanceof Noncanonical) fail('E_NONCANONICAL', `prompt coder: ${e.message}`, base);
    if (e instanceof Limit) fail('E_TEXT_LIMIT', `prompt coder: decoded text over the limit of ${TEXT_LIMIT} bytes`, base);
    throw e;
  }
}

function decodeStrings(m, data, count, limit) {
  // E.7 check 1, before anything is decoded.
  if (data.length > 0 && data[data.length - 1] === 0) throw new Noncanonical('data ends with a 0x00 byte');
  const byte = (i) => (i < data.length ? data[i] : 0);
  let code = byte(0) * 2 ** 24 + byte(1) * 65536 + byte(2) * 256 + byte(3);
  let pos = 4, range = 0xffffffff, low = 0, r = 0;
  const get = (total) => {
    r = Math.floor(range / total);
    const v = Math.floor(code / r);
    if (v >= total) throw new Corrupt('code value outside its table');
    return v;
  };
  const consume = (cum, freq) => {
    code -= r * cum; low = (low + r * cum) % 2 ** 32; range = r * freq;
    while (range < 2 ** 24) {
      code = code * 256 + byte(pos); pos++;
      low = (low % 2 ** 24) * 256; range *= 256;
    }
  };
  const getEntry = (t, restricted) => {
    if (restricted) {
      const cb = t.cum[t.a];
      const v = get(t.cum[t.z] - cb);
      const k = t.find(v, t.a, t.z, cb);
      consume(t.cum[k] - cb, t.freq[k]);
      return k;
    }
    const k = t.find(get(t.total), 0, t.ids.length, 0);
    consume(t.cum[k], t.freq[k]);
    return k;
  };
  const uniform = (n) => { const v = get(n); consume(v, 1); return v; };

  let totalBytes = 0;
  const strings = [];
  for (let i = 0; i < count; i++) {
    let p1 = m.BOS + Math.min(i, 2), p2 = null, restricted = false, mod = null;
    const pieces = [];
    const syms = [];
    let first = true;
    const addPiece = (text) => {
      if (first) {
        if (text[0] !== ' ') throw new Noncanonical('the first piece of a string does not start with a space');
        totalBytes -= 1; // the implied space is not counted
        first = false;
      }
      totalBytes += utf8Encode(text).length;
      if (totalBytes > limit) throw new Limit();
      pieces.push(text);
    };
    for (;;) {
      // One main symbol along the chain; BACKOFF moves to the next table.
      const backedOff = [];
      let sym = -1;
      for (const t of m.chain(p2, p1)) {
        const s = t.ids[getEntry(t, restricted)];
        if (s !== m.BACKOFF) { sym = s; break; }
        backedOff.push(t);
      }
      if (sym < 0) {
        sym = m.order0.ids[getEntry(m.order0, restricted)];
        if (sym === m.BACKOFF) throw new Corrupt('BACKOFF in the order-0 table');
        if (sym >= m.FIRST_BUCKET && sym < m.FIRST_MOD) {
          const b = sym - m.FIRST_BUCKET;
          sym = m.FIRST_WORD + m.bucketStart[b] + uniform(m.bucketSize[b]);
        }
      }
      if (sym >= m.BOS) throw new Corrupt('a BOS symbol was decoded');
      // E.7 check 2: the encoder would have coded it in a table it backed off from.
      for (const t of backedOff) if (t.indexOf(sym) >= 0) throw new Noncanonical('symbol coded after BACKOFF from a table that contains it');
      if (m.isMod(sym)) {
        if (mod !== null) throw new Corrupt('two modifiers in a row');
        mod = sym - m.FIRST_MOD; restricted = true; syms.push([sym]); continue;
      }
      if (sym === m.EOS) { syms.push([sym]); break; }
      let payload;
      if (sym === m.ESC_WORD) {
        let prev = 0, w = '';
        const lead = mod === null || mod === MOD.CAP || mod === MOD.UPPER ? ' ' : '';
        for (;;) {
          const lt = m.letters[prev];
          const c = lt.ids[getEntry(lt, false)];
          if (c === 0) break;
          w += String.fromCharCode(96 + c);
          // E.8: the running total is checked after every letter
          const implied = first && lead === ' ' ? 1 : 0;
          if (totalBytes + lead.length - implied + w.length > limit) throw new Limit();
          prev = c;
        }
        payload = w;
        addPiece(lead + applyCase(w, mod));
      } else if (sym >= m.FIRST_WORD && sym < m.FIRST_BUCKET) {
        const w = m.words[sym - m.FIRST_WORD];
        const lead = mod === null || mod === MOD.CAP || mod === MOD.UPPER ? ' ' : '';
        addPiece(lead + applyCase(w, mod));
      } else if (sym === m.ESC_OTHER || sym === m.ESC_OTHER_SP) {
        const k = m.cpclass.ids[getEntry(m.cpclass, false)];
        const [cpBase, size] = CP_CLASSES[k];
        let u;
        if (k < 3) u = cpBase + uniform(size);
        else { const hi = uniform(1024); u = cpBase + hi * 1024 + uniform(1024); }
        if (u >= 0xd800 && u <= 0xdfff) throw new Corrupt('a surrogate code point');
        payload = u;
        addPiece((sym === m.ESC_OTHER_SP ? ' ' : '') + String.fromCodePoint(u));
      } else if (sym >= 3 && sym < m.BACKOFF) {
        addPiece(m.others[sym - 3]);
      } else throw new Corrupt(`symbol ${sym} cannot be coded here`);
      syms.push(payload === undefined ? [sym] : [sym, payload]);
      mod = null; restricted = false; p2 = p1; p1 = sym;
    }
    const text = pieces.join('').slice(pieces.length ? 1 : 0);
    // E.7 check 4 at the end of each string (E.1 places it after the last
    // string; the reference checks each string at its EOS, before decoding the next).
    const want = tokenize(m, text);
    if (want.length === 0) want.push([m.EOS]); // an empty string is [EOS] on the wire
    if (syms.length !== want.length || syms.some((x, k) => x[0] !== want[k][0] || x[1] !== want[k][1]))
      throw new Noncanonical('the decoded symbols are not the tokenisation of the decoded string');
    strings.push(text);
  }
  // E.7 check 5.
  let expected;
  if (low === 0) expected = 0;
  else if (low + range > 2 ** 32) expected = 2 ** 32 - low;
  else expected = Math.ceil(low / 2 ** 24) * 2 ** 24 - low;
  if (code !== expected || data.length > pos) throw new Noncanonical('the data is not the shortest tail of the final interval');
  return strings;
}

function uvarintLength(n) { let k = 1; while (n >= 128) { n = Math.floor(n / 128); k++; } return k; }

function applyCase(w, mod) {
  if (mod === MOD.CAP || mod === MOD.NOSP_CAP) return w[0].toUpperCase() + w.slice(1);
  if (mod === MOD.UPPER || mod === MOD.NOSP_UPPER) return w.toUpperCase();
  return w;
}
