// Typed errors: every failure carries a SPEC.md §10 code and a byte offset
// (the start of the field, section or string where the fault was found).
export class AigifError extends Error {
  constructor(code, message, offset = null) {
    super(message);
    this.name = 'AigifError';
    this.code = code;
    this.offset = offset;
  }
  toJSON() {
    return { code: this.code, message: this.message, offset: this.offset };
  }
}

export const CODES = Object.freeze([
  'E_MAGIC', 'E_VERSION', 'E_TRUNCATED', 'E_TRAILING_DATA', 'E_CHECKSUM', 'E_VARINT',
  'E_EXPCODE_OVERLONG', 'E_EXPGOLOMB_OVERLONG', 'E_OVERRUN', 'E_NONZERO_PADDING',
  'E_UNKNOWN_ID', 'E_RANGE', 'E_NONCANONICAL', 'E_UTF8', 'E_TEXT_LIMIT', 'E_TEXT_CORRUPT',
  'E_UNKNOWN_CRITICAL_EXTENSION', 'E_EXTENSION_ORDER', 'E_LIMIT', 'E_PAYLOAD', 'E_UNSUPPORTED',
]);

export function fail(code, message, offset = null) {
  throw new AigifError(code, message, offset);
}
