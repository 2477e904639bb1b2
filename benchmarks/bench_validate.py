"""Parse-and-validate throughput on one core, against json.loads of the same
fields (the `aigif info` JSON) as the baseline, in the same run.

    python benchmarks/bench_validate.py [--files N] [--rounds R] [--against CHECKOUT]

Two rows for this checkout, measured interleaved in the same run: the pure
Python reference (what ``AIGIF_PURE=1`` gives) and the accelerated one
(``aigif._speedups``, used automatically when it is built; see aigif/_fast.py).
Rates are per second of CPU time of this process.

``--against`` also measures the reference of another checkout (e.g. a
``git worktree`` of an older commit), imported under another name and run
interleaved with this one, so the two ratios come from the same conditions.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import json
import statistics as st
import sys
import time
from pathlib import Path

from aigif import _fast, codec, jsonform
from aigif.regen.encode import smallest
from aigif.registry import load
from typical import aigif_file, generations


def rate(fn, items) -> float:
    """Items per second of this process's CPU time: on a shared machine, time spent waiting
    for a core is not counted (wall-clock rates there swing by 2-3x between rounds)."""
    t = time.process_time()
    for x in items:
        fn(x)
    return len(items) / (time.process_time() - t)


def other_validate(checkout: str):
    """``codec.validate`` and the registry of the aigif package in another checkout."""
    root = Path(checkout).resolve() / "reference" / "aigif"
    spec = importlib.util.spec_from_file_location("aigif_other", root / "__init__.py", submodule_search_locations=[str(root)])
    pkg = importlib.util.module_from_spec(spec)
    sys.modules["aigif_other"] = pkg
    spec.loader.exec_module(pkg)
    other_codec = importlib.import_module("aigif_other.codec")
    other_reg = importlib.import_module("aigif_other.registry").load(str(Path(checkout).resolve() / "registry"))
    return lambda b: other_codec.validate(b, other_reg)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--against", metavar="CHECKOUT", help="also measure this checkout's reference, interleaved")
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
    validate = lambda b: codec.validate(b, reg)  # noqa: E731
    PURE, FAST = "aigif validate, pure Python (AIGIF_PURE=1)", "aigif validate, accelerated (aigif._speedups)"
    # name -> (the accelerator on?, the function)
    runs = {PURE: (False, validate)}
    if _fast.ENABLED:
        runs[FAST] = (True, validate)
    built = _fast.ENABLED
    if args.against:
        other = other_validate(args.against)
        assert all(other(b) is None for b in files), "the other checkout does not accept these files"
        runs[f"aigif validate of {args.against}"] = (False, other)
    for on, fn in runs.values():  # both paths accept the corpus (and warm up: the prompt model is loaded once)
        _fast.ENABLED = on
        assert all(fn(b) is None for b in files)
    rates: dict[str, list[float]] = {name: [] for name in runs}
    rates["json.loads of the same fields (baseline)"] = []
    gc.collect()
    gc.freeze()  # the corpus and the imported modules are not the measured work
    for _ in range(args.rounds):  # interleaved: every contender sees the same machine load
        for name, (on, fn) in runs.items():
            _fast.ENABLED = on
            rates[name].append(rate(fn, files))
        rates["json.loads of the same fields (baseline)"].append(rate(json.loads, texts))
    _fast.ENABLED = built
    base = max(rates["json.loads of the same fields (baseline)"])
    print(f"{len(files)} PartiPrompts files (text coders: {coders}), best of {args.rounds} interleaved rounds, one core:")
    print("| what | files/s (best) | files/s (median) | ratio to json.loads |")
    print("|---|---:|---:|---:|")
    for name, r in rates.items():
        print(f"| {name} | {max(r):,.0f} | {st.median(r):,.0f} | {max(r) / base:.3f} |")
    print()
    for name in (PURE, FAST):
        if name in rates:
            best = max(rates[name])
            print(f"ratio {name} / json.loads = {best / base:.3f}; target ≥ 10,000 files/s: {'met' if best >= 10_000 else 'NOT met'}")
    if not built:
        print("the accelerator is not built here (or AIGIF_PURE is set): pure Python only")
    return 0


if __name__ == "__main__":
    sys.exit(main())
