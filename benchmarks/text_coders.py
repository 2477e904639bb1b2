#!/usr/bin/env python3
"""Compare text coders for AIGIF prompt strings, per file (prompt + negative).

Corpora:
  parti  -- PartiPrompts (shared/corpora/PartiPrompts.tsv), prompt + empty negative.
            Held out: never used to build any model or dictionary here.
  sd     -- benchmarks/corpora/sd_long_prompts.tsv (tools/make_sd_prompt_corpus.py,
            seed 20240601), prompt + negative.

Coders (bytes for the strings only; the file's other fields are extra):
  zlib9      zlib.compress(prompt + "\\0" + negative, 9)   (2-byte header + adler32)
  deflate9   the same as raw DEFLATE (wbits=-15)
  brotli11   brotli quality 11, lgwin 22 (built-in static dictionary)
  zstd-dict  zstd level 19 with a 16 KiB dictionary trained on a *training*
             sample (SD generator seed 77 + hand-written caption templates);
             no dict id / checksum / content size in the frame
  aigif-tc   aigif.text.prompt (static-model range coder)

Decode time is CPU time (time.process_time), best of --repeat runs, per file,
including the Python call overhead and (for aigif-tc) the canonicality check.

Also prints the whole-file estimate used by the project target:
baseline = 26 + zlib9, AIGIF = 24 + aigif-tc.

Run (from the repository root: it imports tools/):  python -m benchmarks.text_coders [--repeat 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
import zlib

from aigif.text import prompt as tc

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def parti_path() -> str:
    for p in (os.path.join(ROOT, "shared", "corpora", "PartiPrompts.tsv"),
              os.path.join(ROOT, "..", "shared", "corpora", "PartiPrompts.tsv"),
              "/work/shared/corpora/PartiPrompts.tsv"):
        if os.path.exists(p):
            return p
    raise SystemExit("PartiPrompts.tsv not found")


def load_corpora() -> dict[str, list[list[str]]]:
    rows = open(parti_path(), encoding="utf-8").read().split("\n")[1:]
    parti = [[r.split("\t")[0], ""] for r in rows if r]
    rows = open(os.path.join(ROOT, "benchmarks", "corpora", "sd_long_prompts.tsv"),
                encoding="utf-8").read().split("\n")[1:]
    sd = [r.split("\t") for r in rows if r]
    return {"parti": parti, "sd": sd}


def training_sample() -> list[bytes]:
    from tools import build_prompt_model as bpm
    from tools import make_sd_prompt_corpus as sdgen
    pairs = sdgen.generate(3000, sdgen.TRAINING_SEED)
    caps = bpm.caption_sentences(20000, 1234, [], ["a photo of a {}."])
    return [(a + "\0" + b).encode() for a, b in pairs] + [(c + "\0").encode() for c in caps]


def make_coders():
    import brotli
    import zstandard as zstd

    samples = training_sample()
    zd = zstd.train_dictionary(16384, samples)
    zc = zstd.ZstdCompressor(level=19, dict_data=zd, write_content_size=False,
                             write_checksum=False, write_dict_id=False)
    zdc = zstd.ZstdDecompressor(dict_data=zd)

    def j(strings):
        return "\0".join(strings).encode("utf-8")

    def unj(b):
        return b.decode("utf-8").split("\0")

    def defl(b):
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        return c.compress(b) + c.flush()

    return {
        "zlib9": (lambda s: zlib.compress(j(s), 9), lambda b, n: unj(zlib.decompress(b))),
        "deflate9": (lambda s: defl(j(s)), lambda b, n: unj(zlib.decompress(b, -15))),
        "brotli11": (lambda s: brotli.compress(j(s), quality=11, lgwin=22),
                     lambda b, n: unj(brotli.decompress(b))),
        "zstd-dict": (lambda s: zc.compress(j(s)),
                      lambda b, n: unj(zdc.decompress(b, max_output_size=1 << 20))),
        "aigif-tc": (tc.encode, lambda b, n: tc.decode(b, n)),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    corpora = load_corpora()
    coders = make_coders()
    print(f"{'corpus':6s} {'coder':10s} {'mean B':>8s} {'median B':>8s} {'dec us/file':>11s}")
    summary = {}
    for cname, files in corpora.items():
        for name, (enc, dec) in coders.items():
            blobs = [enc(f) for f in files]
            for f, b in zip(files, blobs):
                assert dec(b, len(f)) == f, (name, f)
            best = float("inf")
            for _ in range(a.repeat):
                t0 = time.process_time()
                for f, b in zip(files, blobs):
                    dec(b, len(f))
                best = min(best, time.process_time() - t0)
            sizes = [len(b) for b in blobs]
            mean = statistics.mean(sizes)
            summary[(cname, name)] = mean
            print(f"{cname:6s} {name:10s} {mean:8.2f} {statistics.median(sizes):8.1f} "
                  f"{best / len(files) * 1e6:11.1f}")
    print()
    for cname in corpora:
        base = 26 + summary[(cname, "zlib9")]
        ours = 24 + summary[(cname, "aigif-tc")]
        print(f"{cname}: whole file baseline 26+zlib9 = {base:.1f} B, AIGIF 24+aigif-tc = {ours:.1f} B "
              f"-> {100 * ours / base:.1f}% of baseline")


if __name__ == "__main__":
    main()
