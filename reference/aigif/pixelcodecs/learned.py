"""The learned-codec slot (SPEC.md Appendix H.10) and ``test-linear``.

A learned pixel codec (DiT-IC, DiffEIC, ...) needs trained weights that the
file does not carry. Its payload names them by SHA-256 and carries a
versioned parameter block; a decoder finds the weights through a mapping the
user provides (``AIGIF_CODEC_WEIGHTS`` or ``weights_dirs``), never a
download. Weights that are absent are ``E_UNSUPPORTED`` naming the codec and
the SHA-256; weights whose content does not hash to it are ``E_MODEL_HASH``.

``test-linear`` (registry ID 4000, status ``conformance``) uses the slot end to
end: an orthonormal P×P patch basis in a safetensors file (tensor
``basis``, float32, (P*P, P*P)), the first ``keep`` coefficients of each patch
quantised with a uniform step.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AigifError
from ..wire import read_uvarint, uvarint

SLOT_VERSION = 1
ENV = "AIGIF_CODEC_WEIGHTS"
MAX_PARAMS = 65536          #: parameter block limit, bytes
MAX_WEIGHTS = 2 ** 31       #: weights file limit, bytes (as a model payload, SPEC.md §11)


@dataclass
class SlotPayload:
    width: int
    height: int
    weights_sha256: bytes
    params: bytes
    bitstream: bytes


def read_slot(data: bytes, width: int, height: int) -> SlotPayload:
    """The slot framing (Appendix H.10.1); the size is checked against the
    file's before anything else."""
    end = len(data)
    if end < 1:
        raise AigifError("E_OVERRUN", "learned-codec payload is empty")
    if data[0] != SLOT_VERSION:
        raise AigifError("E_UNSUPPORTED", f"learned-codec slot version {data[0]} (this decoder knows {SLOT_VERSION})")
    w, pos = read_uvarint(data, 1, end)
    h, pos = read_uvarint(data, pos, end)
    if (w, h) != (width, height):
        raise AigifError("E_PAYLOAD", f"pixel payload is {w}×{h}; the file says {width}×{height}")
    if end - pos < 32:
        raise AigifError("E_OVERRUN", "learned-codec payload ends inside its weights SHA-256", offset=pos)
    sha = bytes(data[pos:pos + 32])
    pos += 32
    plen, pos = read_uvarint(data, pos, end)
    if plen > MAX_PARAMS:
        raise AigifError("E_LIMIT", f"parameter block of {plen} bytes (limit {MAX_PARAMS})")
    if plen > end - pos:
        raise AigifError("E_OVERRUN", f"parameter block of {plen} bytes, {end - pos} left", offset=pos)
    return SlotPayload(w, h, sha, bytes(data[pos:pos + plen]), bytes(data[pos + plen:]))


def write_slot(p: SlotPayload) -> bytes:
    return (bytes([SLOT_VERSION]) + uvarint(p.width) + uvarint(p.height) + p.weights_sha256
            + uvarint(len(p.params)) + p.params + p.bitstream)


def weights_entries(weights_dirs: list | None = None) -> list[str]:
    """The user's mapping: ``weights_dirs`` if given, else ``AIGIF_CODEC_WEIGHTS``
    (entries separated by ``os.pathsep``)."""
    if weights_dirs is not None:
        return [str(d) for d in weights_dirs]
    return [e for e in os.environ.get(ENV, "").split(os.pathsep) if e]


def sha256_file(path: Path) -> bytes:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.digest()


def find_weights(codec: str, sha: bytes, weights_dirs: list | None = None) -> Path:
    """The weights file for ``sha`` (Appendix H.10.2): an entry ``HEX=FILE``
    names it; an entry ``DIR`` holds ``DIR/HEX.safetensors`` or
    ``DIR/<codec>/HEX.safetensors``. First match wins; its content is checked."""
    hexsha = sha.hex()
    for entry in weights_entries(weights_dirs):
        if "=" in entry and not os.path.isdir(entry):
            key, _, target = entry.partition("=")
            candidates = [Path(target)] if key.strip().lower() == hexsha else []
        else:
            candidates = [Path(entry) / f"{hexsha}.safetensors", Path(entry) / codec / f"{hexsha}.safetensors"]
        for path in candidates:
            if path.is_file():
                if path.stat().st_size > MAX_WEIGHTS:
                    raise AigifError("E_LIMIT", f"codec weights {path} exceed {MAX_WEIGHTS} bytes")
                got = sha256_file(path)
                if got != sha:
                    raise AigifError("E_MODEL_HASH", f"codec weights {path}: SHA-256 {got.hex()}, the payload names {hexsha}")
                return path
    raise AigifError("E_UNSUPPORTED", f"pixel codec {codec} needs its weights sha256:{hexsha}, not found "
                     f"(give a directory or {hexsha}=FILE in {ENV})")


