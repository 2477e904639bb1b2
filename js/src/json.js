// The JSON text of §17: integers with every digit (BigInt beyond 2^53),
// floats (dec fields) as shortest round-trip text that reads back as a
// float (7.0, -0.0), and a reader that keeps big integers exact.
import { fail } from './errors.js';
import { registry as defaultRegistry } from './registry.js';

// Shortest round-trip digits, laid out as Python's repr does (what `aigif info`
// prints): fixed notation for exponents -4 .. 15, else d.ddde±XX.
function floatText(x) {
  if (Object.is(x, -0)) return '-0.0';
  const [mant, expText] = x.toExponential().split('e'); // shortest digits that round-trip
  const exp = Number(expText);
  const neg = mant[0] === '-';
  const digits = mant.replace('-', '').replace('.', '');
  if (exp >= -4 && exp < 16) {
    let t;
    if (exp < 0) t = `0.${'0'.repeat(-exp - 1)}${digits}`;
    else if (digits.length <= exp + 1) t = `${digits}${'0'.repeat(exp + 1 - digits.length)}.0`;
    else t = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    return (neg ? '-' : '') + t;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${neg ? '-' : ''}${m}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function value(v, isFloat, indent, depth) {
  if (v === null) return 'null';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return isFloat ? floatText(v) : String(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  throw new Error(`cannot write ${typeof v} as JSON`);
}

function obj(entries, indent, depth) {
  if (entries.length === 0) return '{}';
  const pad = indent ? '\n' + ' '.repeat(indent * (depth + 1)) : '';
  const end = indent ? '\n' + ' '.repeat(indent * depth) : '';
  const sep = indent ? ': ' : ':';
  return '{' + entries.map(([k, t]) => pad + JSON.stringify(k) + sep + t).join(',') + end + '}';
}
function arr(items, indent, depth) {
  if (items.length === 0) return '[]';
  const pad = indent ? '\n' + ' '.repeat(indent * (depth + 1)) : '';
  const end = indent ? '\n' + ' '.repeat(indent * depth) : '';
  return '[' + items.map((t) => pad + t).join(',') + end + ']';
}

function fieldsText(fields, descs, indent, depth) {
  const types = new Map((descs || []).map((d) => [d.name, d.type]));
  return obj(Object.entries(fields).map(([k, v]) => [k, value(v, types.get(k) === 'dec', indent, depth + 1)]), indent, depth);
}

export { floatText };

// JSON text of a parsed file; `indent` 0 gives one line.
export function stringify(info, indent = 2, reg = defaultRegistry) {
  const model = reg.tables.models.byKey.get(info.model);
  const family = model ? reg.family(model.family) : null;
  const d = 1;
  const entries = [];
  for (const [k, v] of Object.entries(info)) {
    let t;
    if (k === 'fields') t = fieldsText(v, family && family.fields, indent, d);
    else if (k === 'model_fields') t = fieldsText(v, model && model.fields, indent, d);
    else if (k === 'platform') t = fieldsText(v, [], indent, d);
    else if (k === 'extensions') {
      t = arr(v.map((x) => {
        const known = reg.extensionsByKey.get(x.key);
        return obj(Object.entries(x).map(([ek, ev]) => [ek, ek === 'fields'
          ? fieldsText(ev, known && known.fields, indent, d + 2) : value(ev, false, indent, d + 2)]), indent, d + 1);
      }), indent, d);
    } else if ((k === 'pixels' || k === 'model_payload') && v) {
      t = obj(Object.entries(v).map(([pk, pv]) => [pk, value(pv, false)]), indent, d);
    } else t = value(v, false, indent, d);
    entries.push([k, t]);
  }
  return obj(entries, indent, 0);
}

// A strict JSON reader (RFC 8259) whose integers beyond 2^53 become BigInt.
export function parseJSON(text) {
  let i = 0;
  const bad = (why) => fail('E_RANGE', `invalid JSON at character ${i}: ${why}`);
  const ws = () => { while (i < text.length && ' \t\n\r'.includes(text[i])) i++; };
  const val = () => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++; const o = {}; ws();
      if (text[i] === '}') { i++; return o; }
      for (;;) {
        ws(); if (text[i] !== '"') bad('expected a member name');
        const k = str(); ws();
        if (text[i++] !== ':') bad('expected ":"');
        o[k] = val(); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] === '}') return o;
        bad('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++; const a = []; ws();
      if (text[i] === ']') { i++; return a; }
      for (;;) {
        a.push(val()); ws();
        if (text[i] === ',') { i++; continue; }
        if (text[i++] === ']') return a;
        bad('expected "," or "]"');
      }
    }
    if (c === '"') return str();
    for (const [lit, v] of [['true', true], ['false', false], ['null', null]])
      if (text.startsWith(lit, i)) { i += lit.length; return v; }
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || !m[0]) bad('unexpected character');
    i += m[0].length;
    if (!m[2] && !m[3]) {
      const b = BigInt(m[0]);
      return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) && m[0] !== '-0' ? Number(b) : (m[0] === '-0' ? 0 : b);
    }
    return Number(m[0]);
  };
  const str = () => {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"/.exec(text.slice(i));
    if (!m) bad('invalid string');
    i += m[0].length;
    return JSON.parse(m[0]);
  };
  const v = val(); ws();
  if (i !== text.length) bad('trailing characters');
  return v;
}
