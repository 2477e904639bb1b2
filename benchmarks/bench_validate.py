"""Parse-and-validate throughput on one core, against json.loads of the same
fields (the `aigif info` JSON) as the baseline, in the same run.

    python benchmarks/bench_validate.py [--files N] [--rounds R]
"""
from __future__ import annotations

import argparse
import json
import statistics as st
import sys
import time

from aigif import codec, jsonform
from aigif.regen.encode import smallest
from aigif.registry import load
from typical import aigif_file, generations


def best_rate(fn, items, rounds):
    rates = []
    for _ in range(rounds):
        t = time.perf_counter()
        for x in items:
            fn(x)
        rates.append(len(items) / (time.perf_counter() - t))
    return max(rates), st.median(rates)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    reg = load()
    files, texts = [], []
    for i, (p, n, s) in enumerate(generations("parti")):
        if i >= args.files:
            break
        f = smallest(aigif_file(p, n, s), reg)
        b = codec.write(f, reg)
        files.append(b)
        texts.append(json.dumps(jsonform.to_json(f, reg)))
    coders = {}
    for b in files:
        k = codec.read(b, reg).text_coder
        coders[k] = coders.get(k, 0) + 1
    v_best, v_med = best_rate(lambda b: codec.validate(b, reg), files, args.rounds)
    j_best, j_med = best_rate(json.loads, texts, args.rounds)
    print(f"{len(files)} PartiPrompts files (text coders: {coders}), best of {args.rounds} rounds, one core:")
    print(f"| what | files/s (best) | files/s (median) |")
    print(f"|---|---:|---:|")
    print(f"| aigif validate (codec.validate) | {v_best:,.0f} | {v_med:,.0f} |")
    print(f"| json.loads of the same fields (baseline) | {j_best:,.0f} | {j_med:,.0f} |")
    print(f"\nratio validate / json.loads = {v_best / j_best:.3f}; target ≥ 10,000 files/s: {'met' if v_best >= 10_000 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
