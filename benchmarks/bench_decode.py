"""Decode time against a bare diffusers call with the same arguments, side by
side in one run, on a bundled conformance model; and a batch of files against
one model load.

    python benchmarks/bench_decode.py [--model tiny-sd1] [--runs 5] [--batch 8]

Target: aigif's overhead over the bare call ≤ 5 % (the one-time load excluded).
"""
from __future__ import annotations

import argparse
import statistics as st
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny-sd1")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    import diffusers
    import torch

    from aigif import codec, jsonform
    from aigif.regen import Regenerator, loading
    from aigif.registry import load
    reg = load()
    regen = Regenerator(device="cpu")  # sets one thread and deterministic kernels: the bare call gets the same
    size = reg.table("models").by_key[args.model].get("sample_size") or 64
    f = jsonform.new(args.model, reg, prompt="a red circle on a blue background", negative_prompt="green", height=size, width=size,
                     seed=1234, dtype="float32", noise="torch-cpu", fields={"steps": args.steps, "guidance": 7.5})
    data = codec.write(f, reg)
    path = loading.locate(args.model, {}, reg, {})
    fam = reg.family_of(args.model)
    t = time.perf_counter()
    bare = getattr(diffusers, fam.raw["pipeline"]).from_pretrained(path, local_files_only=True)
    bare.set_progress_bar_config(disable=True)
    bare_load = time.perf_counter() - t
    t = time.perf_counter()
    regen.render(codec.read(data, reg))  # loads once
    aigif_load = time.perf_counter() - t
    kw = dict(prompt=f.prompt, negative_prompt=f.negative_prompt, height=size, width=size, num_inference_steps=args.steps, guidance_scale=7.5)
    bare_t, aigif_t = [], []
    for _ in range(args.runs):  # interleaved so drift hits both alike
        t = time.perf_counter()
        bare(**kw, generator=torch.Generator("cpu").manual_seed(1234))
        bare_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        regen.render(codec.read(data, reg))  # parse + scheduler + generate + digest check
        aigif_t.append(time.perf_counter() - t)
    b, a = st.median(bare_t), st.median(aigif_t)
    print(f"model {args.model}, {size}×{size}, {args.steps} steps, 1 CPU thread, median of {args.runs}:")
    print("| what | seconds |\n|---|---:|")
    print(f"| bare diffusers call | {b:.3f} |\n| aigif decode (parse, pipeline, digest) | {a:.3f} |")
    print(f"\noverhead = {100 * (a / b - 1):+.1f} % (target ≤ 5 %); one-time load: bare {bare_load:.2f} s, aigif {aigif_load:.2f} s")
    files = []
    for i in range(args.batch):
        f.seed = 1000 + i
        files.append(codec.write(f, reg))
    t = time.perf_counter()
    for d in files:
        regen.render(codec.read(d, reg))
    batch = time.perf_counter() - t
    per_file_load = args.batch * (aigif_load + a)  # what K separate decodes (one load each) would cost
    print(f"\nbatch of {args.batch} files, one load: {batch:.2f} s; with a load per file it would be ≈ {per_file_load:.2f} s "
          f"({per_file_load / batch:.1f}× slower)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
