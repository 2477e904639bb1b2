// Types of the aigif package (SPEC.md §17 JSON form).
export type ErrorCode =
  | 'E_MAGIC' | 'E_VERSION' | 'E_TRUNCATED' | 'E_TRAILING_DATA' | 'E_CHECKSUM' | 'E_VARINT'
  | 'E_EXPCODE_OVERLONG' | 'E_EXPGOLOMB_OVERLONG' | 'E_OVERRUN' | 'E_NONZERO_PADDING'
  | 'E_UNKNOWN_ID' | 'E_RANGE' | 'E_NONCANONICAL' | 'E_UTF8' | 'E_TEXT_LIMIT' | 'E_TEXT_CORRUPT'
  | 'E_UNKNOWN_CRITICAL_EXTENSION' | 'E_EXTENSION_ORDER' | 'E_LIMIT' | 'E_PAYLOAD' | 'E_UNSUPPORTED';

export class AigifError extends Error {
  readonly code: ErrorCode;
  /** Byte offset in the file of the field, section or block where the fault was found. */
  readonly offset: number | null;
  constructor(code: ErrorCode, message: string, offset?: number | null);
}
export const CODES: readonly ErrorCode[];

export type FieldValue = number | string | boolean;

export interface Extension {
  tag: number | bigint;
  critical: boolean;
  key?: string;
  fields?: Record<string, FieldValue>;
  raw?: string;
}

export interface AigifInfo {
  format: 'aigif';
  version: 1;
  text_coder: string;
  device: string;
  platform: Record<string, string>;
  model: string;
  dtype: string;
  noise: string;
  height: number;
  width: number;
  /** Unsigned 64-bit; `parse` returns a bigint, `write` also takes a safe integer or a decimal string. */
  seed: bigint | number | string;
  prompt: string;
  negative_prompt: string;
  fields: Record<string, FieldValue>;
  model_fields: Record<string, FieldValue>;
  digest: string | null;
  extensions: Extension[];
  pixels: { codec: string; data: string } | null;
  model_payload: { compressor: string; sha256: string; data: string } | null;
}

export interface Options {
  /** The prompt coder's model file (or a loaded model); in Node it is found on disk by default. */
  promptModel?: Uint8Array | PromptModel;
  registry?: Registry;
}

export interface Verdict { valid: boolean; code: ErrorCode | null; offset: number | null; message: string | null }

export function parse(bytes: Uint8Array, options?: Options): AigifInfo;
export function validate(bytes: Uint8Array, options?: Options): Verdict;
/** Canonical bytes: write(parse(b)) is byte-equal to b for every valid file. */
export function write(info: AigifInfo | string, options?: Options): Uint8Array;
/** JSON text of the §17 form (integers with every digit, dec fields as floats, -0.0 kept). */
export function stringify(info: AigifInfo, indent?: number): string;
/** JSON reader keeping integers beyond 2^53 exact (as bigint). */
export function parseJSON(text: string): any;

export class Registry { readonly version: string }
export const registry: Registry;
export class PromptModel { constructor(bytes: Uint8Array) }
export function loadPromptModel(bytes: Uint8Array | PromptModel): PromptModel;
export function setDefaultPromptModel(model: Uint8Array | PromptModel | (() => Uint8Array | null) | null): void;
export const MODEL_SHA256: string;

export function crc32(bytes: Uint8Array, start?: number, end?: number): number;
export function sha256(bytes: Uint8Array): Uint8Array;
export function utf8Decode(bytes: Uint8Array, start?: number, end?: number): string;
export function utf8Encode(s: string): Uint8Array;
export function canonicalDeflate(framed: Uint8Array): Uint8Array;
export function inflate(data: Uint8Array, limit: number, offset?: number): { out: Uint8Array; end: number };

export interface TextCoder {
  decode(block: Uint8Array, count: number, base?: number, options?: Options): string[];
  encode(strings: string[], options?: Options): Uint8Array;
}
export const textNone: TextCoder;
export const textDeflate: TextCoder;
export const textPrompt: TextCoder & { tokenize(model: PromptModel, s: string): Array<[number, (string | number)?]> };

/** Philox4x32-10 block function (Appendix F.3.1). */
export function philox(counter: [number, number, number, number], key: [number, number]): [number, number, number, number];
/** Values start .. start+count-1 of the `portable` stream (Appendix F.3), as float32. */
export function portable(seed: bigint | number, count: number, start?: bigint | number): Float32Array;
/** The first `count` values of draw `draw` of `a1111-nv` (Appendix F.4.2). */
export function a1111nv(seed: bigint | number, count: number, draw?: number): Float32Array;
export function plog(x: number): number;
export function ppnd(u: number): number;
export function float32Hex(x: number): string;
export const NOISE_SOURCES: Record<string, (seed: bigint, count: number) => Float32Array>;
