// The framed text of SPEC.md §7.1: uvarint(len(s)) + UTF-8 bytes, per string.
import { fail } from '../errors.js';
import { readUvarint, writeUvarint } from '../bits.js';
import { utf8Decode, utf8Encode } from '../util.js';

export const TEXT_LIMIT = 65536;

// Split framed text into n strings: all framing first (E_OVERRUN, E_VARINT),
// then UTF-8 string by string (§9 step 8). `base` maps to file offsets.
export function splitFramed(framed, n, base = 0) {
  const spans = [];
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const at = pos;
    const [len, next] = readUvarint(framed, pos, framed.length, base);
    if (len > BigInt(framed.length - next)) fail('E_OVERRUN', `string ${i} runs past the end of the text`, base + at);
    pos = next + Number(len);
    spans.push([next, pos]);
  }
  if (pos !== framed.length) fail('E_OVERRUN', `${framed.length - pos} bytes left after the last string`, base + pos);
  return spans.map(([a, b]) => utf8Decode(framed, a, b, base + a));
}

export function frame(strings) {
  const out = [];
  for (const s of strings) {
    const u = utf8Encode(s);
    writeUvarint(out, u.length);
    for (const b of u) out.push(b);
  }
  if (out.length > TEXT_LIMIT) fail('E_TEXT_LIMIT', `framed text of ${out.length} bytes is over the limit of ${TEXT_LIMIT}`);
  return Uint8Array.from(out);
}
