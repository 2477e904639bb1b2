// Reading and writing whole files: container (§4), core (§5), sections (§6),
// text block (§7), in the order of checks of §9, to and from the JSON form of §17.
import { AigifError, fail } from './errors.js';
import { registry as defaultRegistry } from './registry.js';
import {
  BitReader, BitWriter, readUvarint, writeUvarint, readExpcodeBytes, writeExpcodeBytes,
  readDec, writeDec, readSeed, writeSeed,
} from './bits.js';
import { crc32, sha256, toHex, fromHex, toBase64, fromBase64, utf8Decode, utf8Encode } from './util.js';
import * as textNone from './text/none.js';
import * as textDeflate from './text/deflate.js';
import * as textPrompt from './text/prompt.js';

const MAGIC = [0x41, 0x49, 0x47];
const MAX_BODY = 2n ** 32n - 1n;
const MAX_PIXELS = 256n * 1024n * 1024n;
const MAX_MODEL = 2n * 1024n * 1024n * 1024n;
const MAX_EXTENSIONS = 32n;
const MAX_INLINE_STR = 65536;
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const num = (b) => (b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);

// ---------------------------------------------------------------- container
function readContainer(b) {
  if (b.length < 3) {
    const prefix = b.length > 0 && [...b].every((x, i) => x === MAGIC[i]);
    fail(prefix ? 'E_TRUNCATED' : 'E_MAGIC', prefix ? 'file ends inside the magic' : 'not an AIGIF file', 0);
  }
  if (b[0] !== MAGIC[0] || b[1] !== MAGIC[1] || b[2] !== MAGIC[2]) fail('E_MAGIC', 'not an AIGIF file: the first bytes are not "AIG"', 0);
  if (b.length < 4) fail('E_TRUNCATED', 'file ends before the format version', 3);
  if (b[3] !== 1) fail('E_VERSION', `format version ${b[3]}, this decoder reads version 1`, 3);
  const [L, bodyStart] = readUvarint(b, 4, b.length, 0, 'E_TRUNCATED');
  if (L < 1n || L > MAX_BODY) fail('E_LIMIT', `body length ${L} is outside 1 .. 2^32-1`, 4);
  const total = BigInt(bodyStart) + L + 4n;
  if (BigInt(b.length) < total) fail('E_TRUNCATED', `file has ${b.length} bytes; its header says ${total}`, b.length);
  if (BigInt(b.length) > total) fail('E_TRAILING_DATA', `file has ${b.length} bytes; its header says ${total}`, Number(total));
  const bodyEnd = bodyStart + Number(L);
  const stored = (b[bodyEnd] | (b[bodyEnd + 1] << 8) | (b[bodyEnd + 2] << 16) | (b[bodyEnd + 3] << 24)) >>> 0;
  if (crc32(b, 0, bodyEnd) !== stored) fail('E_CHECKSUM', 'CRC-32 mismatch: the file is corrupted', bodyEnd);
  return [bodyStart, bodyEnd];
}

// ---------------------------------------------------------------- fields
function readRef(r, table, reg) {
  const at = r.offset;
  const how = reg.codedAs[table];
  const id = how === 'u4' ? r.u(4) : how === 'ue' ? r.ue() : r.expcode();
  return reg.byId(table, id, at);
}

function writeRef(w, table, key, reg, what) {
  const e = reg.byKey(table, key);
  void what;
  const how = reg.codedAs[table];
  if (how === 'u4') w.u(4, e.id); else if (how === 'ue') w.ue(e.id); else w.expcode(e.id);
  return e;
}

