// Text coder `none` (ID 0, SPEC.md §7.2): the block is the framed text.
import { fail } from '../errors.js';
import { splitFramed, frame, TEXT_LIMIT } from './framing.js';

export function decode(block, n, base = 0) {
  if (block.length > TEXT_LIMIT) fail('E_TEXT_LIMIT', `text block of ${block.length} bytes is over the limit of ${TEXT_LIMIT}`, base);
  return splitFramed(block, n, base);
}
export function encode(strings) { return frame(strings); }
