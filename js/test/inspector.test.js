import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SRC, browserModules, buildInspector } from '../tools/build_inspector.mjs';
import { renderModule, buildRegistryData } from '../tools/gen_registry.mjs';

test('the browser modules do not touch the file system', () => {
  for (const m of browserModules()) assert.doesNotMatch(readFileSync(join(SRC, m), 'utf8'), /from 'node:/, m);
});

const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
  e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]);

test("the site's inspector assets: src/ but node.js, a fresh registry module, the prompt model", () => {
  const dest = mkdtempSync(join(tmpdir(), 'aigif-inspector-'));
  try {
    buildInspector(dest);
    const lib = join(dest, 'aigif');
    const got = walk(lib).map((p) => relative(lib, p)).sort();
    assert.deepEqual(got, [...browserModules(), 'registry_data.js'].sort());
    assert.ok(!got.includes('node.js') && got.includes('index.js') && got.includes(join('text', 'prompt.js')), got.join(' '));
    for (const m of browserModules()) assert.equal(readFileSync(join(lib, m), 'utf8'), readFileSync(join(SRC, m), 'utf8'), m);
    assert.equal(readFileSync(join(lib, 'registry_data.js'), 'utf8'), renderModule(buildRegistryData()));
    const model = readFileSync(join(dest, 'prompt_model.bin'));
    assert.ok(model.length > 100000, `prompt_model.bin is ${model.length} bytes`);
  } finally {
    rmSync(dest, { recursive: true, force: true });
  }
});

test('the browser entry works without the node loader: E_UNSUPPORTED without a model, fields with one', async () => {
  // A fresh module instance of the browser entry (a query string gives a new URL), so no loader is installed.
  const url = new URL('../src/index.js?browser-test', import.meta.url);
  const m = await import(url.href);
  const vec = new URL('../../vectors/parse/text-coder-prompt.aigif', import.meta.url);
  const bytes = new Uint8Array(readFileSync(vec));
  assert.equal(m.validate(bytes).code, 'E_UNSUPPORTED');
  const { readPromptModel } = await import('../src/node.js');
  const model = readPromptModel();
  if (!model) return;
  assert.equal(m.validate(bytes, { promptModel: model }).valid, true);
  m.setDefaultPromptModel(model);
  assert.equal(m.parse(bytes).text_coder, 'prompt');
});
