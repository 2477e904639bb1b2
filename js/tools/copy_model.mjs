// prepack: put the prompt coder's model file into the package, so an
// installed package carries it (src/node.js looks for ../prompt_model.bin first).
// postpack (--remove) takes it out again.
import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

// The model file of the checkout: registry/prompt_model.bin (the spec's data),
// else the reference package's copy. Null when neither exists.
export function checkoutModel() {
  return [join(pkg, '..', 'registry', 'prompt_model.bin'),
    join(pkg, '..', 'reference', 'aigif', 'text', 'prompt_model.bin')].find(existsSync) || null;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dest = join(pkg, 'prompt_model.bin');
  if (process.argv.includes('--remove')) rmSync(dest, { force: true });
  else {
    const src = checkoutModel();
    if (!src) { console.error('prompt_model.bin not found in ../registry or ../reference/aigif/text'); process.exit(1); }
    copyFileSync(src, dest);
  }
}
