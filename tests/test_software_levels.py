"""How much of the software versions a written file records (``software=`` of
``aigif encode`` and ``aigif.record``): what a verifier compares, and no more
unless asked (SPEC.md §6.2.3, §12.4)."""
from types import SimpleNamespace

import pytest
from PIL import Image

from aigif import codec, jsonform
from aigif.errors import AigifError
from aigif.regen.encode import SOFTWARE_LEVELS, stamp
from aigif.regen.platform import Platform, fidelity
from aigif.registry import load

HERE = Platform(device="cpu", torch="2.13.0+cpu", diffusers="0.42.1", transformers="5.25.0", cpu_capability="AVX2")


def stamped(software: str):
    reg = load()
    f = jsonform.new("tiny-sd1", reg, prompt="a red circle", height=64, width=64, seed=1)
    stamp(f, SimpleNamespace(platform=HERE, reg=reg), Image.new("RGB", (64, 64), "red"), False, software=software)
    return f, codec.write(f, reg)


def test_compact_records_what_the_verifier_compares_and_not_the_writer():
    f, _ = stamped("compact")
    assert f.extension_fields("software") == {"torch": "2.13.0+cpu", "diffusers": "0.42.1", "transformers": "5.25.0",
                                              "cpu": "AVX2", "writer": ""}


def test_compact_is_the_smaller_and_full_adds_the_writer():
    sizes = {level: len(stamped(level)[1]) for level in SOFTWARE_LEVELS}
    assert sizes["none"] < sizes["compact"] < sizes["full"]
    assert stamped("full")[0].extension_fields("software")["writer"].startswith("aigif-reference ")


def test_fidelity_needs_the_versions_not_the_writer():
    reg = load()
    compact, _ = stamped("compact")
    none, _ = stamped("none")
    assert fidelity(compact, HERE, reg) == ("bit-exact", "same device, CPU kernels, torch and diffusers")  # no GPU/CUDA for CPU
    assert fidelity(none, HERE, reg) == ("within-tolerance", "the file does not record torch/diffusers versions")


def test_an_unknown_level_is_a_typed_error():
    with pytest.raises(AigifError) as e:
        stamped("everything")
    assert e.value.code == "E_FIELDS"
