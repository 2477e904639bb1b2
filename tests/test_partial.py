"""Complete recipes and partial records (SPEC.md §12.10): a converted image whose
metadata says something the file cannot express becomes a partial record that says
what, carries its pixels, and is never regenerated as if it were the image."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from aigif import codec
from aigif.cli.main import main as aigif
from aigif.cli.validate import main as validate
from aigif.registry import load

REG = load()
BASE = "Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1234, Size: 64x64, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly"


def a1111_png(path, parameters: str, size=(64, 64)) -> np.ndarray:
    """An A1111-style PNG: random pixels of ``size`` and the infotext in tEXt 'parameters'."""
    px = np.random.default_rng(7).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters)
    buf = io.BytesIO()
    Image.fromarray(px).save(buf, "PNG", pnginfo=info)
    path.write_bytes(buf.getvalue())
    return px


def converted(tmp_path, parameters: str, *flags: str):
    src = tmp_path / "in.png"
    px = a1111_png(src, parameters)
    out = tmp_path / "out"
    assert aigif(["convert", str(src), "-o", str(out), *flags]) == 0
    return px, out / "in.aigif", codec.read((out / "in.aigif").read_bytes(), REG)


def test_what_the_file_can_express_is_a_complete_recipe(tmp_path):
    _, _, f = converted(tmp_path, "a red circle\nNegative prompt: blue\n" + BASE)
    assert f.model == "sd-1.5" and f.extension("partial") is None and f.pixels is None


def test_an_unapplied_setting_makes_a_partial_record_that_keeps_its_pixels(tmp_path, capsys):
    px, path, f = converted(tmp_path, "a red circle <lora:detail:0.8>\n" + BASE + ', Lora hashes: "detail: 0123456789ab"')
    missing = f.extension_fields("partial")["missing"].splitlines()
    assert any("LoRA" in m for m in missing), missing
    assert f.pixels is not None and f.pixels.codec == "png"
    capsys.readouterr()
    assert validate(["--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["record"] == "partial"
    # decode shows the record's own pixels, never a regeneration presented as the image
    assert aigif(["decode", str(path), "-o", str(tmp_path / "x.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "x.png").convert("RGB")), px)


def test_a_partial_record_without_pixels_refuses_to_regenerate(tmp_path, capsys):
    _, path, f = converted(tmp_path, "a red circle\n" + BASE + ", Hires upscale: 2, Hires steps: 10, Denoising strength: 0.5",
                           "--no-pixels")
    assert "hires" in f.extension_fields("partial")["missing"].lower() and f.pixels is None
    capsys.readouterr()
    assert aigif(["decode", str(path), "-o", str(tmp_path / "x.png")]) == 1
    assert "E_PARTIAL" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_a_partial_extension_that_lists_nothing_is_not_canonical():
    from aigif.errors import AigifError
    from aigif.file import Extension
    from aigif.jsonform import new
    f = new("tiny-sd1", REG, height=64, width=64, seed=1)
    f.extensions = [Extension.of("partial", {"missing": ""}, REG)]
    with pytest.raises(AigifError) as e:
        codec.write(f, REG)
    assert e.value.code == "E_NONCANONICAL"


def test_keep_pixels_of_a_pixel_bomb_is_refused_before_decoding(tmp_path):
    """A small PNG whose header and metadata say 16384² (805 MB decoded) keeps no pixels."""
    import struct
    import time
    import zlib

    from aigif.png import chunk
    ihdr = struct.pack(">IIBBBBB", 16384, 16384, 8, 2, 0, 0, 0)
    text = b"parameters\0a red circle\n" + BASE.replace("Size: 64x64", "Size: 16384x16384").encode()
    data = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"tEXt", text)
            + chunk(b"IDAT", zlib.compress(b"\0" * 65536)) + chunk(b"IEND", b""))
    (tmp_path / "in.png").write_bytes(data)
    t = time.perf_counter()
    assert aigif(["convert", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"), "--keep-pixels"]) == 0
    assert time.perf_counter() - t < 5
    f = codec.read((tmp_path / "out" / "in.aigif").read_bytes(), REG)
    assert f.pixels is None and (f.width, f.height) == (16384, 16384)
