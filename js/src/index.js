// The aigif package: SPEC.md's parser/validator and writer, its text coders
// and its portable noise source. Browser-safe: no file system access here.
import { read, validate as validateBytes, write as writeInfo } from './codec.js';
import { stringify, parseJSON } from './json.js';

export { AigifError, CODES } from './errors.js';
export { Registry, registry } from './registry.js';
export { crc32, sha256, utf8Decode, utf8Encode } from './util.js';
export { canonicalDeflate } from './text/deflate.js';
export { inflate } from './text/inflate.js';
export { PromptModel, loadPromptModel, setDefaultPromptModel, MODEL_SHA256 } from './text/prompt.js';
export * as textNone from './text/none.js';
export * as textDeflate from './text/deflate.js';
export * as textPrompt from './text/prompt.js';
export { philox, portable, a1111nv, plog, ppnd, float32Hex, NOISE_SOURCES } from './noise.js';
export { stringify, parseJSON };

// parse(bytes) -> the §17 object (seed as BigInt, dec fields as numbers).
export function parse(bytes, options) { return read(bytes, options); }
// validate(bytes) -> { valid, code, offset, message }.
export function validate(bytes, options) { return validateBytes(bytes, options); }
// write(info) -> canonical bytes; `info` is the §17 object or its JSON text.
export function write(info, options) { return writeInfo(typeof info === 'string' ? parseJSON(info) : info, options); }
