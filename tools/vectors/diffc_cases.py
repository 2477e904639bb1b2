"""The diffc pixel-codec vectors (SPEC.md Appendix H): class ``diffc`` of
``vectors/manifest.json``, files in ``vectors/diffc/``.

    python -m tools.vectors.diffc_cases            # re-encode vectors/diffc/*.aigif and *.png on tiny-sd1, then python -m tools.vectors
    python -m tools.vectors.diffc_cases --check    # decode the committed vectors in this process, compare (exit 1 on a mismatch)

A *decode* vector is a tiny-sd1 file whose pixel payload is ``diffc``
(``NAME.aigif``), the canonical pixels that payload decodes to on the
reference platform (``NAME.png``: torch CPU float32, 1 thread) and its
tolerance per device class (``NAME.json``: bit-exact on ``cpu:reference``,
at least :data:`MIN_PSNR_DB` elsewhere). A *reject* vector is a file whose
diffc payload frames correctly (a parser accepts the file) but that a diffc
decoder must refuse with the code in ``NAME.json`` (``{"error", "fault",
"spec"}``). The runner drives both with ``CMD decode FILE OUT.png``
(conformance/CONTRACT.md §5a).

Encoding needs the model, so the ``.aigif`` and ``.png`` files are made here
and carried over by ``python -m tools.vectors`` (which writes the JSON files
and the manifest, and checks every file without the model: it parses, its
payload is diffc, a reject vector's bitstream fails with its code).
"""
from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Any

import numpy as np

from .common import ROOT, BuildError, Vectors, dumps

OUT = ROOT / "vectors" / "diffc"
#: provisional cross-platform floor: measured only on the reference platform so far
MIN_PSNR_DB = 30.0
SEED = 829557441
PROMPT = "a red circle on a blue background"
REFERENCE_PLATFORM = {"label": "torch CPU float32, 1 thread (diffusers 0.42.1)", "device": "cpu", "threads": 1,
                      "decoder": "python -m aigif.refdecoder decode"}

#: name -> (description, encode options, edited): the decode vectors, in manifest order
DECODE: list[tuple[str, str, dict[str, Any], bool]] = [
    ("diffc-tiny-sd1-64-header-only", "header only: no records (the model's sample for the seed)", dict(timesteps=[]), False),
    ("diffc-tiny-sd1-64-3-steps", "3 coded steps down to t 500, 64 index bits a step",
     dict(steps=3, t_end=500, max_step_bits=64, k_max=8, flow_steps=2), False),
    ("diffc-tiny-sd1-64-edited-6-steps", "an edited image (painted patch), 6 coded steps down to t 300",
     dict(steps=6, t_end=300, max_step_bits=512, k_max=8, flow_steps=4), True),
]
#: name -> (description, error, SPEC.md sections): the reject vectors, in manifest order
REJECT: list[tuple[str, str, str, list[str]]] = [
    ("diffc-reject-size", "the codec header says 64×32, the file 64×64", "E_PAYLOAD", ["§6.3", "Appendix H.6"]),
    ("diffc-reject-version-2", "payload version 2", "E_UNSUPPORTED", ["Appendix H.6", "Appendix H.11"]),
    ("diffc-reject-padding", "a nonzero padding bit after the indices", "E_NONZERO_PADDING", ["Appendix H.6", "Appendix H.11"]),
    ("diffc-reject-timestep-order", "a record whose timestep is not below the previous one", "E_RANGE",
     ["Appendix H.6", "Appendix H.11"]),
    ("diffc-reject-cut-record", "a payload cut inside a record", "E_OVERRUN", ["Appendix H.6", "Appendix H.11"]),
]


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
    base = _file(SEED, PROMPT)
    img = pixels.canonical(regen.generate(base))
    edited = img.copy()
    edited[16:32, 16:32] = (230, 40, 40)
    m = diffc_model(base, regen)
    for name, desc, opts, is_edited in DECODE:
        im = edited if is_edited else img
        rep = diffc.encode(im, m, seed=SEED, **opts)
        f = _file(SEED, PROMPT)
        f.pixels = PixelPayload("diffc", rep.payload)
        data = codec.write(f)
        got = decode_payload(codec.read(data), regen)
        out.append({"name": name, "kind": "decode", "description": desc, "data": data, "pixels": got,
                    "records": len(rep.record_ends), "payload_bytes": len(rep.payload)})
    good = diffc.encode(img, m, seed=SEED, steps=2, t_end=600, max_step_bits=14, k_max=7, flow_steps=1).payload  # 2 padding bits a record
    payloads = {
        "diffc-reject-size": diffc.serialize(diffc.Header(64, 32, SEED, 999, 1), []),
        "diffc-reject-version-2": bytes([2]) + good[1:],
        "diffc-reject-padding": good[:-1] + bytes([good[-1] | 1]),
        "diffc-reject-timestep-order": good[:15] + bytes([0xE7, 0x07]) + good[17:],
        "diffc-reject-cut-record": good[:-1],
    }
    bad = [(name, desc, payloads[name], err) for name, desc, err, _spec in REJECT]
    for name, desc, payload, err in bad:
        f = _file(SEED, PROMPT)
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


