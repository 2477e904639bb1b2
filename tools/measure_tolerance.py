"""Measure regeneration tolerances of the conformance models across platforms.

    python tools/measure_tolerance.py render --device cpu --out cpu.npz [--threads 1]
    python tools/measure_tolerance.py compare cpu.npz cuda.npz [--json out.json]

``render`` regenerates a fixed, deterministic list of cases (every conformance
model × dtypes × schedulers × seeds) on one device and stores the canonical
pixels with the platform; ``compare`` prints PSNR (SPEC.md §12.8) between two
renders, per model and dtype: the numbers behind the tolerances the regen
vectors state. Same device and platform must compare as identical.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

CASES_SEEDS = (1, 829557441)
PROMPTS = (("a red circle on a blue background", "green"), ("a yellow square", ""))


def cases(reg):
    out = []
    for m in reg.table("models").entries:
        if m.get("status") != "conformance":
            continue
        fam = reg.family_of(m["key"])
        scheds = ["default"] + (["k-euler-a", "k-dpmpp-2m-karras", "ddim"] if fam.raw["scheduler_kind"] == "discrete" else [])
        for dtype in ("float32", "bfloat16", "float16"):
            for sched in scheds:
                for seed in CASES_SEEDS:
                    for prompt, neg in PROMPTS[:1 if sched != "default" else 2]:
                        out.append({"model": m["key"], "dtype": dtype, "scheduler": sched, "seed": seed, "prompt": prompt, "negative_prompt": neg})
    return out


def render(args) -> int:
    import torch
    from aigif import jsonform
    from aigif.errors import AigifError
    from aigif.regen import Regenerator, pixels
    regen = Regenerator(device=args.device, threads=args.threads)
    reg = regen.reg
    arrays, meta = {}, []
    for i, c in enumerate(cases(reg)):
        size = reg.table("models").by_key[c["model"]].get("sample_size") or 64
        f = jsonform.new(c["model"], reg, prompt=c["prompt"], negative_prompt=c["negative_prompt"], height=size, width=size,
                         seed=c["seed"], dtype=c["dtype"], noise="torch-cpu", fields={"scheduler": c["scheduler"]})
        try:
            px = pixels.canonical(regen.generate(f))
            arrays[f"c{i}"] = px
            meta.append({**c, "id": f"c{i}", "ok": True})
        except (AigifError, RuntimeError, NotImplementedError) as exc:  # e.g. a dtype a device lacks
            meta.append({**c, "id": f"c{i}", "ok": False, "error": str(exc).splitlines()[0][:200]})
        print(f"[{i + 1}] {c['model']} {c['dtype']} {c['scheduler']} seed {c['seed']}: {'ok' if meta[-1]['ok'] else meta[-1]['error']}", flush=True)
    p = regen.platform
    platform = {"device": p.device, "gpu": p.gpu, "cuda": p.cuda, "torch": p.torch, "diffusers": p.diffusers,
                "cpu": p.cpu_capability, "threads": args.threads, "name": torch.cuda.get_device_name() if args.device == "cuda" else "cpu"}
    np.savez_compressed(args.out, meta=json.dumps({"platform": platform, "cases": meta}), **arrays)
    return 0


def psnr(a, b) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


def compare(args) -> int:
    A, B = np.load(args.a), np.load(args.b)
    ma, mb = json.loads(str(A["meta"])), json.loads(str(B["meta"]))
    rows = {}
    for ca, cb in zip(ma["cases"], mb["cases"]):
        assert {k: ca[k] for k in ("model", "dtype", "scheduler", "seed")} == {k: cb[k] for k in ("model", "dtype", "scheduler", "seed")}
        if not (ca["ok"] and cb["ok"]):
            continue
        rows.setdefault((ca["model"], ca["dtype"]), []).append(psnr(A[ca["id"]], B[cb["id"]]))
    print(f"A: {ma['platform']}\nB: {mb['platform']}\n")
    print("| model | dtype | cases | identical | min PSNR dB | median PSNR dB |\n|---|---|---:|---:|---:|---:|")
    out = []
    for (model, dtype), v in sorted(rows.items()):
        fin = [x for x in v if math.isfinite(x)]
        mn = min(v)
        med = sorted(v)[len(v) // 2]
        print(f"| {model} | {dtype} | {len(v)} | {len(v) - len(fin)} | {'∞' if math.isinf(mn) else f'{mn:.1f}'} | {'∞' if math.isinf(med) else f'{med:.1f}'} |")
        out.append({"model": model, "dtype": dtype, "cases": len(v), "identical": len(v) - len(fin),
                    "min_psnr": None if math.isinf(mn) else round(mn, 2), "median_psnr": None if math.isinf(med) else round(med, 2)})
    if args.json:
        Path(args.json).write_text(json.dumps({"a": ma["platform"], "b": mb["platform"], "rows": out}, indent=2) + "\n")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("render")
    r.add_argument("--device", default="cpu")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    c.add_argument("--json")
    args = ap.parse_args()
    return render(args) if args.cmd == "render" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
