"""Throughput of ``aigif batch`` (Ray) against the single-process loop, on
the same inputs, measured in one run; then the cost model at 100 million files.

    python benchmarks/bench_batch.py                 # 10,000 .aigif, 5,000 images, 24 decodes
    python benchmarks/bench_batch.py --validate 2000 --convert 1000 --decode 8   # quicker
    python benchmarks/bench_batch.py --memory 10000 100000    # driver peak RSS: validate, then its resume

Inputs are made in a temporary directory: copies of ``vectors/parse/*.aigif``
(validate) and of the images under ``tests/data/realworld`` (convert), spread
over folders of 500; decode files are the conformance model ``tiny-sd1`` with
varied seeds. Ray runs locally with as many CPUs as the machine has; the
1- and 2-worker runs are ``run_batch`` with ``workers=1`` / ``2`` (planning,
resume checks and the results log included: the whole command's cost).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "reference"))

from aigif import codec  # noqa: E402
from aigif.batch.driver import run_batch  # noqa: E402
from aigif.cli.common import read_file  # noqa: E402
from aigif.registry import load  # noqa: E402

IMAGES = {".png", ".jpg", ".jpeg", ".webp"}


def copies(src: list[Path], dest: Path, n: int) -> list[Path]:
    """``n`` inputs cycled from ``src``, 500 to a folder, each name unique."""
    out = []
    for i in range(n):
        d = dest / f"d{i // 500:04d}"
        d.mkdir(parents=True, exist_ok=True)
        p = d / f"{i:06d}-{src[i % len(src)].name}"
        shutil.copyfile(src[i % len(src)], p)
        out.append(p)
    return out


def make_aigif(dest: Path, n: int) -> list[Path]:
    return copies(sorted((ROOT / "vectors" / "parse").glob("*.aigif")), dest, n)


def make_images(dest: Path, n: int) -> list[Path]:
    return copies(sorted(p for p in (ROOT / "tests" / "data" / "realworld").rglob("*") if p.suffix.lower() in IMAGES), dest, n)


def loop_validate(files: list[Path]) -> float:
    reg = load()
    t = time.perf_counter()
    for p in files:
        try:
            codec.read(read_file(str(p)), reg)
        except Exception:  # invalid vectors count as work done
            pass
    return time.perf_counter() - t


def loop_convert(files: list[Path], root: Path, out: Path) -> float:
    from aigif.cli.convert import convert_one
    from aigif.errors import AigifError
    from aigif.fsutil import atomic_write
    reg = load()
    t = time.perf_counter()
    for p in files:
        try:
            _, data = convert_one(p, None, reg)
        except AigifError:
            continue
        dest = out / p.relative_to(root).with_suffix(".aigif")
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, data)
    return time.perf_counter() - t


def batch(op: str, root: Path, out: Path | None, res: Path, workers: int, **kw) -> float:
    t = time.perf_counter()
    run_batch(op, [str(root)], outdir=str(out) if out else None, results_path=str(res), opts={"budget": 600},
              workers=workers, progress=False, out=open(os.devnull, "w"), **kw)
    return time.perf_counter() - t


def make_tiny(dest: Path, n: int) -> list[Path]:
    dest.mkdir(parents=True)
    first = dest / "seed0.aigif"
    subprocess.run([sys.executable, "-m", "aigif.cli.main", "encode", "--model", "tiny-sd1", "--prompt", "a red circle",
                    "--steps", "4", "--seed", "0", "-o", str(first)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "reference")})
    f = codec.read(first.read_bytes())
    out = [first]
    for s in range(1, n):
        f.seed, f.digest = s, None
        p = dest / f"seed{s}.aigif"
        p.write_bytes(codec.write(f))
        out.append(p)
    return out


MEASURE = """
import os, resource, sys, time
from aigif.batch.driver import run_batch
t = time.perf_counter()
s = run_batch("validate", [sys.argv[1]], outdir=None, results_path=sys.argv[2], opts={"budget": 600},
              workers=2, chunk=256, progress=False, out=open(os.devnull, "w"))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter() - t, s["ran"], s["inputs"])
