#!/usr/bin/env python3
"""Build the tiny external resources of the conformance model tiny-sd1
(SPEC.md §12.11): a LoRA, a textual-inversion embedding and a VAE variant,
written to vectors/models/adapters/ with ``adapters.json`` (names, kinds,
SHA-256 of each file and of its tensor data).

Deterministic without any random generator a library could change: every
value comes from SHA-256 in counter mode over the tensor's name, mapped to
[-1, 1). The files are safetensors (keys sorted by safetensors, no metadata),
so a rebuild is byte-identical: ``--check`` compares instead of writing.

- ``tiny-sd1-lora.safetensors``: a LoRA in kohya's format (the one
  AUTOMATIC1111 users keep: ``lora_unet_…``/``lora_te_…`` with
  ``lora_down``/``lora_up``/``alpha``), rank 4, on every attention
  projection of the UNet and of the text encoder; diffusers'
  ``load_lora_weights`` converts it to peft layers.
- ``tinyemb.safetensors``: one 32-dimensional vector under
  ``emb_params`` (AUTOMATIC1111's safetensors embedding format), used in a
  prompt as ``tinyemb``.
- ``tiny-sd1-vae.safetensors``: tiny-sd1's VAE with its decoder moved, as
  one safetensors file in diffusers' key names (``AutoencoderKL.from_single_file``
  loads it with the model's own VAE config, offline).

Usage::

    python tools/build_adapters.py            # write vectors/models/adapters/
    python tools/build_adapters.py --check    # rebuild in memory and compare
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "vectors" / "models" / "tiny-sd1"
OUT = ROOT / "vectors" / "models" / "adapters"
RANK = 4
#: sizes chosen so that each resource is discriminative (SPEC.md §13.2's sense): the LoRA at its
#: recorded weight vs that weight + 0.1 (UNet and text encoder each), the embedding used or not,
#: the VAE or the model's own, all move the 64x64 image well below 30 dB PSNR (tests/test_resources.py)
LORA_SCALE = 1.5
EMB_SCALE = 3.0
VAE_SCALE = 0.5


def values(name: str, n: int) -> list[float]:
    """n numbers in [-1, 1) from SHA-256(name, counter): portable and exact."""
    out: list[float] = []
    counter = 0
    while len(out) < n:
        block = hashlib.sha256(f"aigif-adapters/{name}/{counter}".encode()).digest()
        out.extend((v / 2**31) - 1.0 for v in struct.unpack("<8I", block))
        counter += 1
    return out[:n]


def tensor(name: str, shape: tuple[int, ...], scale: float):
    import torch
    n = 1
    for s in shape:
        n *= s
    return (torch.tensor(values(name, n), dtype=torch.float64) * scale).to(torch.float32).reshape(shape).contiguous()


def _kohya(prefix: str, module: str) -> str:
    return f"{prefix}_{module.replace('.', '_')}"


def build_lora() -> dict:
    """kohya-format LoRA: lora_down (rank x in), lora_up (out x rank), alpha = rank (scale 1)."""
    import torch
    from safetensors.torch import load_file
    sd: dict = {}
    unet = load_file(str(MODEL / "unet" / "diffusion_pytorch_model.safetensors"))
    te = load_file(str(MODEL / "text_encoder" / "model.safetensors"))
    attn = re.compile(r"\.attn[12]\.(to_q|to_k|to_v|to_out\.0)\.weight$")
    targets = [("lora_unet", k[:-len(".weight")], unet[k].shape) for k in sorted(unet) if attn.search(k)]
    # kohya names the text encoder's modules by transformers' CLIPTextModel paths (text_model.encoder.…)
    targets += [("lora_te", "text_model." + k[:-len(".weight")], te[k].shape) for k in sorted(te)
                if ".self_attn." in k and k.endswith("proj.weight")]
    for prefix, module, shape in targets:
        out_f, in_f = shape[0], shape[1]
        key = _kohya(prefix, module)
        # down: unit-ish rows; up: scaled so that the product is about LORA_SCALE per element
        sd[f"{key}.lora_down.weight"] = tensor(key + ".down", (RANK, in_f), 1.0)
        sd[f"{key}.lora_up.weight"] = tensor(key + ".up", (out_f, RANK), LORA_SCALE / RANK ** 0.5)
        sd[f"{key}.alpha"] = torch.tensor(float(RANK))
    return sd


def build_embedding() -> dict:
    cfg = json.loads((MODEL / "text_encoder" / "config.json").read_text())
    return {"emb_params": tensor("embedding", (1, cfg["hidden_size"]), EMB_SCALE)}


def build_vae() -> dict:
    from safetensors.torch import load_file
    base = load_file(str(MODEL / "vae" / "diffusion_pytorch_model.safetensors"))
    out = {}
    for k in sorted(base):
        v = base[k]
        if k.startswith("decoder.") and k.endswith(".weight") and v.ndim == 4:
            v = (v + tensor("vae/" + k, tuple(v.shape), VAE_SCALE) * v.abs().mean()).contiguous()
        out[k] = v.clone().contiguous()
    return out


#: name (the lookup key a file records) -> (file name, kind, builder)
RESOURCES = {
    "tiny-sd1-lora": ("tiny-sd1-lora.safetensors", "lora", build_lora),
    "tinyemb": ("tinyemb.safetensors", "embedding", build_embedding),
    "tiny-sd1-vae": ("tiny-sd1-vae.safetensors", "vae", build_vae),
}


def tensors_sha256(data: bytes) -> str:
    """SHA-256 of a safetensors file after its header: AUTOMATIC1111's 'Lora hashes' (kohya's addnet hash)."""
    n = int.from_bytes(data[:8], "little")
    return hashlib.sha256(data[8 + n:]).hexdigest()


def build() -> dict[str, bytes]:
    from safetensors.torch import save
    files = {fname: save(builder()) for fname, _, builder in RESOURCES.values()}
    manifest = {
        "description": "Tiny external resources for tiny-sd1 (SPEC.md §12.11), built by tools/build_adapters.py",
        "model": "tiny-sd1",
        "resources": [{"name": name, "kind": kind, "file": fname,
                       "sha256": hashlib.sha256(files[fname]).hexdigest(), "tensors_sha256": tensors_sha256(files[fname]),
                       "bytes": len(files[fname])}
                      for name, (fname, kind, _) in RESOURCES.items()],
    }
    files["adapters.json"] = (json.dumps(manifest, indent=2) + "\n").encode()
    return files


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="rebuild in memory; exit 1 if a file differs")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    files = build()
    if args.check:
        bad = [n for n, b in files.items() if not (args.out / n).is_file() or (args.out / n).read_bytes() != b]
        for n in bad:
            print(f"differs: {args.out / n}", file=sys.stderr)
        return 1 if bad else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for n, b in files.items():
        (args.out / n).write_bytes(b)
        print(f"{args.out / n}: {len(b)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
