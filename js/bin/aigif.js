#!/usr/bin/env node
// Command line: validate, info, pack, and the conformance contract's
// operations (conformance/CONTRACT.md: parse, noise, render, decode) plus `batch`
// for differential testing (one JSON line per base64 input line).
import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse, validate, write, stringify, parseJSON, AigifError, NOISE_SOURCES, float32Hex } from '../src/node.js';

const USAGE = `usage: aigif validate FILE...   report validity, code and byte offset
       aigif info FILE           print the fields as JSON (SPEC.md §17)
       aigif pack FIELDS.json OUT.aigif
       aigif parse FILE          contract: fields JSON, or exit 1 with the code
       aigif noise SOURCE SEED COUNT C H W
       aigif render FILE OUT.png (not implemented: exit 3)
       aigif decode FILE OUT.png (pixel codecs not implemented: exit 3, E_UNSUPPORTED)
       aigif batch               stdin: base64 lines; stdout: one JSON verdict a line`;

function usage(msg) { if (msg) process.stderr.write(`${msg}\n`); process.stderr.write(`${USAGE}\n`); process.exit(2); }

function readInput(path) {
  try { return new Uint8Array(readFileSync(path)); } catch (e) { process.stderr.write(`cannot read ${path}: ${e.message}\n`); process.exit(2); }
}

function invalid(e) {
  if (!(e instanceof AigifError)) throw e;
  process.stderr.write(`${e.code}: ${e.message}${e.offset === null ? '' : ` (at byte ${e.offset})`}\n`);
  process.exit(1);
}

const [cmd, ...args] = process.argv.slice(2);
switch (cmd) {
  case 'parse': case 'info': {
    if (args.length !== 1) usage();
    const b = readInput(args[0]);
    let text;
    try { text = stringify(parse(b), 2); } catch (e) { invalid(e); }
    process.stdout.write(text + '\n');
    break;
  }
  case 'validate': {
    if (!args.length) usage();
    let bad = 0;
    for (const p of args) {
      const v = validate(readInput(p));
      if (v.valid) process.stdout.write(`${p}: valid\n`);
      else { bad++; process.stdout.write(`${p}: INVALID ${v.code} at byte ${v.offset}: ${v.message}\n`); }
    }
    process.exit(bad ? 1 : 0);
    break;
  }
  case 'pack': {
    if (args.length !== 2) usage();
    let out;
    try { out = write(parseJSON(readFileSync(args[0], 'utf8'))); } catch (e) { invalid(e); }
    writeFileSync(args[1], out);
    break;
  }
  case 'noise': {
    if (args.length !== 6) usage();
    const [source, seedText, ...dims] = args;
    if (!/^[0-9]+$/.test(seedText) || dims.some((d) => !/^[0-9]+$/.test(d))) usage('SEED, COUNT, C, H, W are decimal integers');
    const seed = BigInt(seedText);
    const [count, c, h, w] = dims.map(Number);
    if (seed >= 2n ** 64n || count > c * h * w) usage('SEED must be below 2^64 and COUNT at most C*H*W');
    const gen = NOISE_SOURCES[source];
    if (!gen) { process.stderr.write(`E_NOISE_UNAVAILABLE: noise source ${source} is not implemented here\n`); process.exit(3); }
    // Both sources draw element by element in row-major order, so the first
    // COUNT values of a (1, C, H, W) draw do not depend on the shape.
    process.stdout.write(JSON.stringify([...gen(seed, count)].map(float32Hex)) + '\n');
    break;
  }
  case 'render': {
    if (args.length !== 2) usage();
    try { parse(readInput(args[0])); } catch (e) { invalid(e); }
    process.stderr.write('E_REGEN_UNSUPPORTED: this decoder is of the parser/validator class\n');
    process.exit(3);
    break;
  }
  case 'decode': {
    // The contract's pixel-payload operation (CONTRACT.md §5a). This implementation
    // has no diffusion model and no image codecs: it validates the file (an invalid
    // file is exit 1 with its code), then says "unsupported" for the payload's codec.
    if (args.length !== 2) usage();
    let info;
    try { info = parse(readInput(args[0])); } catch (e) { invalid(e); }
    if (!info.pixels) usage('the file has no pixel payload to decode');
    process.stderr.write(`E_UNSUPPORTED: pixel codec ${info.pixels.codec} is not implemented by this decoder\n`);
    process.exit(3);
    break;
  }
  case 'batch': {
    // Each input line is base64 of a file; each output line is
    // {"valid":true,"info":{…}} or {"valid":false,"code":…,"offset":…,"message":…}.
    const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
    rl.on('line', (line) => {
      const b = new Uint8Array(Buffer.from(line.trim(), 'base64'));
      let res;
      try {
        const info = parse(b);
        // The writer must be the exact inverse of the reader (§1 canonical encoding).
        const again = write(info);
        const roundtrip = again.length === b.length && again.every((x, i) => x === b[i]);
        res = `{"valid":true,"roundtrip":${roundtrip},"info":${stringify(info, 0)}}\n`;
      }
      catch (e) {
        if (!(e instanceof AigifError)) res = JSON.stringify({ valid: false, code: 'UNCAUGHT', message: String(e && e.stack) }) + '\n';
        else res = JSON.stringify({ valid: false, code: e.code, offset: e.offset, message: e.message }) + '\n';
      }
      process.stdout.write(res);
    });
    break;
  }
  case undefined: case '-h': case '--help': usage();
  // falls through
  default: usage(`unknown command ${cmd}`);
}
