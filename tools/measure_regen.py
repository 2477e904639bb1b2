"""Measure the regen vectors on this machine: render each in-process with the
reference regenerator and record PSNR against its expected image, in the
conformance runner's --results format, so that
``python -m tools.vectors --tolerances-from`` can turn runs on several
platforms, thread counts and processes into the tolerances the vectors state.
Keep each run beside the tolerances, as conformance/tolerances/measurements-<label>.json.

    AIGIF_THREADS=2 python -m tools.measure_regen --device-class cpu --label cpu-2threads \
        --out conformance/tolerances/measurements-cpu-2threads.json

New vectors (just added to tools/vectors/regen_cases.py): render their expected images in one
process, measure them from others, merge, then build the vectors:

    python -m tools.measure_regen --render-new /tmp/new
    python -m tools.measure_regen --new '*' --expected /tmp/new --device-class cpu:reference \
        --label cpu-1thread-process2 --out conformance/tolerances/measurements-cpu-1thread.json
    AIGIF_THREADS=2 python -m tools.measure_regen --new '*' --expected /tmp/new --label cpu-2threads \
        --out conformance/tolerances/measurements-cpu-2threads.json
    python -m tools.vectors --tolerances-from && python -m tools.vectors --render-new
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


def _new_cases(pattern: str) -> dict[str, bytes]:
    """Regen cases of the builder (tools/vectors) that vectors/ has no expected image for yet."""
    import fnmatch

    from aigif import codec, jsonform
    from tools.vectors.common import REG
    from tools.vectors.regen_cases import regen_cases
    out = {}
    for case in regen_cases():
        if fnmatch.fnmatch(case["name"], pattern) and not (ROOT / "vectors" / "regen" / f"{case['name']}.png").is_file():
            out[case["name"]] = codec.write(jsonform.from_json(case["fields"], REG), REG)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device-class", default="cpu")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--label", required=False)
    ap.add_argument("--out", required=False)
    ap.add_argument("--new", metavar="GLOB", help="measure the builder's new regen cases (no expected image in vectors/ yet) "
                    "against the images in --expected, and merge the results into --out")
    ap.add_argument("--expected", type=Path, metavar="DIR", help="with --new: where the new cases' expected images are (NAME.png)")
    ap.add_argument("--render-new", type=Path, metavar="DIR", help="render the new cases' expected images into DIR (this process is "
                    "'process 1'; measure them from another process with --new)")
    args = ap.parse_args()
    from PIL import Image

    from aigif import codec
    from aigif.errors import AigifError
    from aigif.regen import Regenerator, pixels
    regen = Regenerator(device=args.device)
    if args.render_new:
        args.render_new.mkdir(parents=True, exist_ok=True)
        for name, data in _new_cases("*").items():
            img = pixels.canonical(regen.generate(codec.read(data, regen.reg)))
            (args.render_new / f"{name}.png").write_bytes(pixels.encode_png(img))
            print(f"{name}: rendered", flush=True)
        return 0
    if not (args.label and args.out):
        ap.error("--label and --out are required")
    if args.new:
        todo = [(name, data, args.expected / f"{name}.png") for name, data in _new_cases(args.new).items()]
    else:
        todo = [(m.stem, m.with_suffix(".aigif").read_bytes(), m.with_suffix(".png"))
                for m in sorted((ROOT / "vectors" / "regen").glob("*.json"))]
    results = []
    for name, data, expected in todo:
        f = codec.read(data, regen.reg)
        try:
            got = pixels.canonical(regen.generate(f))
        except AigifError as err:  # "cannot here" (a noise source, a dtype): recorded, not measured
            results.append({"id": f"regen/{name}", "class": "regen", "ok": False, "detail": {"error": err.code}})
            print(f"{name}: {err.code} {err.message}", flush=True)
            continue
        want = np.asarray(Image.open(expected).convert("RGB"))
        p = pixels.psnr(got, want)
        results.append({"id": f"regen/{name}", "class": "regen", "ok": True, "detail": {"psnr": "inf" if math.isinf(p) else round(p, 3)}})
        print(f"{name}: {'identical' if math.isinf(p) else f'{p:.2f} dB'}", flush=True)
    threads = os.environ.get("AIGIF_THREADS", "1")
    label = f"{args.label} ({platform.machine()}, torch {regen.platform.torch}, {regen.platform.cpu_capability}, threads {threads})"
    out = Path(args.out)
    if args.new and out.is_file():  # merge: the new vectors' results join the run already recorded for this platform
        doc = json.loads(out.read_text())
        ids = {r["id"] for r in results}
        doc["results"] = [r for r in doc["results"] if r["id"] not in ids] + results
    else:
        doc = {"device_class": args.device_class, "platform": label, "results": results}
    out.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