// Reads one registry field descriptor's value (§3.5–§3.9, §8.3); `str` fields
// are inline only in extension bodies (inline = true), else they live in the text block.
function readField(r, d, reg, family) {
  const at = r.offset;
  switch (d.type) {
    case 'uint': {
      const v = r.ue() + d.min;
      if (v > d.max) fail('E_RANGE', `${d.name}: ${v} is above ${d.max}`, at);
      return v;
    }
    case 'dec': return readDec(r, d);
    case 'bool': return r.u(1) === 1;
    case 'ref': {
      const e = readRef(r, d.table, reg);
      if (d.table === 'schedulers' && family && e.kind !== 'any' && e.kind !== family.scheduler_kind)
        fail('E_RANGE', `scheduler ${e.key} (${e.kind}) cannot drive a ${family.scheduler_kind} family`, at);
      return e.key;
    }
    case 'bytes': case 'str': {
      const max = d.type === 'bytes' ? d.max_len : MAX_INLINE_STR;
      const len = r.ue();
      if (len > max) fail('E_RANGE', `${d.name}: length ${len} is above ${max}`, at);
      const out = new Uint8Array(len);
      for (let i = 0; i < len; i++) out[i] = r.u(8);
      return d.type === 'bytes' ? toHex(out) : utf8Decode(out, 0, len, at);
    }
    default: throw new Error(`registry field type ${d.type} is not known`);
  }
}

function badValue(d, v) { fail('E_RANGE', `${d.name}: ${JSON.stringify(String(v))} is not a valid ${d.type} value`); }

function writeField(w, d, v, reg, family) {
  switch (d.type) {
    case 'uint':
      if (!Number.isSafeInteger(v) || v < d.min || v > d.max) badValue(d, v);
      w.ue(v - d.min); return;
    case 'dec':
      if (typeof v !== 'number' || !Number.isFinite(v) || !(v >= d.min && v <= d.max)) badValue(d, v);
      writeDec(w, v); return;
    case 'bool':
      if (typeof v !== 'boolean') badValue(d, v);
      w.u(1, v ? 1 : 0); return;
    case 'ref': {
      const e = writeRef(w, d.table, v, reg);
      if (d.table === 'schedulers' && family && e.kind !== 'any' && e.kind !== family.scheduler_kind)
        fail('E_RANGE', `scheduler ${e.key} (${e.kind}) cannot drive a ${family.scheduler_kind} family`);
      return;
    }
    case 'bytes': case 'str': {
      const bytes = d.type === 'bytes' ? fromHex(v, d.name) : (typeof v === 'string' ? utf8Encode(v) : badValue(d, v));
      const max = d.type === 'bytes' ? d.max_len : MAX_INLINE_STR;
      if (bytes.length > max) fail('E_RANGE', `${d.name}: length ${bytes.length} is above ${max}`);
      w.ue(bytes.length);
      for (const x of bytes) w.u(8, x);
      return;
    }
    default: throw new Error(`registry field type ${d.type} is not known`);
  }
}

// ---------------------------------------------------------------- text coders
const TEXT_CODERS = { none: textNone, deflate: textDeflate, prompt: textPrompt };

function textCoder(key) {
  const c = TEXT_CODERS[key];
  if (!c) fail('E_UNSUPPORTED', `text coder ${key} is not implemented`);
  return c;
}

