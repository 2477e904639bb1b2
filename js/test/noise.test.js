import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { philox, portable, a1111nv, plog, ppnd, float32Hex } from '../src/noise.js';
import { parseJSON } from '../src/json.js';

const here = dirname(fileURLToPath(import.meta.url));
const hex = (s) => s.split(' ').map((x) => parseInt(x, 16));
const f64 = (x) => { const d = new DataView(new ArrayBuffer(8)); d.setFloat64(0, x); return d.getBigUint64(0).toString(16); };

test('Philox4x32-10 known answers (F.3.1)', () => {
  assert.deepEqual(philox([0, 0, 0, 0], [0, 0]), hex('6627e8d5 e169c58d bc57ac4c 9b00dbd8'));
  assert.deepEqual(philox(hex('ffffffff ffffffff ffffffff ffffffff'), hex('ffffffff ffffffff')), hex('408f276d 41c83b0e a20bc7c6 6d5451fd'));
  assert.deepEqual(philox(hex('243f6a88 85a308d3 13198a2e 03707344'), hex('a4093822 299f31d0')), hex('d16cfe09 94fdcceb 5001e420 24126ea1'));
});

test('PLOG and PPND test values (F.3.6)', () => {
  assert.equal(f64(plog(2 ** -53)), f64(-0x125e4f7b2737fa / 2 ** 52 * 2 ** 5));
  assert.equal(plog(1.0), 0);
  assert.equal(f64(ppnd(2 ** -53)), f64(-0x106b48528cea51 / 2 ** 52 * 2 ** 3));
  assert.equal(f64(ppnd(1 - 2 ** -53)), f64(0x106b48528cea51 / 2 ** 52 * 2 ** 3));
});

test('portable: first values and random access (F.3.6)', () => {
  const first = (s) => [...portable(s, 8)].map(float32Hex).join(' ');
  assert.equal(first(0n), 'be82fa50 3f2153b7 3ff51846 3f01cc4f c0042d25 bf89bcdd 3f4c1d40 3e87dc28');
  assert.equal(first(42n), '3e92f728 bfb9dfa1 400fe2b3 3d0ece30 3f701df9 3e855a7c 3f1c91ea 3e5f88b6');
  assert.equal(first(2n ** 32n + 5n), 'c034b8aa 3f5b198d bfbe1b04 bf6f3114 bf951843 bebf5f3f bf6643c9 bf6fe55a');
  assert.equal(first(2n ** 64n - 1n), 'be06505a 3e9f3a25 bfa2eb14 3e944b3a bfaa9026 3f9a2663 3e128084 bed21a11');
  assert.equal(float32Hex(portable(42n, 1, 2n ** 32n)[0]), 'bf72783d');
  assert.equal(float32Hex(portable(42n, 1, 2n ** 33n + 1n)[0]), 'bf637823');
  assert.equal(float32Hex(portable(2n ** 64n - 1n, 1, 2n ** 65n - 1n)[0]), '3f23ea12');
  // Draws continue the stream: 3 + 5 values equal one draw of 8.
  assert.deepEqual([...portable(7n, 3), ...portable(7n, 5, 3n)], [...portable(7n, 8)]);
});

test('noise vectors of the sources implemented here', () => {
  const dir = join(here, '..', '..', 'vectors', 'noise');
  let n = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.json'))) {
    const v = parseJSON(readFileSync(join(dir, f), 'utf8'));
    const gen = { portable, 'a1111-nv': a1111nv }[v.source];
    if (!gen) continue;
    assert.deepEqual([...gen(BigInt(v.seed), v.count)].map(float32Hex), v.values.map((x) => x.toLowerCase()), f);
    n++;
  }
  assert.ok(n >= 20);
});
