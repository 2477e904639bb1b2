// Node entry point: the browser-safe API plus a prompt-model loader that
// finds the model file on disk (AIGIF_PROMPT_MODEL, the package's copy, the checkout).
import { readFileSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { setDefaultPromptModel } from './text/prompt.js';

export * from './index.js';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');

export function promptModelPaths() {
  const list = [];
  if (process.env.AIGIF_PROMPT_MODEL) list.push(process.env.AIGIF_PROMPT_MODEL);
  list.push(join(pkg, 'prompt_model.bin'), // copied in by `npm pack` (prepack)
    join(pkg, '..', 'registry', 'prompt_model.bin'),
    join(pkg, '..', 'reference', 'aigif', 'text', 'prompt_model.bin'));
  return list;
}

export function readPromptModel() {
  const paths = promptModelPaths();
  const env = process.env.AIGIF_PROMPT_MODEL;
  for (const p of env ? [env] : paths) if (existsSync(p)) return new Uint8Array(readFileSync(p));
  return null; // E_UNSUPPORTED is reported when a file needs it
}

setDefaultPromptModel(() => readPromptModel());