// ---------------------------------------------------------------- read
export function read(bytes, options = {}) {
  const reg = options.registry || defaultRegistry;
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  const [bodyStart, bodyEnd] = readContainer(b);
  const r = new BitReader(b, bodyStart, bodyEnd);

  // Part 1: compression options
  const savingPixels = r.u(1), savingModel = r.u(1), hasDigest = r.u(1), hasExt = r.u(1);
  const textCoderE = readRef(r, 'text_coders', reg);
  // Part 2: platform
  const device = readRef(r, 'devices', reg);
  const platform = {};
  for (const d of device.fields || []) platform[d.name] = readField(r, d, reg, null);
  // Part 3: generative model
  const model = readRef(r, 'models', reg);
  const family = reg.family(model.family);
  const dtype = readRef(r, 'dtypes', reg);
  const noise = readRef(r, 'noise_sources', reg);
  // Part 4: data configuration
  const g = family.size_multiple;
  const sizeUnit = r.u(1);
  const U = sizeUnit ? 64 : g;
  let at = r.offset;
  const height = (r.ue() + 1) * U;
  if (height < g || height > 16384) fail('E_RANGE', `height ${height} is outside [${g}, 16384]`, at);
  at = r.offset;
  const width = height + r.se() * U;
  if (width < g || width > 16384) fail('E_RANGE', `width ${width} is outside [${g}, 16384]`, at);
  if ((sizeUnit === 1) !== (height % 64 === 0 && width % 64 === 0))
    fail('E_NONCANONICAL', 'size_unit must be 1 exactly when height and width are multiples of 64', at);
  const seed = readSeed(r);
  const strDescs = [];
  const fields = {};
  for (const d of family.fields) {
    if (d.type === 'str') { strDescs.push([fields, d.name]); fields[d.name] = ''; continue; }
    fields[d.name] = readField(r, d, reg, family);
  }
  const modelFields = {};
  for (const d of model.fields || []) {
    if (d.type === 'str') { strDescs.push([modelFields, d.name]); modelFields[d.name] = ''; continue; }
    modelFields[d.name] = readField(r, d, reg, family);
  }
  r.padding();

  // Sections (§6), byte-aligned
  let pos = (r.pos >> 3);
  const need = (n, what, where) => { if (BigInt(bodyEnd - pos) < BigInt(n)) fail('E_OVERRUN', `${what} runs past the end of the body`, where); };
  let digest = null;
  if (hasDigest) {
    need(1, 'digest', pos);
    const L = b[pos];
    if (L !== 8 && L !== 16 && L !== 32) fail('E_RANGE', `digest length ${L} is not 8, 16 or 32`, pos);
    need(1 + L, 'digest', pos);
    digest = toHex(b.subarray(pos + 1, pos + 1 + L));
    pos += 1 + L;
  }
  const extensions = [];
  if (hasExt) {
    const at0 = pos;
    let count;
    [count, pos] = readUvarint(b, pos, bodyEnd);
    if (count === 0n) fail('E_NONCANONICAL', 'an extensions section with no extension', at0);
    if (count > MAX_EXTENSIONS) fail('E_LIMIT', `${count} extensions, the limit is 32`, at0);
    let prev = -1n;
    for (let i = 0; i < Number(count); i++) {
      const tagAt = pos;
      let tag, len;
      [tag, pos] = readUvarint(b, pos, bodyEnd);
      if (tag <= prev) fail('E_EXTENSION_ORDER', `extension tag ${tag} after ${prev}`, tagAt);
      prev = tag;
      const critical = (tag & 1n) === 1n;
      const known = tag <= BigInt(Number.MAX_SAFE_INTEGER) ? reg.extensions.get(Number(tag)) : undefined;
      if (!known && critical) fail('E_UNKNOWN_CRITICAL_EXTENSION', `unknown critical extension ${tag}`, tagAt);
      const lenAt = pos;
      [len, pos] = readUvarint(b, pos, bodyEnd);
      if (len > BigInt(bodyEnd - pos)) fail('E_OVERRUN', `extension ${tag} runs past the end of the body`, lenAt);
      const bodyA = pos, bodyB = pos + Number(len);
      pos = bodyB;
      if (known) {
        const er = new BitReader(b, bodyA, bodyB);
        const ef = {};
        for (const d of known.fields) ef[d.name] = readField(er, d, reg, null);
        er.padding();
        if (er.pos !== er.end) fail('E_OVERRUN', `extension ${known.key} leaves ${(er.end - er.pos) >> 3} bytes unused`, er.offset);
        checkExtensionRules(known, ef, bodyA);
        extensions.push({ tag: num(tag), critical, key: known.key, fields: ef });
      } else {
        extensions.push({ tag: num(tag), critical, raw: toHex(b.subarray(bodyA, bodyB)) });
      }
    }
  }
  // a payload's head (§6.3, §6.4): its table entry's ID, then its length, neither 0 nor over `limit`
  const payloadHead = (table, what, limit, limitText) => {
    const at0 = pos;
    let id, len;
    [id, pos] = readExpcodeBytes(b, pos, bodyEnd);
    const entry = reg.byId(table, id, at0);
    const lenAt = pos;
    [len, pos] = readUvarint(b, pos, bodyEnd);
    if (len === 0n) fail('E_RANGE', `${what} of length 0`, lenAt);
    if (len > limit) fail('E_LIMIT', `${what} of ${len} bytes is over ${limitText}`, lenAt);
    return [entry, len, lenAt];
  };
  let pixels = null;
  if (savingPixels) {
    const [codec, len, lenAt] = payloadHead('pixel_codecs', 'pixel payload', MAX_PIXELS, '256 MiB');
    need(len, 'pixel payload', lenAt);
    const data = b.subarray(pos, pos + Number(len));
    if (codec.key === 'png') checkPngHeader(data, width, height, pos);
    pixels = { codec: codec.key, data: toBase64(data) };
    pos += Number(len);
  }
  let modelPayload = null;
  if (savingModel) {
    const [comp, len, lenAt] = payloadHead('model_compressors', 'model payload', MAX_MODEL, '2 GiB');
    need(32, 'model payload SHA-256', pos);
    const hash = b.subarray(pos, pos + 32);
    pos += 32;
    need(len, 'model payload', lenAt);
    const data = b.subarray(pos, pos + Number(len));
    if (comp.key === 'none' && toHex(sha256(data)) !== toHex(hash))
      fail('E_PAYLOAD', 'model payload does not match its SHA-256', pos);
    modelPayload = { compressor: comp.key, sha256: toHex(hash), data: toBase64(data) };
    pos += Number(len);
  }

  // Text block (§7)
  const n = 2 + strDescs.length;
  const block = b.subarray(pos, bodyEnd);
  const strings = textCoder(textCoderE.key).decode(block, n, pos, options);
  strDescs.forEach(([obj, name], i) => { obj[name] = strings[2 + i]; });

  return {
    format: 'aigif', version: 1, text_coder: textCoderE.key, device: device.key, platform,
    model: model.key, dtype: dtype.key, noise: noise.key, height, width, seed,
    prompt: strings[0], negative_prompt: strings[1], fields, model_fields: modelFields,
    digest, extensions, pixels, model_payload: modelPayload,
  };
}

