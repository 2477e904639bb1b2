"""Measure the regen vectors on this machine: render each in-process with the
reference regenerator and record PSNR against its expected image, in the
conformance runner's --results format, so that
``python -m tools.vectors --tolerances-from`` can turn runs on several
platforms, thread counts and processes into the tolerances the vectors state.
Keep each run beside the tolerances, as conformance/tolerances/measurements-<label>.json.

    AIGIF_THREADS=2 python -m tools.measure_regen --device-class cpu --label cpu-2threads \
        --out conformance/tolerances/measurements-cpu-2threads.json
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device-class", default="cpu")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--label", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    from PIL import Image

    from aigif import codec
    from aigif.errors import AigifError
    from aigif.regen import Regenerator, pixels
    regen = Regenerator(device=args.device)
    results = []
    for meta in sorted((ROOT / "vectors" / "regen").glob("*.json")):
        name = meta.stem
        f = codec.read((meta.with_suffix(".aigif")).read_bytes(), regen.reg)
        try:
            got = pixels.canonical(regen.generate(f))
        except AigifError as err:  # "cannot here" (a noise source, a dtype): recorded, not measured
            results.append({"id": f"regen/{name}", "class": "regen", "ok": False, "detail": {"error": err.code}})
            print(f"{name}: {err.code} {err.message}", flush=True)
            continue
        want = np.asarray(Image.open(meta.with_suffix(".png")).convert("RGB"))
        p = pixels.psnr(got, want)
        results.append({"id": f"regen/{name}", "class": "regen", "ok": True, "detail": {"psnr": "inf" if math.isinf(p) else round(p, 3)}})
        print(f"{name}: {'identical' if math.isinf(p) else f'{p:.2f} dB'}", flush=True)
    threads = os.environ.get("AIGIF_THREADS", "1")
    label = f"{args.label} ({platform.machine()}, torch {regen.platform.torch}, {regen.platform.cpu_capability}, threads {threads})"
    Path(args.out).write_text(json.dumps({"device_class": args.device_class, "platform": label, "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
