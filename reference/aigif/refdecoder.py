"""The reference decoder under the conformance contract (conformance/CONTRACT.md).

    python -m aigif.refdecoder parse FILE
    python -m aigif.refdecoder render FILE OUT.png
    python -m aigif.refdecoder noise SOURCE SEED COUNT C H W
    python -m aigif.refdecoder decode FILE OUT.png

Exit status: 0 success; 1 the file is invalid (first token of stderr: the
SPEC.md §10 code); 2 usage or I/O error; 3 "cannot here" (a model, noise
source or feature this build cannot run; first token of stderr:
``E_MODEL_UNAVAILABLE``, ``E_NOISE_UNAVAILABLE`` or ``E_REGEN_UNSUPPORTED``;
for ``decode``, ``E_UNSUPPORTED``: a pixel codec this decoder does not implement).

The functions :func:`parse_data` and :func:`noise_values` are the contract's
operations without the process around them; the conformance tests wrap them
in deliberately broken decoders.
"""
from __future__ import annotations

import json
import struct
import sys
from typing import TextIO

from .errors import AigifError

USAGE = """usage: python -m aigif.refdecoder parse FILE
       python -m aigif.refdecoder render FILE OUT.png
       python -m aigif.refdecoder noise SOURCE SEED COUNT C H W
       python -m aigif.refdecoder decode FILE OUT.png"""

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_CANNOT = 0, 1, 2, 3
CANNOT_CODES = ("E_MODEL_UNAVAILABLE", "E_NOISE_UNAVAILABLE", "E_REGEN_UNSUPPORTED")
MAX_NOISE_VALUES = 1 << 24
MAX_LATENT = 1 << 28


def parse_data(data: bytes) -> dict:
    """The SPEC.md §17 fields of ``data`` (what ``aigif info`` prints);
    raises :class:`AigifError` for an invalid file."""
    from . import codec, jsonform
    from .registry import load

    reg = load()
    try:
        f = codec.read(data, reg)
    except RecursionError:  # no input may produce a traceback (SPEC.md §16)
        raise AigifError("E_LIMIT", "input nests too deeply") from None
    return jsonform.to_json(f, reg)


def dump_fields(fields: dict) -> str:
    """Exactly ``aigif info``'s formatting."""
    return json.dumps(fields, indent=2, ensure_ascii=False)


def f32_hex(values) -> list[str]:
    """float32 values -> 8-hex-digit IEEE-754 bit patterns (lower case)."""
    return [f"{struct.unpack('<I', struct.pack('<f', float(v)))[0]:08x}" for v in values]