// §6.2.3 registry rules on extension values, after the body is read: a field
// with `when` holds its default unless the named field has a listed value
// (E_RANGE); a `not_all_default` extension is not all defaults (E_NONCANONICAL).
function checkExtensionRules(known, values, at) {
  for (const d of known.fields) {
    if (d.when && !d.when.in.includes(values[d.when.field]) && values[d.name] !== d.default)
      fail('E_RANGE', `extension ${known.key}: ${d.name} must be ${JSON.stringify(d.default)} unless ${d.when.field} is ${d.when.in.join(' or ')}`, at);
  }
  if (known.not_all_default && known.fields.every((d) => values[d.name] === d.default))
    fail('E_NONCANONICAL', `extension ${known.key} with every field at its default (its absence says the same)`, at);
}

// §6.3: the PNG signature, a complete IHDR of length 13, 8-bit RGB without
// interlace, then the size equal to the file's; every failure is E_PAYLOAD.
function checkPngHeader(d, width, height, at) {
  const bad = (why) => fail('E_PAYLOAD', `PNG payload: ${why}`, at);
  if (d.length < 33 || PNG_SIG.some((x, i) => d[i] !== x)) bad('no PNG signature and complete IHDR chunk');
  const u32 = (o) => ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
  if (u32(8) !== 13 || d[12] !== 0x49 || d[13] !== 0x48 || d[14] !== 0x44 || d[15] !== 0x52) bad('the first chunk is not an IHDR of length 13');
  if (d[24] !== 8 || d[25] !== 2 || d[28] !== 0) bad('not 8-bit RGB, non-interlaced');
  if (u32(16) !== width || u32(20) !== height) bad(`image is ${u32(16)}x${u32(20)}, the file says ${width}x${height}`);
}

