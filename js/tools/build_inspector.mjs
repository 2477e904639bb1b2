// Puts what the website's inspector page (docs/inspector.md) loads into a built
// site; the mkdocs hook (tools/docs/inspector_assets.py) runs it after each build:
//
//   node tools/build_inspector.mjs SITE/assets/inspector
//
// writes DEST/aigif/: the browser-safe modules of src/ (all but node.js) with a
// freshly generated registry_data.js, and DEST/prompt_model.bin: the prompt
// coder's model, which inspector.js fetches for files whose text coder is `prompt`.
// Nothing of it is kept in docs/: src/ and registry/ are its only homes.
import { readdirSync, readFileSync, writeFileSync, mkdirSync, rmSync, copyFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { writeRegistryModule } from './gen_registry.mjs';
import { checkoutModel } from './copy_model.mjs';

const js = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SRC = join(js, 'src');
const GENERATED = 'registry_data.js';

// src/'s modules that run in a browser: every .js file but the Node entry point
// and the generated registry module (written fresh instead of copied).
export function browserModules(dir = SRC) {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...browserModules(p));
    else if (e.name.endsWith('.js') && e.name !== 'node.js' && relative(SRC, p) !== GENERATED) out.push(relative(SRC, p));
  }
  return out.sort();
}

export function buildInspector(dest) {
  const lib = join(dest, 'aigif');
  if (existsSync(lib)) rmSync(lib, { recursive: true });
  for (const m of browserModules()) {
    mkdirSync(dirname(join(lib, m)), { recursive: true });
    writeFileSync(join(lib, m), readFileSync(join(SRC, m)));
  }
  writeRegistryModule(join(lib, GENERATED));
  const model = checkoutModel();
  if (!model) throw new Error('prompt_model.bin not found in ../registry or ../reference/aigif/text');
  copyFileSync(model, join(dest, 'prompt_model.bin'));
  return { modules: browserModules().length + 1, model };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv.length !== 3) { console.error('usage: build_inspector.mjs DEST'); process.exit(2); }
  try {
    buildInspector(process.argv[2]);
  } catch (e) {
    console.error(`build_inspector: ${e.message}`);
    process.exit(1);
  }
}
