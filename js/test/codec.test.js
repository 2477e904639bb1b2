import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { parse, validate, write, stringify, parseJSON, AigifError, crc32 } from '../src/node.js';
import { buildRegistryData, renderModule } from '../tools/gen_registry.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const vectors = join(here, '..', '..', 'vectors');
const list = (cls, ext) => readdirSync(join(vectors, cls)).filter((f) => f.endsWith(ext)).sort();
const bytesOf = (p) => new Uint8Array(readFileSync(p));
// The vectors state what the registry they were built with expects; while the
// registry has moved on and they are not rebuilt yet, their expectations are stale.
const manifest = JSON.parse(readFileSync(join(vectors, 'manifest.json'), 'utf8'));
const builtFor = manifest.registry.version;
const current = buildRegistryData().version;
const stale = builtFor === current ? false : `vectors built for registry ${builtFor}, registry is ${current}: rebuild them (python -m tools.vectors)`;

// Type-aware equality of two parsed JSON texts: float vs integer, -0.0 vs 0.
function sameJSON(a, b, path = '') {
  if (typeof a === 'number' || typeof a === 'bigint') {
    assert.equal(typeof a, typeof b, path);
    assert.ok(Object.is(a, b), `${path}: ${a} vs ${b}`);
    return;
  }
  if (a === null || typeof a !== 'object') { assert.equal(a, b, path); return; }
  assert.deepEqual(Object.keys(a), Object.keys(b), path);
  for (const k of Object.keys(a)) sameJSON(a[k], b[k], `${path}.${k}`);
}

// src/registry_data.js is a build product (npm test regenerates it first); run
// as `node --test` alone after an edit of registry/*.json, it is out of date.
test('registry_data.js is current with registry/*.json', () => {
  assert.equal(readFileSync(join(here, '..', 'src', 'registry_data.js'), 'utf8'), renderModule(buildRegistryData()),
    'run `npm run gen-registry` (npm test does it before the tests)');
});

// A newer registry accepts every file an older one accepts (§8.4), so parse vectors never go stale.
test('every parse vector: fields as expected, write(parse(b)) == b, JSON round trip', () => {
  const names = list('parse', '.aigif');
  assert.ok(names.length > 100);
  for (const f of names) {
    const b = bytesOf(join(vectors, 'parse', f));
    const info = parse(b);
    const expected = parseJSON(readFileSync(join(vectors, 'parse', f.replace(/\.aigif$/, '.json')), 'utf8'));
    const text = stringify(info);
    sameJSON(expected, parseJSON(text), f);
    // Byte for byte what the reference's `aigif info` wrote into the vector.
    assert.equal(`${text}\n`, readFileSync(join(vectors, 'parse', f.replace(/\.aigif$/, '.json')), 'utf8'), `${f}: JSON text`);
    assert.deepEqual([...write(info)], [...b], `${f}: writer`);
    assert.deepEqual([...write(text)], [...b], `${f}: writer from JSON text`);
  }
});

test('every reject vector: the expected code', { skip: stale }, () => {
  for (const f of list('reject', '.aigif')) {
    const b = bytesOf(join(vectors, 'reject', f));
    const want = JSON.parse(readFileSync(join(vectors, 'reject', f.replace(/\.aigif$/, '.json')), 'utf8')).error;
    const v = validate(b);
    assert.equal(v.valid, false, f);
    assert.equal(v.code, want, `${f}: ${v.message}`);
    assert.throws(() => parse(b), (e) => e instanceof AigifError && e.code === want && (e.offset === null || e.offset >= 0));
  }
});

