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
    # a block weight (lbw=) is an argument the resources extension cannot say
    px, path, f = converted(tmp_path, "a red circle <lora:detail:0.8:lbw=FACE>\n" + BASE + ', Lora hashes: "detail: 0123456789ab"')
    missing = f.extension_fields("partial")["missing"].splitlines()
    assert any("LoRA 'detail'" in m and "lbw=FACE" in m for m in missing), missing
    assert f.extension("resources") is None
    assert f.pixels is not None and f.pixels.codec == "png"
    capsys.readouterr()
    assert validate(["--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)["record"] == "partial"
    # decode shows the record's own pixels, never a regeneration presented as the image
    assert aigif(["decode", str(path), "-o", str(tmp_path / "x.png")]) == 0
    assert np.array_equal(np.asarray(Image.open(tmp_path / "x.png").convert("RGB")), px)


def test_loras_embeddings_and_a_vae_with_their_hashes_are_resources_of_a_complete_recipe(tmp_path):
    """A1111's Lora hashes (AutoV3: the tensors' SHA-256), TI hashes and VAE hash (the file's
    SHA-256) name what the regenerator must be given (SPEC.md §12.11); nothing is lost."""
    _, _, f = converted(tmp_path, "a red circle <lora:detail:0.8> <lora:style:0.6:0.4>, emb1\nNegative prompt: badhand\n"
                        + BASE + ', VAE hash: 735e4c3a44, VAE: vae-ft-mse.safetensors, '
                        'TI hashes: "emb1: 1a2b3c4d5e6f, badhand: 5e40d722fc3d", Lora hashes: "detail: 0123456789ab, style: abcdef012345"')
    assert f.extension("partial") is None and f.pixels is None
    r = f.extension_fields("resources")
    slots = [{k[:-2]: v for k, v in r.items() if k.endswith(f"_{n}")} for n in range(1, 6)]
    assert slots[0] == {"kind": 1, "name": "detail", "sha256": b"", "tensors_sha256": bytes.fromhex("0123456789ab"),
                        "weight": 0.8, "te_weight": 0.8}
    assert (slots[1]["weight"], slots[1]["te_weight"]) == (0.4, 0.6)  # <lora:NAME:TE:UNET>
    assert [(s["kind"], s["name"], s["sha256"].hex()) for s in slots[2:]] == [
        (2, "emb1", "1a2b3c4d5e6f"), (2, "badhand", "5e40d722fc3d"), (3, "vae-ft-mse", "735e4c3a44")]
    assert f.extension_fields("prompts")["syntax"] == "a1111"  # whose regenerator leaves the satisfied tags out


def test_a_lora_whose_multiplier_is_not_recorded_is_lost(tmp_path):
    _, _, f = converted(tmp_path, "a red circle\n" + BASE + ', Lora hashes: "detail: 0123456789ab"', "--no-pixels")
    assert "multiplier is not recorded" in f.extension_fields("partial")["missing"] and f.extension("resources") is None


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