def build(out_dir: Path = OUT) -> list[str]:
    """Encode every vector on the reference platform: ``NAME.aigif`` and, for
    decode vectors, ``NAME.png`` (the JSON files and the manifest are
    ``python -m tools.vectors``'s)."""
    from aigif.regen import Regenerator, pixels
    regen = Regenerator(device="cpu", threads=1)
    out_dir.mkdir(parents=True, exist_ok=True)
    names = []
    for c in cases(regen):
        (out_dir / f"{c['name']}.aigif").write_bytes(c["data"])
        if c["kind"] == "decode":
            (out_dir / f"{c['name']}.png").write_bytes(pixels.encode_png(c["pixels"]))
        names.append(c["name"])
    return names


def _read(committed: Path, fname: str) -> bytes:
    path = committed / "diffc" / fname
    if not path.is_file():
        raise BuildError(f"{path} is missing: run python -m tools.vectors.diffc_cases (it needs the tiny-sd1 model)")
    return path.read_bytes()


def _payload(name: str, data: bytes):
    """The file's diffc payload, checked without the model: the file parses (class P accepts it)."""
    from aigif import codec
    from aigif.errors import AigifError
    try:
        f = codec.read(data)
    except AigifError as err:
        raise BuildError(f"diffc/{name}: the reference parser rejects the file ({err.code}); a diffc vector must parse") from None
    if f.pixels is None or f.pixels.codec != "diffc":
        raise BuildError(f"diffc/{name}: the file's pixel payload is not diffc")
    return f


def build_diffc(vs: Vectors, committed: Path | None = None) -> None:
    """The diffc class: the committed ``.aigif``/``.png`` files (made by
    :func:`build`), their JSON written here. A reject vector's bitstream must
    fail with its code (:func:`aigif.pixelcodecs.diffc.parse`, no model needed)."""
    from aigif.errors import AigifError
    from aigif.pixelcodecs import diffc
    committed = committed or ROOT / "vectors"
    for name, desc, _opts, _edited in DECODE:
        data = _read(committed, f"{name}.aigif")
        f = _payload(name, data)
        try:
            _hdr, steps = diffc.parse(f.pixels.data, f.width, f.height)
        except AigifError as err:
            raise BuildError(f"diffc/{name}: the payload does not parse ({err.code})") from None
        png = _read(committed, f"{name}.png")
        from aigif.regen.pixels import decode_png
        px = decode_png(png, f.width, f.height)  # no torch: the PNG reader of the canonical pixels
        meta = {"description": desc, "codec": "diffc", "model": f.model,
                "tolerance": {"cpu:reference": "bit-exact",
                              "*": {"psnr_min": MIN_PSNR_DB,
                                    "measured": {"min_psnr": "inf", "runs": 1, "platforms": ["cpu:reference"],
                                                 "note": "a provisional floor: measured on the reference platform only"}}},
                "reference_platform": REFERENCE_PLATFORM, "records": len(steps), "payload_bytes": len(f.pixels.data),
                "pixels_sha256": hashlib.sha256(np.ascontiguousarray(px).tobytes()).hexdigest()}
        vs.add("diffc", name, desc, {"input": (f"{name}.aigif", data), "expected": (f"{name}.png", png),
                                      "meta": (f"{name}.json", dumps(meta))})
    for name, desc, err, spec in REJECT:
        data = _read(committed, f"{name}.aigif")
        f = _payload(name, data)
        try:
            diffc.parse(f.pixels.data, f.width, f.height)
        except AigifError as exc:
            if exc.code != err:
                raise BuildError(f"diffc/{name}: the reference says {exc.code}, the vector {err}") from None
        else:
            raise BuildError(f"diffc/{name}: the payload parses; the vector says {err}")
        vs.add("diffc", name, desc, {"input": (f"{name}.aigif", data),
                                      "expected": (f"{name}.json", dumps({"error": err, "fault": desc, "spec": spec}))})


def check(root: Path = ROOT / "vectors") -> list[str]:
    """Decode every committed diffc vector of the manifest in this process
    (the same as ``aigif-conformance run --level diffc --decoder "python -m
    aigif.refdecoder"``, without the processes); the problems found."""
    from aigif import codec
    from aigif.conformance import load_suite, select, verify
    from aigif.errors import AigifError
    from aigif.pixelcodecs import decode_payload
    from aigif.regen import Regenerator, pixels
    regen = Regenerator(device="cpu", threads=1)
    vectors = select(load_suite(root).vectors, ["diffc"])
    bad = verify(vectors)
    for v in vectors:
        data = v.files["input"].read_bytes()
        want_error = None if "meta" in v.files else v.expected_json()["error"]
        try:
            got = decode_payload(codec.read(data), regen)
        except AigifError as err:
            if err.code != want_error:
                bad.append(f"{v.id}: {err.code}")
            continue
        if want_error:
            bad.append(f"{v.id}: decoded; expected {want_error}")
            continue
        want = pixels.decode_png(v.files["expected"].read_bytes(), got.shape[1], got.shape[0])
        p = pixels.psnr(want, got)
        if not np.isinf(p) and p < MIN_PSNR_DB:  # bit-exact on the reference platform; elsewhere the floor
            bad.append(f"{v.id}: PSNR {p:.2f} dB")
    if not vectors:
        bad.append("no diffc vectors in the manifest")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="decode the committed vectors instead of rebuilding")
    args = ap.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) or "all diffc vectors pass")
        return 1 if problems else 0
    names = build()
    print(f"{len(names)} diffc vectors encoded in {OUT.relative_to(ROOT)}; now run python -m tools.vectors (JSON files, manifest)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