class CannotHere(Exception):
    """Exit status 3: ``code`` is one of :data:`CANNOT_CODES`."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def noise_values(source: str, seed: int, count: int, shape: tuple[int, int, int, int]) -> list[str]:
    """The first ``count`` values of the initial latent of ``shape`` drawn from
    noise source ``source`` with ``seed``, as float32 bit patterns."""
    try:
        from . import noise
    except ImportError as exc:
        raise CannotHere("E_NOISE_UNAVAILABLE", f"this build has no noise sources ({exc})") from None
    try:
        src = noise.get_source(source)
    except KeyError:
        raise CannotHere("E_NOISE_UNAVAILABLE", f"noise source {source!r} is not implemented") from None
    except ImportError as exc:
        raise CannotHere("E_NOISE_UNAVAILABLE", f"noise source {source!r} cannot be loaded ({exc})") from None
    try:
        values = src.stream(seed).normal(shape)
    except (noise.NoiseUnavailable, ImportError) as exc:
        raise CannotHere("E_NOISE_UNAVAILABLE", str(exc)) from None
    if hasattr(values, "detach"):  # torch tensor
        values = values.detach().to("cpu").float().numpy()
    import numpy as np

    flat = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)[:count]
    return [f"{int(u):08x}" for u in flat.view(np.uint32)]


def _read(path: str) -> bytes:
    from .cli.common import read_file

    return read_file(path)


def _int(text: str, name: str, lo: int, hi: int) -> int:
    if not text.isascii() or not text.isdigit():
        raise ValueError(f"{name} must be a decimal integer, got {text!r}")
    v = int(text)
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in {lo}..{hi}, got {v}")
    return v


def _cmd_parse(args: list[str], out: TextIO, err: TextIO) -> int:
    if len(args) != 1:
        raise ValueError("parse takes one argument: FILE")
    fields = parse_data(_read(args[0]))
    out.write(dump_fields(fields) + "\n")
    return EXIT_OK


def _cmd_render(args: list[str], out: TextIO, err: TextIO) -> int:
    if len(args) != 2:
        raise ValueError("render takes two arguments: FILE OUT.png")
    path, out_png = args
    # Validate first: an invalid file is exit 1 whatever this build can render.
    data = _read(path)
    fields = parse_data(data)
    try:
        from .regen import render_file
    except ImportError as exc:
        raise CannotHere("E_REGEN_UNSUPPORTED", f"this build has no regenerator ({exc})") from None
    try:
        if fields["pixels"] is None:
            render_file(path, out_png)
        else:  # the contract asks for a regeneration, never the stored pixels (CONTRACT.md §4)
            import tempfile

            from . import codec
            f = codec.read(data)
            f.pixels = None
            with tempfile.TemporaryDirectory() as tmp:
                bare = f"{tmp}/bare.aigif"
                with open(bare, "wb") as fh:
                    fh.write(codec.write(f))
                render_file(bare, out_png)
    except AigifError as exc:
        if exc.code in CANNOT_CODES:
            raise CannotHere(exc.code, exc.message) from None
        raise
    return EXIT_OK


def _cmd_decode(args: list[str], out: TextIO, err: TextIO) -> int:
    """CONTRACT.md §5a: the canonical pixels of the file's pixel payload, as an 8-bit RGB PNG."""
    if len(args) != 2:
        raise ValueError("decode takes two arguments: FILE OUT.png")
    path, out_png = args
    data = _read(path)
    parse_data(data)  # an invalid file is exit 1 whatever this build can decode
    from . import codec
    from .fsutil import atomic_write
    from .pixelcodecs import IMPLEMENTED
    f = codec.read(data)
    if f.pixels is None:
        raise ValueError("the file has no pixel payload to decode")
    if f.pixels.codec != "png" and f.pixels.codec not in IMPLEMENTED:
        raise CannotHere("E_UNSUPPORTED", f"pixel codec {f.pixels.codec} is not implemented by this decoder")
    if f.pixels.codec == "png":  # no model, no torch
        from .regen.pixels import decode_png, encode_png
        pixels = decode_png(f.pixels.data, f.width, f.height)
    else:
        try:
            from .regen import Regenerator
            from .regen.pixels import encode_png
        except ImportError as exc:
            raise CannotHere("E_REGEN_UNSUPPORTED", f"this build has no regenerator for pixel codec {f.pixels.codec} ({exc})") from None
        try:  # diffc version 1 is defined on the CPU (SPEC.md Appendix H.9); threads: AIGIF_THREADS, default 1
            pixels = Regenerator(device="cpu").payload_pixels(f)
        except AigifError as exc:
            if exc.code in CANNOT_CODES:
                raise CannotHere(exc.code, exc.message) from None
            raise
    atomic_write(out_png, encode_png(pixels))
    return EXIT_OK


def _cmd_noise(args: list[str], out: TextIO, err: TextIO) -> int:
    if len(args) != 6:
        raise ValueError("noise takes six arguments: SOURCE SEED COUNT C H W")
    source = args[0]
    seed = _int(args[1], "SEED", 0, (1 << 64) - 1)
    c, h, w = (_int(a, n, 1, 1 << 16) for a, n in zip(args[3:], "CHW"))
    if c * h * w > MAX_LATENT:
        raise ValueError(f"a latent of {c}x{h}x{w} values is larger than this decoder draws ({MAX_LATENT})")
    count = _int(args[2], "COUNT", 0, min(c * h * w, MAX_NOISE_VALUES))
    out.write(json.dumps(noise_values(source, seed, count, (1, c, h, w))) + "\n")
    return EXIT_OK


COMMANDS = {"parse": _cmd_parse, "render": _cmd_render, "noise": _cmd_noise, "decode": _cmd_decode}


def main(argv: list[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    out = sys.stdout if stdout is None else stdout
    err = sys.stderr if stderr is None else stderr
    if not argv or argv[0] not in COMMANDS:
        err.write(f"E_USAGE {USAGE}\n")
        return EXIT_USAGE
    try:
        return COMMANDS[argv[0]](argv[1:], out, err)
    except AigifError as exc:
        if exc.code == "E_IO":
            err.write(f"{exc}\n")
            return EXIT_USAGE
        err.write(f"{exc}\n")  # "E_CODE at byte N: message": the code is the first token
        return EXIT_INVALID
    except CannotHere as exc:
        err.write(f"{exc.code}: {exc.message}\n")
        return EXIT_CANNOT
    except ValueError as exc:
        err.write(f"E_USAGE {exc}\n{USAGE}\n")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
