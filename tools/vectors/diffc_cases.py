"""The diffc pixel-codec vectors (SPEC.md Appendix H): ``vectors/diffc/``.

    python -m tools.vectors.diffc_cases            # rebuild vectors/diffc/ (encodes and decodes on tiny-sd1)
    python -m tools.vectors.diffc_cases --check    # decode the committed vectors, compare (exit 1 on a mismatch)

A *decode* vector is a tiny-sd1 file whose pixel payload is ``diffc``
(``NAME.aigif``) and the canonical pixels that payload decodes to here
(``NAME.png``, the reference platform: torch CPU, 1 thread). A decoder passes
when its pixels are identical on the reference platform and, elsewhere, when
their PSNR against ``NAME.png`` is at least ``min_psnr_db``. A *reject*
vector is a file whose diffc payload frames correctly (a parser accepts the
file) but that a diffc decoder must refuse with ``error``.

Separate from the four classes of ``vectors/manifest.json`` because the
decoder contract (conformance/CONTRACT.md) has no "decode the pixel payload"
command yet; ``vectors/diffc/manifest.json`` is this set's manifest.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .common import ROOT, BuildError, dumps

OUT = ROOT / "vectors" / "diffc"
#: provisional cross-platform floor: measured only on the reference platform so far
MIN_PSNR_DB = 30.0
SEED = 829557441


def _file(seed: int, prompt: str):
    from aigif import jsonform
    f = jsonform.new("tiny-sd1", height=64, width=64, seed=seed, prompt=prompt, dtype="float32", noise="portable")
    f.fields["steps"] = 4
    return f


def cases(regen) -> list[dict]:
    """name -> file bytes, expected pixels (decode) or error (reject)."""
    from aigif import codec
    from aigif.file import PixelPayload
    from aigif.pixelcodecs import decode_payload, diffc, diffc_model
    from aigif.regen import pixels
    out = []
    base = _file(SEED, "a red circle on a blue background")
    img = pixels.canonical(regen.generate(base))
    edited = img.copy()
    edited[16:32, 16:32] = (230, 40, 40)
    m = diffc_model(base, regen)
    specs: list[tuple[str, str, np.ndarray, dict[str, Any]]] = [
        ("diffc-tiny-sd1-64-header-only", "header only: no records (the model's sample for the seed)", img, dict(timesteps=[])),
        ("diffc-tiny-sd1-64-3-steps", "3 coded steps down to t 500, 64 index bits a step", img,
         dict(steps=3, t_end=500, max_step_bits=64, k_max=8, flow_steps=2)),
        ("diffc-tiny-sd1-64-edited-6-steps", "an edited image (painted patch), 6 coded steps down to t 300", edited,
         dict(steps=6, t_end=300, max_step_bits=512, k_max=8, flow_steps=4)),
    ]
    for name, desc, im, opts in specs:
        rep = diffc.encode(im, m, seed=SEED, **opts)
        f = _file(SEED, "a red circle on a blue background")
        f.pixels = PixelPayload("diffc", rep.payload)
        data = codec.write(f)
        got = decode_payload(codec.read(data), regen)
        out.append({"name": name, "kind": "decode", "description": desc, "data": data, "pixels": got,
                    "records": len(rep.record_ends), "payload_bytes": len(rep.payload)})
    good = diffc.encode(img, m, seed=SEED, steps=2, t_end=600, max_step_bits=14, k_max=7, flow_steps=1).payload  # 2 padding bits a record
    bad = [
        ("diffc-reject-size", "the codec header says 64×32, the file 64×64", diffc.serialize(
            diffc.Header(64, 32, SEED, 999, 1), []), "E_PAYLOAD"),
        ("diffc-reject-version-2", "payload version 2", bytes([2]) + good[1:], "E_UNSUPPORTED"),
        ("diffc-reject-padding", "a nonzero padding bit after the indices", good[:-1] + bytes([good[-1] | 1]), "E_NONZERO_PADDING"),
        ("diffc-reject-timestep-order", "a record whose timestep is not below the previous one",
         good[:15] + bytes([0xE7, 0x07]) + good[17:], "E_RANGE"),
        ("diffc-reject-cut-record", "a payload cut inside a record", good[:-1], "E_OVERRUN"),
    ]
    for name, desc, payload, err in bad:
        f = _file(SEED, "a red circle on a blue background")
        f.pixels = PixelPayload("diffc", payload)
        data = codec.write(f)
        try:
            decode_payload(codec.read(data), regen)
        except Exception as exc:  # the reference must refuse it with exactly this code
            if getattr(exc, "code", None) != err:
                raise BuildError(f"{name}: the reference says {exc!r}, the vector {err}") from None
        else:
            raise BuildError(f"{name}: the reference decodes it; the vector says {err}")
        out.append({"name": name, "kind": "reject", "description": desc, "data": data, "error": err})
    return out


def build(out_dir: Path = OUT) -> dict:
    from aigif.regen import Regenerator, pixels
    regen = Regenerator(device="cpu", threads=1)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for c in cases(regen):
        (out_dir / f"{c['name']}.aigif").write_bytes(c["data"])
        e = {"id": f"diffc/{c['name']}", "kind": c["kind"], "description": c["description"],
             "input": {"path": f"diffc/{c['name']}.aigif", "sha256": hashlib.sha256(c["data"]).hexdigest()}}
        if c["kind"] == "decode":
            png = pixels.encode_png(c["pixels"])
            (out_dir / f"{c['name']}.png").write_bytes(png)
            e["expected"] = {"path": f"diffc/{c['name']}.png", "pixels_sha256": hashlib.sha256(c["pixels"].tobytes()).hexdigest()}
            e["tolerance"] = {"reference_platform": "bit-exact", "elsewhere_min_psnr_db": MIN_PSNR_DB}
            e["records"], e["payload_bytes"] = c["records"], c["payload_bytes"]
        else:
            e["error"] = c["error"]
        entries.append(e)
    manifest = {"set": "diffc", "spec": "SPEC.md Appendix H", "model": "tiny-sd1",
                "reference_platform": "torch CPU float32, 1 thread (diffusers 0.42.1)",
                "decode": "decode the file's pixel payload (aigif.pixelcodecs.decode_payload); compare the canonical pixels",
                "vectors": entries}
    (out_dir / "manifest.json").write_bytes(dumps(manifest))
    return manifest


def check(out_dir: Path = OUT) -> list[str]:
    """Decode every committed vector; the problems found (empty: all pass)."""
    from aigif import codec
    from aigif.errors import AigifError
    from aigif.pixelcodecs import decode_payload
    from aigif.regen import Regenerator, pixels
    regen = Regenerator(device="cpu", threads=1)
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    bad = []
    for e in manifest["vectors"]:
        data = (out_dir.parent / e["input"]["path"]).read_bytes()
        if hashlib.sha256(data).hexdigest() != e["input"]["sha256"]:
            bad.append(f"{e['id']}: input does not match its sha256")
            continue
        try:
            got = decode_payload(codec.read(data), regen)
        except AigifError as err:
            if e["kind"] != "reject" or err.code != e["error"]:
                bad.append(f"{e['id']}: {err.code}")
            continue
        if e["kind"] == "reject":
            bad.append(f"{e['id']}: decoded; expected {e['error']}")
            continue
        want = pixels.decode_png((out_dir.parent / e["expected"]["path"]).read_bytes(), got.shape[1], got.shape[0])
        p = pixels.psnr(want, got)
        if not np.isinf(p) and p < e["tolerance"]["elsewhere_min_psnr_db"]:
            bad.append(f"{e['id']}: PSNR {p:.2f} dB")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="decode the committed vectors instead of rebuilding")
    args = ap.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) or "all diffc vectors pass")
        return 1 if problems else 0
    m = build()
    print(f"{len(m['vectors'])} diffc vectors in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