def load_tensors(path: Path) -> dict[str, np.ndarray]:
    try:
        from safetensors.numpy import load_file
        return load_file(str(path))
    except Exception as exc:
        raise AigifError("E_PAYLOAD", f"codec weights {path} are not a safetensors file: {type(exc).__name__}") from None


# ------------------------------------------------------------------ test-linear

class TestLinear:
    """``test-linear``: parameter block ``uvarint version (1), u8 patch P,
    u8 keep, uvarint step``; bitstream: for each channel R, G, B, each patch in
    raster order, ``keep`` coefficients as zigzag uvarints."""

    key = "test-linear"

    @staticmethod
    def make_weights(path: str | os.PathLike, patch: int = 8) -> bytes:
        """Write an orthonormal DCT-II basis as weights; return its SHA-256."""
        from safetensors.numpy import save_file
        n = np.arange(patch)
        d = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * patch)) * np.sqrt(2.0 / patch)
        d[0] /= np.sqrt(2.0)
        basis = np.einsum("ux,vy->uvxy", d, d).reshape(patch * patch, patch * patch)
        order = np.argsort(np.add.outer(n, n).reshape(-1), kind="stable")  # low frequencies first
        save_file({"basis": np.ascontiguousarray(basis[order], dtype=np.float32)}, str(path))
        return sha256_file(Path(path))

    @staticmethod
    def _params(params: bytes) -> tuple[int, int, int]:
        end = len(params)
        version, pos = read_uvarint(params, 0, end)
        if version != 1:
            raise AigifError("E_UNSUPPORTED", f"test-linear parameter block version {version}")
        if end - pos < 2:
            raise AigifError("E_OVERRUN", "test-linear parameter block ends early")
        patch, keep = params[pos], params[pos + 1]
        step, pos = read_uvarint(params, pos + 2, end)
        if pos != end:
            raise AigifError("E_OVERRUN", "bytes after the test-linear parameter block")
        if not (1 <= patch <= 32 and 1 <= keep <= patch * patch and 1 <= step <= 65535):
            raise AigifError("E_RANGE", f"test-linear parameters patch={patch} keep={keep} step={step}")
        return patch, keep, step

    @staticmethod
    def _basis(path: Path, patch: int) -> np.ndarray:
        t = load_tensors(path)
        b = t.get("basis")
        if b is None or b.dtype != np.float32 or b.shape != (patch * patch, patch * patch):
            raise AigifError("E_PAYLOAD", f"test-linear weights need a float32 basis of {patch * patch}×{patch * patch}")
        return b

    def encode(self, pixels: np.ndarray, weights: str | os.PathLike, keep: int = 6, step: int = 16, patch: int = 8) -> bytes:
        h, w = pixels.shape[:2]
        if h % patch or w % patch:
            raise AigifError("E_PAYLOAD", f"test-linear: {w}×{h} is not a multiple of its patch {patch}")
        sha = sha256_file(Path(weights))
        basis = self._basis(Path(weights), patch)[:keep]
        params = uvarint(1) + bytes([patch, keep]) + uvarint(step)
        x = pixels.astype(np.float32) - np.float32(128)
        tiles = x.reshape(h // patch, patch, w // patch, patch, 3).transpose(4, 0, 2, 1, 3).reshape(-1, patch * patch)
        q = np.rint(tiles @ basis.T / np.float32(step)).astype(np.int64).reshape(-1)
        out = bytearray()
        for v in q.tolist():
            out += uvarint((v << 1) if v >= 0 else ((-v << 1) - 1))
        return write_slot(SlotPayload(w, h, sha, params, bytes(out)))

    def decode(self, data: bytes, width: int, height: int, weights_dirs: list | None = None) -> np.ndarray:
        p = read_slot(data, width, height)
        patch, keep, step = self._params(p.params)
        if width % patch or height % patch:
            raise AigifError("E_PAYLOAD", f"test-linear: {width}×{height} is not a multiple of its patch {patch}")
        count = 3 * (height // patch) * (width // patch) * keep
        vals, pos, end = [], 0, len(p.bitstream)
        for _ in range(count):
            z, pos = read_uvarint(p.bitstream, pos, end)
            vals.append((z >> 1) if not z & 1 else -((z + 1) >> 1))
        if pos != end:
            raise AigifError("E_OVERRUN", "bytes after the test-linear coefficients")
        basis = self._basis(find_weights(self.key, p.weights_sha256, weights_dirs), patch)[:keep]
        coef = np.asarray(vals, dtype=np.float32).reshape(-1, keep) * np.float32(step)
        tiles = coef @ basis + np.float32(128)
        img = tiles.reshape(3, height // patch, width // patch, patch, patch).transpose(1, 3, 2, 4, 0).reshape(height, width, 3)
        return np.clip(np.rint(img), 0, 255).astype(np.uint8)


TEST_LINEAR = TestLinear()