export function validate(bytes, options = {}) {
  try {
    read(bytes, options);
    return { valid: true, code: null, offset: null, message: null };
  } catch (e) {
    if (e instanceof AigifError) return { valid: false, code: e.code, offset: e.offset, message: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------- write
function seedOf(v) {
  let s;
  if (typeof v === 'bigint') s = v;
  else if (typeof v === 'number' && Number.isSafeInteger(v)) s = BigInt(v);
  else if (typeof v === 'string' && /^[0-9]+$/.test(v)) s = BigInt(v);
  else fail('E_RANGE', 'seed must be an unsigned integer');
  if (s < 0n || s >= 2n ** 64n) fail('E_RANGE', 'seed is outside 0 .. 2^64-1');
  return s;
}

function member(obj, key) {
  if (obj === null || typeof obj !== 'object' || !(key in obj)) fail('E_RANGE', `missing member ${key}`);
  return obj[key];
}

// Collects bytes without copying payloads one number at a time.
class Sink {
  constructor() { this.parts = []; this.small = []; this.length = 0; }
  push(...xs) { for (const x of xs) this.small.push(x); this.length += xs.length; }
  flush() { if (this.small.length) { this.parts.push(Uint8Array.from(this.small)); this.small = []; } }
  append(u8) { this.flush(); this.parts.push(u8); this.length += u8.length; }
  bytes() {
    this.flush();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

// A member the registry does not define would be dropped silently: refuse it.
// Missing members take their registry default.
function onlyKnown(values, descs, what) {
  if (values === null || typeof values !== 'object') fail('E_RANGE', `${what} must be an object`);
  const names = new Set(descs.map((d) => d.name));
  for (const k of Object.keys(values)) if (!names.has(k)) fail('E_RANGE', `${what}: no field ${JSON.stringify(k)} in the registry`);
}

// Canonical bytes of a §17 object. The result is read back, so a value that
// encodes but breaks a rule (e.g. size) is refused with the reader's code.
export function write(info, options = {}) {
  const reg = options.registry || defaultRegistry;
  if (member(info, 'format') !== 'aigif' || member(info, 'version') !== 1) fail('E_VERSION', 'not an AIGIF version 1 object');
  const w = new BitWriter();
  const pixels = member(info, 'pixels'), modelPayload = member(info, 'model_payload');
  const digest = member(info, 'digest'), exts = member(info, 'extensions');
  if (!Array.isArray(exts)) fail('E_RANGE', 'extensions must be an array');
  w.u(1, pixels ? 1 : 0); w.u(1, modelPayload ? 1 : 0); w.u(1, digest ? 1 : 0); w.u(1, exts.length ? 1 : 0);
  const tc = writeRef(w, 'text_coders', member(info, 'text_coder'), reg);
  const device = writeRef(w, 'devices', member(info, 'device'), reg);
  const platform = member(info, 'platform') || {};
  onlyKnown(platform, device.fields || [], 'platform');
  for (const d of device.fields || []) writeField(w, d, d.name in platform ? platform[d.name] : d.default, reg, null);
  const model = writeRef(w, 'models', member(info, 'model'), reg);
  const family = reg.family(model.family);
  writeRef(w, 'dtypes', member(info, 'dtype'), reg);
  writeRef(w, 'noise_sources', member(info, 'noise'), reg);
  const height = member(info, 'height'), width = member(info, 'width'), g = family.size_multiple;
  if (!Number.isSafeInteger(height) || !Number.isSafeInteger(width) || height < g || width < g ||
      height > 16384 || width > 16384 || height % g || width % g)
    fail('E_RANGE', `size ${width}x${height} is not multiples of ${g} in [${g}, 16384]`);
  const su = height % 64 === 0 && width % 64 === 0 ? 1 : 0;
  const U = su ? 64 : g;
  w.u(1, su); w.ue(height / U - 1); w.se((width - height) / U);
  writeSeed(w, seedOf(member(info, 'seed')));
  const strings = [member(info, 'prompt'), member(info, 'negative_prompt')];
  const fields = member(info, 'fields') || {}, modelFields = member(info, 'model_fields') || {};
  onlyKnown(fields, family.fields, 'fields');
  onlyKnown(modelFields, model.fields || [], 'model_fields');
  for (const [descs, vals] of [[family.fields, fields], [model.fields || [], modelFields]]) {
    for (const d of descs) {
      const v = d.name in vals ? vals[d.name] : d.default;
      if (d.type === 'str') strings.push(v); else writeField(w, d, v, reg, family);
    }
  }
  for (const s of strings) if (typeof s !== 'string') fail('E_RANGE', 'strings must be strings');
  // Small fields go to `out`; payloads are appended as whole chunks (up to 2 GiB).
  const out = new Sink();
  out.append(w.bytes());
  if (digest) {
    const dg = fromHex(digest, 'digest');
    if (![8, 16, 32].includes(dg.length)) fail('E_RANGE', 'digest must be 8, 16 or 32 bytes');
    out.push(dg.length); out.append(dg);
  }
  if (exts.length) {
    if (exts.length > 32) fail('E_LIMIT', 'more than 32 extensions');
    writeUvarint(out, exts.length);
    let prev = -1n;
    for (const x of exts) {
      const tag = seedOf(member(x, 'tag'));
      if (tag <= prev) fail('E_EXTENSION_ORDER', 'extension tags must be strictly increasing');
      prev = tag;
      const known = tag <= BigInt(Number.MAX_SAFE_INTEGER) ? reg.extensions.get(Number(tag)) : undefined;
      let body;
      if (known) {
        const ew = new BitWriter();
        const ef = member(x, 'fields') || {};
        onlyKnown(ef, known.fields, `extension ${known.key} fields`);
        for (const d of known.fields) writeField(ew, d, d.name in ef ? ef[d.name] : d.default, reg, null);
        body = ew.bytes();
      } else {
        if ((tag & 1n) === 1n) fail('E_UNKNOWN_CRITICAL_EXTENSION', `unknown critical extension ${tag}`);
        body = fromHex(member(x, 'raw'), 'extension body');
      }
      writeUvarint(out, tag); writeUvarint(out, body.length);
      out.append(body);
    }
  }
  if (pixels) {
    writeExpcodeBytes(out, reg.byKey('pixel_codecs', member(pixels, 'codec')).id);
    const data = fromBase64(member(pixels, 'data'), 'pixel payload');
    writeUvarint(out, data.length);
    out.append(data);
  }
  if (modelPayload) {
    writeExpcodeBytes(out, reg.byKey('model_compressors', member(modelPayload, 'compressor')).id);
    const data = fromBase64(member(modelPayload, 'data'), 'model payload');
    const hash = fromHex(member(modelPayload, 'sha256'), 'model payload sha256');
    if (hash.length !== 32) fail('E_RANGE', 'model payload sha256 must be 32 bytes');
    writeUvarint(out, data.length);
    out.append(hash); out.append(data);
  }
  const text = textCoder(tc.key).encode(strings, options);
  out.append(text);
  const body = out.bytes();
  const head = [...MAGIC, 1];
  writeUvarint(head, body.length);
  const bytes = new Uint8Array(head.length + body.length + 4);
  bytes.set(head); bytes.set(body, head.length);
  const crc = crc32(bytes, 0, head.length + body.length);
  bytes.set([crc & 255, (crc >>> 8) & 255, (crc >>> 16) & 255, crc >>> 24], head.length + body.length);
  read(bytes, options); // refuse what a reader would refuse, with its code
  return bytes;
}