test('container checks in §9 order', () => {
  const b = bytesOf(join(vectors, 'parse', 'paper-example.aigif'));
  const v = (x) => validate(Uint8Array.from(x)).code;
  assert.equal(v([]), 'E_MAGIC');
  assert.equal(v([0x41]), 'E_TRUNCATED');
  assert.equal(v([0x41, 0x49]), 'E_TRUNCATED');
  assert.equal(v([0x42]), 'E_MAGIC');
  assert.equal(v([0x41, 0x49, 0x47]), 'E_TRUNCATED');
  assert.equal(v([0x41, 0x49, 0x47, 2]), 'E_VERSION');
  assert.equal(v([0x41, 0x49, 0x47, 1, 0x80]), 'E_TRUNCATED');
  assert.equal(v([0x41, 0x49, 0x47, 1, 0]), 'E_LIMIT');
  assert.equal(v([0x41, 0x49, 0x47, 1, 0x80, 0x80, 0x80, 0x80, 0x10]), 'E_LIMIT'); // 2^32
  assert.equal(v([...b.subarray(0, b.length - 1)]), 'E_TRUNCATED');
  assert.equal(v([...b, 0]), 'E_TRAILING_DATA');
  const c = [...b]; c[10] ^= 1;
  assert.equal(v(c), 'E_CHECKSUM');
  const d = validate(Uint8Array.from(c));
  assert.equal(d.offset, b.length - 4);
});

test('writer: canonical output, typed errors for bad values', () => {
  const info = parse(bytesOf(join(vectors, 'parse', 'paper-example.aigif')));
  const again = (patch) => write({ ...info, ...patch });
  const code = (fn) => { try { fn(); } catch (e) { assert.ok(e instanceof AigifError, String(e)); return e.code; } return null; };
  for (const tc of ['none', 'deflate', 'prompt']) {
    const x = again({ text_coder: tc, prompt: 'Hello, World! 😀', negative_prompt: '' });
    assert.equal(parse(x).prompt, 'Hello, World! 😀');
    assert.equal(crc32(x, 0, x.length - 4), new DataView(x.buffer).getUint32(x.length - 4, true));
  }
  assert.equal(parse(again({ seed: '18446744073709551615' })).seed, 2n ** 64n - 1n);
  assert.equal(code(() => again({ seed: 2n ** 64n })), 'E_RANGE');
  assert.equal(code(() => again({ model: 'no-such-model' })), 'E_UNKNOWN_ID');
  assert.equal(code(() => again({ height: 1001 })), 'E_RANGE');
  assert.equal(code(() => again({ fields: { ...info.fields, bogus: 1 } })), 'E_RANGE');
  assert.equal(code(() => again({ platform: { gpu: 'unknown', cuda: 'unknown', bogus: 'x' } })), 'E_RANGE');
  const { steps, ...noSteps } = info.fields;
  assert.equal(parse(again({ fields: noSteps })).fields.steps, 50); // the registry default
  assert.equal(code(() => again({ fields: { ...info.fields, steps: 1001 } })), 'E_RANGE');
  assert.equal(code(() => again({ fields: { ...info.fields, guidance: NaN } })), 'E_RANGE');
  assert.equal(code(() => again({ prompt: 'x'.repeat(70000) })), 'E_TEXT_LIMIT');
  assert.equal(code(() => again({ prompt: '\ud800' })), 'E_UTF8');
  assert.equal(code(() => again({ extensions: [{ tag: 3, critical: true, raw: '' }] })), 'E_UNKNOWN_CRITICAL_EXTENSION');
  const g = parse(again({ fields: { ...info.fields, guidance: -0 } })).fields.guidance;
  assert.ok(Object.is(g, -0));
  assert.match(stringify(parse(again({ fields: { ...info.fields, guidance: -0 } }))), /"guidance": -0\.0/);
  assert.match(stringify(parse(again({ fields: { ...info.fields, guidance: 7 } }))), /"guidance": 7\.0/);
});

test('JSON reader keeps big integers exact', () => {
  assert.equal(parseJSON('{"a": 18446744073709551615}').a, 18446744073709551615n);
  assert.ok(Object.is(parseJSON('-0.0'), -0));
  assert.equal(parseJSON('[1, 2.5, "x\\u00e9", true, null]')[2], 'xé');
  assert.throws(() => parseJSON('{"a": 1,}'), AigifError);
});
