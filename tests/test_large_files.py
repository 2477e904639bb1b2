"""Large valid files (SPEC.md §16): validating one costs the file's own buffer
and a bounded amount more (the parser reads payloads as views of it); reading
one costs one copy of its payloads, which then belong to the file read."""
import hashlib
import os
import tracemalloc

import pytest

from aigif import codec, jsonform
from aigif.file import ModelPayload, PixelPayload
from aigif.registry import load

REG = load()
MiB = 1 << 20


@pytest.fixture(scope="module")
def big() -> bytes:
    f = jsonform.new("tiny-sd1", REG, height=64, width=64, seed=1)
    data = os.urandom(32 * MiB)
    f.model_payload = ModelPayload("none", hashlib.sha256(data).digest(), data)
    return codec.write(f, REG)


def peak_of(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_validating_a_32_mib_payload_allocates_no_copy_of_it(big):
    assert codec.validate(big, REG) is None
    assert peak_of(lambda: codec.validate(big, REG)) < MiB


def test_reading_it_costs_one_copy_of_the_payload_which_is_bytes_of_its_own(big):
    assert peak_of(lambda: codec.read(big, REG)) < 32 * MiB + MiB
    f = codec.read(big, REG)
    assert type(f.model_payload.data) is bytes  # not a view: the caller's buffer can go
    assert hashlib.sha256(f.model_payload.data).digest() == f.model_payload.sha256
    assert codec.write(f, REG) == big


def test_a_pixel_payload_reads_back_as_the_same_bytes():
    import numpy as np

    from aigif.regen import pixels
    px = np.random.default_rng(1).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    f = jsonform.new("tiny-sd1", REG, height=256, width=256, seed=1)
    f.pixels = PixelPayload("png", pixels.encode_png(px))
    b = codec.write(f, REG)
    g = codec.read(b, REG)
    assert g.pixels.data == f.pixels.data and type(g.pixels.data) is bytes and codec.write(g, REG) == b