"""


def memory(sizes: list[int], reference: Path) -> None:
    """The driver's peak RSS (its own process: the Ray workers and daemons are
    others) for a validate of N files, then for the re-run that skips them
    all (the resume index over N rows); each in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(reference)}
    print(f"# driver peak RSS, aigif batch validate, 2 workers (code: {reference})\n")
    print("| files | run: peak RSS | run: s | resume (all skipped): peak RSS | resume: s |")
    print("|---:|---:|---:|---:|---:|")
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="aigif-bench-mem-") as tmp:
            t = Path(tmp)
            make_aigif(t / "v", n)
            out = []
            for _ in range(2):  # the run, then the resume
                r = subprocess.run([sys.executable, "-c", MEASURE, str(t / "v"), str(t / "r")], env=env, check=True,
                                   capture_output=True, text=True)
                kib, sec, ran, inputs = r.stdout.split()[-4:]
                out.append((int(kib) / 1024, float(sec)))
            print(f"| {n:,} | {out[0][0]:,.0f} MiB | {out[0][1]:.1f} | {out[1][0]:,.0f} MiB | {out[1][1]:.1f} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--memory", type=int, nargs="+", metavar="N", help="only measure the driver's peak RSS for these sizes")
    ap.add_argument("--reference", type=Path, default=ROOT / "reference", help="(--memory) the aigif package's parent directory")
    ap.add_argument("--validate", type=int, default=10_000, help=".aigif files to validate")
    ap.add_argument("--convert", type=int, default=5_000, help="images to convert")
    ap.add_argument("--decode", type=int, default=24, help="tiny-sd1 files to decode (batched)")
    ap.add_argument("--decode-single", type=int, default=6, help="of those, decoded one per process (model loaded each time)")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args()
    if args.memory:
        memory(args.memory, args.reference.resolve())
        return 0
    import ray
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    fig: dict = {"cpus": os.cpu_count(), "ray": ray.__version__}
    with tempfile.TemporaryDirectory(prefix="aigif-bench-batch-") as tmp:
        t = Path(tmp)
        v = make_aigif(t / "v", args.validate)
        fig["validate_files"] = len(v)
        fig["validate_loop_s"] = loop_validate(v)
        for w in (1, 2):
            fig[f"validate_ray{w}_s"] = batch("validate", t / "v", None, t / f"rv{w}", w, chunk=256)
        fig["validate_resume_s"] = batch("validate", t / "v", None, t / "rv2", 2, chunk=256)  # all done: the skip check
        c = make_images(t / "c", args.convert)
        fig["convert_files"] = len(c)
        fig["convert_loop_s"] = loop_convert(c, t / "c", t / "co-loop")
        for w in (1, 2):
            fig[f"convert_ray{w}_s"] = batch("convert", t / "c", t / f"co{w}", t / f"rc{w}", w, chunk=64)
        if args.decode:
            d = make_tiny(t / "tiny", args.decode)
            fig["decode_files"] = len(d)
            fig["decode_ray2_s"] = batch("decode", t / "tiny", t / "do", t / "rd", 2)
            fig["decode_ray1_s"] = batch("decode", t / "tiny", t / "do1", t / "rd1", 1)
            env = {**os.environ, "PYTHONPATH": str(ROOT / "reference")}
            ts = time.perf_counter()
            for p in d[: args.decode_single]:
                subprocess.run([sys.executable, "-m", "aigif.cli.main", "decode", str(p), "-o", str(t / "ds" / (p.stem + ".png"))],
                               check=True, capture_output=True, env=env)
            fig["decode_single_files"] = min(args.decode_single, len(d))
            fig["decode_single_s"] = time.perf_counter() - ts
            rows = [json.loads(line) for line in open(t / "rd1.jsonl")]
            fig["decode_seconds_per_file_in_worker"] = sorted(r["seconds"] for r in rows)[len(rows) // 2]
    report(fig)
    if args.json:
        Path(args.json).write_text(json.dumps(fig, indent=1))
    return 0


def report(f: dict) -> None:
    def rate(n, s):
        return n / s if s else float("nan")
    print(f"# aigif batch benchmark ({f['cpus']} CPUs, Ray {f['ray']})\n")
    print("| work | files | single-process loop | Ray, 1 worker | Ray, 2 workers | 2 workers / loop |")
    print("|---|---:|---:|---:|---:|---:|")
    for op in ("validate", "convert"):
        n = f[f"{op}_files"]
        lp, r1, r2 = rate(n, f[f"{op}_loop_s"]), rate(n, f[f"{op}_ray1_s"]), rate(n, f[f"{op}_ray2_s"])
        print(f"| {op} | {n:,} | {lp:,.0f} files/s | {r1:,.0f} files/s | {r2:,.0f} files/s | {r2 / lp:.2f}× |")
    print(f"\nre-run of a finished validate (every file skipped): {rate(f['validate_files'], f['validate_resume_s']):,.0f} files/s")
    over = (f["validate_ray1_s"] - f["validate_loop_s"]) / f["validate_files"]
    print(f"engine overhead per file (validate, Ray 1 worker - loop, Ray start included): {over * 1e3:.3f} ms")
    if "decode_files" in f:
        n, k = f["decode_files"], f["decode_single_files"]
        one = f["decode_single_s"] / k
        print(f"\ndecode, tiny-sd1 64x64, 4 steps: one `aigif decode` per file {one:.2f} s/file ({k} files); "
              f"batched, 1 worker {f['decode_ray1_s'] / n:.2f} s/file, 2 workers {f['decode_ray2_s'] / n:.2f} s/file "
              f"({n} files; {one / (f['decode_ray2_s'] / n):.1f}× faster); in-worker median {f['decode_seconds_per_file_in_worker']:.3f} s/file")
    # cost model at 100 M files, from the per-file times above
    N = 100_000_000
    per_core = {op: f[f"{op}_ray2_s"] / f[f"{op}_files"] * 2 for op in ("validate", "convert")}  # core-seconds a file
    print("\ncost model, 100 million files (core-seconds per file from the 2-worker runs):")
    for op, cs in per_core.items():
        core_h = N * cs / 3600
        print(f"  {op}: {cs * 1e3:.2f} ms/core -> {core_h:,.0f} core-hours; on 64 cores {core_h / 64:,.1f} h, 512 cores {core_h / 512:,.1f} h")


if __name__ == "__main__":
    sys.exit(main())
