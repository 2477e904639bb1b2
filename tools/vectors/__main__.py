"""python -m tools.vectors: build the conformance vectors (see tools/vectors/__init__.py).

    python -m tools.vectors                      # rebuild vectors/{parse,reject,noise,regen} and the manifest
    python -m tools.vectors --out DIR            # somewhere else
    python -m tools.vectors --check              # rebuild into a temporary directory, compare with vectors/
    python -m tools.vectors --render             # also render the regen vectors' expected images
    python -m tools.vectors --render-new         # render only regen vectors that have no expected image yet
    python -m tools.vectors --tolerances-from [RESULTS.json ...]
                                                 # regen measurements -> conformance/tolerances/regen-tolerances.json
    python -m tools.vectors --measure-cuda       # on a GPU: conformance/tolerances/noise-torch-cuda.json
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from . import CLASSES, ROOT, build, compare_dirs
from .noise import CUDA_NOISE_FILE, measure_cuda
from .tolerances import TOLERANCE_MARGIN_DB, TOLERANCES_DIR, TOLERANCES_FILE, dumps_tolerances, measurement_files, tolerances_from


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.vectors", description="Build the AIGIF conformance vectors.")
    ap.add_argument("--out", type=Path, default=ROOT / "vectors", help="output directory (default vectors/)")
    ap.add_argument("--check", action="store_true", help="build into a temporary directory and compare with --out")
    ap.add_argument("--render", action="store_true", help="render the regen vectors' expected images (needs aigif.regen and the models)")
    ap.add_argument("--render-new", action="store_true", help="render only the expected images that vectors/ lacks (new regen vectors)")
    ap.add_argument("--measure-cuda", action="store_true", help=f"measure the torch-cuda noise values on this GPU into {CUDA_NOISE_FILE.relative_to(ROOT)}")
    ap.add_argument("--tolerances-from", nargs="*", type=Path, metavar="RESULTS.json",
                    help="merge regen measurements (python -m tools.measure_regen, or aigif-conformance run --measure --results) into "
                         f"{TOLERANCES_FILE.relative_to(ROOT)}; with no files, those in {TOLERANCES_DIR.relative_to(ROOT)}/")
    ap.add_argument("--margin", type=float, default=TOLERANCE_MARGIN_DB, help="dB below the lowest measured PSNR (default 3)")
    args = ap.parse_args(argv)
    if args.measure_cuda:
        return measure_cuda()
    if args.tolerances_from is not None:
        doc = tolerances_from(args.tolerances_from or measurement_files(), args.margin)
        TOLERANCES_FILE.write_text(dumps_tolerances(doc))
        print(f"{TOLERANCES_FILE}: tolerances for {len(doc['vectors'])} vectors; now rebuild the vectors")
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp), args.render, committed=args.out)
            diffs = compare_dirs(Path(tmp), args.out)
        for d in diffs:
            print(f"differs: {d}")
        print("vectors are up to date" if not diffs else f"{len(diffs)} files differ: run python -m tools.vectors")
        return 1 if diffs else 0
    m = build(args.out, True if args.render else ("new" if args.render_new else False))
    counts = ", ".join(f"{c} {m['classes'][c]['count']}" for c in CLASSES)
    print(f"{args.out}: {len(m['vectors'])} vectors ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
