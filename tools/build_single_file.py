"""Build the single-file conformance checkpoints from the diffusers conformance models.

A single-file checkpoint is one ``.safetensors`` of a whole model in the original
LDM / AUTOMATIC1111 key layout (``model.diffusion_model.*``, ``first_stage_model.*``,
``cond_stage_model.transformer.*``), the way most users keep their models. This tool writes
``vectors/models/single-file/tiny-sd1.safetensors`` from ``vectors/models/tiny-sd1`` by
reversing, from the key names, the conversion diffusers applies in ``from_single_file``
(the UNet's ``down_blocks.i.resnets.j`` become ``input_blocks.k.0``, the VAE's attention
projections become 1x1 convolutions, …). The bytes are deterministic: tensors are copied
unchanged (only renamed or, for the VAE attention, reshaped) and written with
``safetensors.torch.save`` (which orders them), ``__metadata__`` ``{"format": "pt"}``.

    python tools/build_single_file.py            # (re)build into vectors/models/single-file/ (git ignores it)
    python tools/build_single_file.py --check    # exit 1 unless a rebuild is byte-identical to what is there
    python tools/build_single_file.py --verify   # also load it with from_single_file and compare every tensor

``--verify`` is the check of the mapping: the file, loaded by diffusers with the directory as
its config, must give a pipeline whose every parameter and buffer equals the directory-loaded one.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "vectors" / "models" / "single-file"
#: tiny-sdxl is verified through the regenerator's loader (aigif.regen.single_file), not plain
#: from_single_file: diffusers 0.42 tells SDXL's two text encoders apart by width (the CLIP-L
#: conversion is used for ``text_encoder_2`` when the first encoder's position embedding is as
#: wide as the second's), and tiny-sdxl's are both 32 wide, so plain from_single_file fills
#: ``text_encoder_2`` from the first encoder; the loader converts the OpenCLIP tensors itself.
MODELS = {k: ROOT / "vectors" / "models" / k for k in ("tiny-sd1", "tiny-sdxl")}
BUILT = tuple(MODELS)

RESNET = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("norm2", "out_layers.0"),
          ("conv2", "out_layers.3"), ("time_emb_proj", "emb_layers.1"), ("conv_shortcut", "skip_connection")]
VAE_ATTN = [("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")]


def _sub(name: str, pairs: list[tuple[str, str]]) -> str:
    for hf, sd in pairs:
        if name.startswith(hf + "."):
            return sd + name[len(hf):]
    return name


def unet_key(k: str, cfg: dict) -> str:
    """A diffusers UNet2DConditionModel key → its LDM name (after ``model.diffusion_model.``)."""
    per = cfg["layers_per_block"] + 1
    fixed = {"time_embedding.linear_1.": "time_embed.0.", "time_embedding.linear_2.": "time_embed.2.",
             "conv_in.": "input_blocks.0.0.", "conv_norm_out.": "out.0.", "conv_out.": "out.2.",
             "add_embedding.linear_1.": "label_emb.0.0.", "add_embedding.linear_2.": "label_emb.0.2."}  # SDXL
    for hf, sd in fixed.items():
        if k.startswith(hf):
            return sd + k[len(hf):]
    p = k.split(".")
    if p[0] == "down_blocks":
        i = int(p[1])
        if p[2] == "downsamplers":  # down_blocks.i.downsamplers.0.conv → input_blocks.{per*(i+1)}.0.op
            assert p[4] == "conv", k
            return f"input_blocks.{per * (i + 1)}.0.op." + ".".join(p[5:])
        j, rest = int(p[3]), ".".join(p[4:])
        n = per * i + j + 1
        return f"input_blocks.{n}.0.{_sub(rest, RESNET)}" if p[2] == "resnets" else f"input_blocks.{n}.1.{rest}"
    if p[0] == "up_blocks":
        i = int(p[1])
        if p[2] == "upsamplers":  # after the block's resnet (and attention, where it has one)
            has_attn = cfg["up_block_types"][i].startswith("CrossAttn")
            return f"output_blocks.{per * i + per - 1}.{2 if has_attn else 1}." + ".".join(p[4:])
        j, rest = int(p[3]), ".".join(p[4:])
        n = per * i + j
        return f"output_blocks.{n}.0.{_sub(rest, RESNET)}" if p[2] == "resnets" else f"output_blocks.{n}.1.{rest}"
    if p[0] == "mid_block":
        j, rest = int(p[2]), ".".join(p[3:])
        return f"middle_block.{2 * j}.{_sub(rest, RESNET)}" if p[1] == "resnets" else f"middle_block.1.{rest}"
    raise ValueError(f"unet key {k} has no LDM name here")


def vae_key(k: str, cfg: dict) -> str:
    """A diffusers AutoencoderKL key → its LDM name (after ``first_stage_model.``)."""
    n_up = len(cfg["up_block_types"])
    p = k.split(".")
    if p[0] in ("quant_conv", "post_quant_conv"):
        return k
    side, rest = p[0], p[1:]
    if rest[0] in ("conv_in", "conv_out"):
        return k
    if rest[0] == "conv_norm_out":
        return f"{side}.norm_out." + ".".join(rest[1:])
    if rest[0] == "mid_block":
        tail = ".".join(rest[3:])
        if rest[1] == "resnets":
            return f"{side}.mid.block_{int(rest[2]) + 1}." + _sub(tail, [("conv_shortcut", "nin_shortcut")])
        return f"{side}.mid.attn_1." + _sub(tail, VAE_ATTN)
    if rest[0] == "down_blocks":
        i = rest[1]
        if rest[2] == "downsamplers":
            return f"{side}.down.{i}.downsample." + ".".join(rest[4:])
        return f"{side}.down.{i}.block.{rest[3]}." + _sub(".".join(rest[4:]), [("conv_shortcut", "nin_shortcut")])
    if rest[0] == "up_blocks":
        i = n_up - 1 - int(rest[1])  # LDM counts the decoder's levels from the bottom
        if rest[2] == "upsamplers":
            return f"{side}.up.{i}.upsample." + ".".join(rest[4:])
        return f"{side}.up.{i}.block.{rest[3]}." + _sub(".".join(rest[4:]), [("conv_shortcut", "nin_shortcut")])
    raise ValueError(f"vae key {k} has no LDM name here")


def _hf_clip(k: str) -> str:
    # transformers 5 writes CLIPTextModel's keys without the ``text_model.`` of its module path
    return k if k.startswith(("text_model.", "text_projection.")) else "text_model." + k


OPEN_CLIP = [("text_model.encoder.layers.", "transformer.resblocks."), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
             (".mlp.fc1.", ".mlp.c_fc."), (".mlp.fc2.", ".mlp.c_proj."), (".self_attn.", ".attn.")]
OPEN_CLIP_FIXED = {"text_model.embeddings.position_embedding.weight": "positional_embedding",
                   "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
                   "text_model.final_layer_norm.weight": "ln_final.weight", "text_model.final_layer_norm.bias": "ln_final.bias"}


def open_clip_state_dict(tensors: dict) -> dict:
    """A transformers CLIPTextModelWithProjection as OpenCLIP names it (SDXL's second encoder):
    q, k, v projections fused into ``in_proj_*``, the text projection transposed."""
    import torch
    out = {}
    t = {_hf_clip(k): v for k, v in tensors.items()}
    for k, v in t.items():
        if k in OPEN_CLIP_FIXED:
            out[OPEN_CLIP_FIXED[k]] = v
        elif k == "text_projection.weight":
            out["text_projection"] = v.T.contiguous()
        elif ".self_attn.q_proj." in k:
            part = k.rsplit(".", 1)[1]  # weight or bias
            qkv = [t[k.replace(".q_proj.", f".{x}_proj.")] for x in "qkv"]
            name = k.split(".self_attn.")[0] + f".self_attn.in_proj_{part}"
            for hf, oc in OPEN_CLIP:
                name = name.replace(hf, oc)
            out[name] = torch.cat(qkv, 0)
        elif ".self_attn.k_proj." in k or ".self_attn.v_proj." in k:
            continue
        else:
            name = k
            for hf, oc in OPEN_CLIP:
                name = name.replace(hf, oc)
            out[name] = v
    return out


def original_state_dict(model_dir: Path) -> dict:
    """The tensors of a diffusers SD 1.x or SDXL directory under their LDM names."""
    from safetensors.torch import load_file
    xl = json.loads((model_dir / "model_index.json").read_text())["_class_name"] == "StableDiffusionXLPipeline"
    out = {}
    ucfg = json.loads((model_dir / "unet" / "config.json").read_text())
    for k, t in load_file(model_dir / "unet" / "diffusion_pytorch_model.safetensors").items():
        out["model.diffusion_model." + unet_key(k, ucfg)] = t
    vcfg = json.loads((model_dir / "vae" / "config.json").read_text())
    for k, t in load_file(model_dir / "vae" / "diffusion_pytorch_model.safetensors").items():
        name = vae_key(k, vcfg)
        if ".mid.attn_1." in name and name.endswith(("q.weight", "k.weight", "v.weight", "proj_out.weight")) and t.ndim == 2:
            t = t.reshape(*t.shape, 1, 1)  # LDM's attention projections are 1x1 convolutions
        out["first_stage_model." + name] = t
    te = "conditioner.embedders.0.transformer." if xl else "cond_stage_model.transformer."
    for k, t in load_file(model_dir / "text_encoder" / "model.safetensors").items():
        out[te + _hf_clip(k)] = t
    if xl:
        for k, t in open_clip_state_dict(load_file(model_dir / "text_encoder_2" / "model.safetensors")).items():
            out["conditioner.embedders.1.model." + k] = t
    return {k: out[k].contiguous() for k in sorted(out)}


def build(key: str) -> bytes:
    from safetensors.torch import save
    return save(original_state_dict(MODELS[key]), metadata={"format": "pt"})


def _config(component) -> dict:
    cfg = component.config
    return cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)


def verify(key: str, path: Path) -> None:
    """Load ``path`` the way the regenerator does and compare every tensor with the directory model."""
    import diffusers
    import torch
    cls = getattr(diffusers, json.loads((MODELS[key] / "model_index.json").read_text())["_class_name"])
    d = cls.from_pretrained(MODELS[key], local_files_only=True)
    if cls.__name__ == "StableDiffusionXLPipeline":  # through the regenerator, which converts text_encoder_2 itself
        sys.path.insert(0, str(ROOT / "reference"))
        from aigif.regen import loading
        s = loading.load_pipeline("unregistered-sdxl", "float32", "cpu", path)
    else:
        s = cls.from_single_file(str(path), config=str(MODELS[key]), local_files_only=True)
    for comp in [c for c in ("unet", "vae", "text_encoder", "text_encoder_2") if getattr(d, c, None) is not None]:
        a, b = getattr(d, comp).state_dict(), getattr(s, comp).state_dict()
        unloaded = sorted(k for k, t in b.items() if t.is_meta)
        if unloaded:
            raise SystemExit(f"{key}: from_single_file left {comp} tensors unloaded: {unloaded[:8]}")
        if set(a) != set(b):
            raise SystemExit(f"{key}: {comp} keys differ: {sorted(set(a) ^ set(b))[:8]}")
        bad = [k for k in a if a[k].shape != b[k].shape or not torch.equal(a[k], b[k])]
        if bad:
            raise SystemExit(f"{key}: {comp} tensors differ: {bad[:8]}")
        ca, cb = (_config(getattr(x, comp)) for x in (d, s))
        diff = sorted(k for k in set(ca) | set(cb) if ca.get(k) != cb.get(k) and k not in ("_name_or_path", "_use_default_values"))
        if diff:
            raise SystemExit(f"{key}: {comp} configs differ in {diff}")
        print(f"{key}: {comp}: {len(a)} tensors equal, configs equal")
    if _config(d.scheduler) != _config(s.scheduler):
        raise SystemExit(f"{key}: scheduler configs differ")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    ap.add_argument("--verify", action="store_true", help="also load each file with from_single_file and compare every tensor")
    ap.add_argument("--model", choices=sorted(MODELS), action="append", help=f"which (default: {', '.join(BUILT)})")
    ap.add_argument("--out", type=Path, default=OUT, help=f"where the files go (default: {OUT.relative_to(ROOT)}, which git ignores)")
    args = ap.parse_args(argv)
    ok = True
    for key in args.model or BUILT:
        data, path = build(key), args.out / f"{key}.safetensors"
        if args.check:
            same = path.is_file() and path.read_bytes() == data
            print(f"{path.name}: {'ok' if same else 'DIFFERS (rebuild with tools/build_single_file.py)'}")
            ok &= same
        else:
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            print(f"{path.name}: {len(data):,} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
        if args.verify:
            if path.is_file() and path.read_bytes() == data:
                verify(key, path)
            else:  # --check of a file not built: verify the mapping on a temporary copy
                import tempfile
                with tempfile.TemporaryDirectory() as tmp:
                    (Path(tmp) / path.name).write_bytes(data)
                    verify(key, Path(tmp) / path.name)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
