#!/usr/bin/env python3
"""atheris target: the metadata importers (``aigif.importers``) on hostile images.

    python fuzz/seeds.py && python fuzz/fuzz_importer.py --make-seeds
    nice -n 10 python fuzz/fuzz_importer.py fuzz/corpus/importer fuzz/corpus/importer_seed \
        -runs=200000 -max_len=32768 -timeout=10 -rss_limit_mb=2048 -artifact_prefix=fuzz/artifacts/importer-

Contract: ``read_generation_bytes`` (the in-memory form of
``read_generation``) returns an ``ImportedGeneration`` or raises
``ImportFailure`` with a code of ``IMPORT_CODES`` and ``internal`` false
(``internal`` true means the importer's last-resort net caught a bug in a
reader: that is a crash here, as is any other exception). What imports then
goes through ``aigif convert``'s steps: ``convert.convert`` and
``codec.write`` raise only ``AigifError``, and the file reads back to the
same bytes.

The first input byte picks a framing mode, so that mutations reach the tool
readers (A1111 infotext, ComfyUI graphs, ...) instead of dying at a PNG
chunk CRC:

* 0: the rest is the image file, as is;
* 1: the rest is an image file; if it is a PNG, every chunk CRC is recomputed;
* 2: the rest is a list of PNG ``tEXt`` bodies (``keyword NUL text``)
  separated by ``NUL NUL``, wrapped into a minimal 8x8 RGB PNG;
* 3: the rest is an EXIF UserComment (8-byte character-code prefix + text),
  wrapped into a minimal JPEG (APP1 Exif, SOF0, SOS).

``python fuzz/fuzz_importer.py --replay FILE...`` runs the checks without
atheris; ``--make-seeds`` adds mode 1–3 seeds built from the real-world
images to ``fuzz/corpus/importer_seed``.
"""
from __future__ import annotations

import struct
import zlib
from pathlib import Path

from aigif import png

HERE = Path(__file__).resolve().parent


def _import():
    global read_generation_bytes, ImportFailure, IMPORT_CODES, ImportedGeneration, convert, codec, AigifError, REG
    from aigif import codec
    from aigif.errors import AigifError
    from aigif.importers import IMPORT_CODES, ImportedGeneration, ImportFailure, read_generation_bytes
    from aigif.importers.convert import convert
    from aigif.registry import load
    REG = load()


def fix_png_crcs(data: bytes) -> bytes:
    """Every chunk's CRC recomputed, up to the first chunk the walker refuses (the rest is kept as it is)."""
    if not data.startswith(png.SIGNATURE):
        return data
    out, end = bytearray(png.SIGNATURE), len(png.SIGNATURE)
    try:
        for c in png.chunks(data, truncated_ok=True):
            out += png.chunk(c.type, bytes(c.data))
            end = c.offset + 12 + len(c.data)
    except png.PNGError:
        pass
    return bytes(out + data[end:])


_IHDR = png.ihdr_chunk(8, 8)
_IDAT = png.chunk(b"IDAT", zlib.compress(b"".join(b"\x00" + bytes(24) for _ in range(8)), 9))
_IEND = png.chunk(b"IEND", b"")


def png_with_text(items: list[bytes]) -> bytes:
    return png.SIGNATURE + _IHDR + b"".join(png.chunk(b"tEXt", it) for it in items) + _IDAT + _IEND


def jpeg_with_user_comment(comment: bytes) -> bytes:
    # TIFF (little endian): IFD0 with one entry (ExifIFD pointer) -> Exif IFD with UserComment (UNDEFINED).
    ifd0 = struct.pack("<H", 1) + struct.pack("<HHII", 0x8769, 4, 1, 26) + struct.pack("<I", 0)
    exif_ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x9286, 7, len(comment), 44) + struct.pack("<I", 0)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd0 + exif_ifd + comment
    app1 = b"Exif\x00\x00" + tiff
    if len(app1) + 2 > 0xFFFF:
        app1 = app1[:0xFFFF - 2]
    sof = b"\x08" + struct.pack(">HH", 8, 8) + b"\x01\x01\x11\x00"
    sos = b"\x01\x01\x00\x00\x3f\x00"
    return (b"\xff\xd8" + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
            + b"\xff\xc0" + struct.pack(">H", len(sof) + 2) + sof
            + b"\xff\xda" + struct.pack(">H", len(sos) + 2) + sos + b"\x00" * 4 + b"\xff\xd9")


# What the rest of a fuzz input is, by its first byte (mod 4)
MODES = (
    lambda rest: rest,                                      # 0: the image file, as is
    fix_png_crcs,                                           # 1: an image file; a PNG's chunk CRCs are recomputed
    lambda rest: png_with_text(rest.split(b"\x00\x00")),    # 2: tEXt bodies, wrapped into an 8x8 PNG
    jpeg_with_user_comment,                                 # 3: an EXIF UserComment, wrapped into a JPEG
)


def frame(data: bytes) -> bytes:
    """Turn a fuzz input into the image given to the importer (its first byte picks one of MODES)."""
    return MODES[data[0] % len(MODES)](data[1:]) if data else b""


def check(image: bytes) -> str:
    return check_import(lambda: read_generation_bytes(image))


def check_import(read) -> str:
    """The contract on one import, ``read()`` (also used by ``fuzz_importer_struct.py``): an
    ``ImportedGeneration`` that converts, writes and reads back, or a typed ``ImportFailure``."""
    try:
        gen = read()
    except ImportFailure as e:
        if e.internal:
            raise AssertionError(f"importer bug caught by its last-resort net: {e}") from e.__cause__
        if e.code not in IMPORT_CODES:
            raise AssertionError(f"unknown import code {e.code}") from None
        return e.code
    if not isinstance(gen, ImportedGeneration):
        raise AssertionError(f"read_generation_bytes returned {type(gen).__name__}")
    gen.to_dict()
    # aigif convert's next steps: map onto the registry, write, read back (AigifError only)
    try:
        conv = convert(gen, REG)
        data = codec.write(conv.file, REG)
    except AigifError as e:
        return f"ok:{gen.source_tool}:{e.code}"
    f = codec.read(data, REG)
    if codec.write(f, REG) != data:
        raise AssertionError("converted file does not round-trip")
    return "ok:" + gen.source_tool


def make_seeds() -> None:
    _import()
    from aigif.importers.containers import read_container
    out = HERE / "corpus" / "importer_seed"
    out.mkdir(parents=True, exist_ok=True)
    for p in sorted(out.glob("m0-*")):
        data = p.read_bytes()[1:]
        name = p.name[3:]
        (out / f"m1-{name}").write_bytes(b"\x01" + data)
        try:
            meta = read_container(data)
        except ImportFailure:
            continue
        texts = [it.key.encode("latin-1", "replace") + b"\x00" + it.value.encode("utf-8") for it in meta.items]
        if texts:
            (out / f"m2-{name}").write_bytes(b"\x02" + b"\x00\x00".join(texts))
        for it in meta.items:
            if it.key in ("parameters", "UserComment", "stealth"):
                (out / f"m3-{name}").write_bytes(b"\x03" + b"UNICODE\x00" + it.value.encode("utf-16-be"))
                (out / f"m3a-{name}").write_bytes(b"\x03" + b"ASCII\x00\x00\x00" + it.value.encode("utf-8"))
    print(f"importer seeds: {len(list(out.iterdir()))}")


if __name__ == "__main__":
    from harness import run  # fuzz/ is sys.path[0] when a target runs as a script
    run(_import, check, frame, {"--make-seeds": make_seeds})
