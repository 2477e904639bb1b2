"""Single-file checkpoints (SPEC.md §5.3, §12.2): one ``.safetensors`` of a whole model in the
original LDM / AUTOMATIC1111 key layout (``model.diffusion_model.*``, ``first_stage_model.*``,
``cond_stage_model.*`` / ``conditioner.embedders.*``), the way most users keep their models.

Such a file holds the weights but none of the configs diffusers builds a pipeline from, and
diffusers' ``from_single_file`` would download them from the Hugging Face Hub. Here they come
from this machine only, as a diffusers directory of the family (its ``model_index.json``,
component configs, scheduler config and tokenizer files; no weights needed), found in this order:

1. ``--model-dir config:KEY=DIR`` for the file's model key (``config:unregistered-sd=DIR``);
2. for a registered model, the model's own directory found the usual way (``$AIGIF_MODEL_DIR/KEY``,
   the project's local copy, the Hugging Face cache, offline);
3. for an unregistered model, the first registered model of its family found that way whose
   configs fit the checkpoint's tensor shapes (its UNet's channels, layout and cross-attention
   width, its VAE's, its text encoders' widths and vocabularies), read from the safetensors
   header alone: the conformance checkpoint ``vectors/models/single-file/tiny-sd1.safetensors``
   finds ``vectors/models/tiny-sd1``, an SD 1.5 fine-tune the SD 1.5 configs in the cache.

Nothing else changes: the configs are read once, checked (the family's classes, the registry's
hashes where the config model lists them, the bounds of §16) and staged into the private
directory; the checkpoint is hashed where the file names its hash and diffusers loads the
verified copy (``local_files_only``, the staged configs), so no byte it reads was not checked.
Only ``.safetensors`` is loaded: ``.ckpt``, ``.pt``, ``.pth``, ``.bin`` are pickles and are never opened.
"""
from __future__ import annotations

import json
import math
import os
import re
import struct
from pathlib import Path

from ..errors import AigifError
from . import modelfiles

#: pickled checkpoints: refused by name, never opened
PICKLES = (".ckpt", ".pt", ".pth", ".bin", ".pkl")
#: the families whose single files this regenerator can map to their configs
PIPELINES = ("StableDiffusionPipeline", "StableDiffusionXLPipeline")
UNET = "model.diffusion_model."
VAE = "first_stage_model."
TEXT = {  # text encoder component -> (token embedding key, its LDM prefix); the first found is used
    "StableDiffusionPipeline": {"text_encoder": ["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
                                                 "cond_stage_model.model.token_embedding.weight"]},
    "StableDiffusionXLPipeline": {"text_encoder": ["conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight"],
                                  "text_encoder_2": ["conditioner.embedders.1.model.token_embedding.weight"]},
}


def is_single_file(path: Path) -> bool:
    path = Path(path)
    return path.suffix.lower() in (".safetensors", *PICKLES) and not path.is_dir()


def check_path(path: Path, model_key: str, entry: dict, family) -> None:
    """A first look at a mapped file, before anything is read from it (E_MODEL_UNAVAILABLE)."""
    path = Path(path)
    pipeline = family.raw["pipeline"]
    if path.suffix.lower() in PICKLES:
        raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: {path} is a pickled checkpoint ({path.suffix}), which is never "
                         "loaded (unpickling runs code): convert it to .safetensors, or give a diffusers directory")
    if not path.exists():
        raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: model file {path} does not exist")
    if not path.is_file():
        raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: {path} is not a regular file")
    if entry.get("files"):
        raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: {path} is a single-file checkpoint; single-file checkpoints are not "
                         f"supported yet for a model whose registry entry lists its files (they are a diffusers directory's): "
                         f"a diffusers directory (model_index.json and one folder per component, as {pipeline}.save_pretrained "
                         "writes it) is needed")
    if pipeline not in PIPELINES:
        raise AigifError("E_REGEN_UNSUPPORTED", f"{model_key}: {path} is a single-file checkpoint; single-file checkpoints of the "
                         f"{family.key} family are not supported yet: a diffusers directory (model_index.json and one folder "
                         f"per component, as {pipeline}.save_pretrained writes it) is needed")


def read_header(path: Path, key: str) -> dict[str, list[int]]:
    """Tensor name -> shape, from the safetensors header alone (bounded: E_MODEL_UNAVAILABLE)."""
    try:
        with open(path, "rb") as f:
            raw = f.read(8)
            n = struct.unpack("<Q", raw)[0] if len(raw) == 8 else -1
            if not 0 < n <= modelfiles.MAX_HEADER_BYTES:
                raise ValueError("bad header length")
            header = json.loads(f.read(n))
        return {k: [int(d) for d in v["shape"]] for k, v in header.items() if k != "__metadata__"}
    except (OSError, ValueError, KeyError, TypeError, AttributeError, struct.error):
        raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {Path(path).name} is not a readable safetensors file") from None


def fits(shapes: dict[str, list[int]], configs: dict[str, dict], pipeline: str) -> str | None:
    """Why the configs of a diffusers directory do not describe the checkpoint, or None where they
    fit: the checks diffusers' own conversion depends on, read from the tensor shapes."""
    try:
        return _fits(shapes, configs, pipeline)
    except (TypeError, ValueError, IndexError, AttributeError, KeyError):
        return "its configs do not have the values a checkpoint of the family is checked against"


def _blocks(u: dict) -> int:
    """Input blocks of the LDM UNet a config describes: conv_in, then each level's resnets and downsampler."""
    per = u.get("layers_per_block", 0)
    levels = len(u.get("down_block_types", []))
    per = per if isinstance(per, list) else [per] * levels
    return 1 + sum(int(n) for n in per) + levels - 1


def _fits(shapes: dict[str, list[int]], configs: dict[str, dict], pipeline: str) -> str | None:
    if UNET + "input_blocks.0.0.weight" not in shapes or VAE + "encoder.conv_in.weight" not in shapes:
        return "it has no UNet and VAE in the original layout (model.diffusion_model.*, first_stage_model.*)"
    u = configs.get("unet/config.json", {})
    w = shapes[UNET + "input_blocks.0.0.weight"]
    if w[:2] != [u.get("block_out_channels", [None])[0], u.get("in_channels")]:
        return f"its UNet's first convolution is {w}, the config's block_out_channels[0], in_channels are " \
               f"{u.get('block_out_channels', [None])[0]}, {u.get('in_channels')}"
    blocks = {int(m.group(1)) for k in shapes if (m := re.match(re.escape(UNET) + r"input_blocks\.(\d+)\.", k))}
    want = _blocks(u)
    if len(blocks) != want:
        return f"its UNet has {len(blocks)} input blocks, the config's {want}"
    cross = sorted(k for k in shapes if k.startswith(UNET) and k.endswith("attn2.to_k.weight"))
    if cross and shapes[cross[0]][1] != u.get("cross_attention_dim"):
        return f"its UNet's cross-attention width is {shapes[cross[0]][1]}, the config's {u.get('cross_attention_dim')}"
    v = configs.get("vae/config.json", {})
    if shapes[VAE + "encoder.conv_in.weight"][0] != v.get("block_out_channels", [None])[0]:
        return f"its VAE's first convolution has {shapes[VAE + 'encoder.conv_in.weight'][0]} channels, the config's " \
               f"{v.get('block_out_channels', [None])[0]}"
    for comp, keys in TEXT[pipeline].items():
        found = next((k for k in keys if k in shapes), None)
        t = configs.get(f"{comp}/config.json", {})
        if found is None:
            return f"it has no {comp} weights in the original layout"
        if shapes[found] != [t.get("vocab_size"), t.get("hidden_size")]:
            return f"its {comp}'s token embedding is {shapes[found]}, the config's vocab_size, hidden_size " \
                   f"{t.get('vocab_size')}, {t.get('hidden_size')}"
    return None


def _offline_dir(key: str, reg, model_dirs: dict) -> Path | None:
    """A registered model's diffusers directory on this machine, or None (nothing is downloaded)."""
    from . import loading
    given = model_dirs.get(key)
    if given is not None and (Path(given) / "model_index.json").is_file():
        return Path(given)
    try:
        p = Path(loading.locate(key, {}, reg, {}))
    except AigifError:
        return None
    return p if (p / "model_index.json").is_file() else None


def config_candidates(model_key: str, reg, model_dirs: dict) -> tuple[list[tuple[str, Path]], list[str]]:
    """Diffusers directories whose configs may build the checkpoint, in the order they are tried,
    and the registered models of the family that were looked for and not found."""
    entry = reg.table("models").by_key[model_key]
    given = model_dirs.get(f"config:{model_key}")
    if given is not None:
        return [(f"config:{model_key}", Path(given))], []
    keys = [model_key] if not entry.get("unregistered") else [
        m["key"] for m in reg.table("models").entries
        if m.get("family") == entry.get("family") and not m.get("unregistered") and not m.get("source", {}).get("component_overrides")]
    out, missing = [], []
    for k in keys:
        p = _offline_dir(k, reg, model_dirs)
        (out.append((k, p)) if p is not None else missing.append(k))
    return out, missing


def stage_config(path: Path, key: str, cfg_key: str, reg, family, tmp: Path) -> modelfiles.Staged:
    """The configs and tokenizer files of a diffusers directory, read once into ``tmp``, checked
    as a model directory's are (classes, the registry's hashes where ``cfg_key`` lists them, the
    registered architecture facts), without its weights."""
    entry = reg.table("models").by_key.get(cfg_key) or {}
    if not (Path(path) / "model_index.json").is_file():
        raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: the config directory {path} is not a diffusers model directory "
                         "(no model_index.json)")
    files = [f for f in entry.get("files") or [] if not modelfiles.is_weight(f["file"])] or None
    st = modelfiles.stage(Path(path), key, files, tmp)
    st.pending = []  # the weights come from the checkpoint
    modelfiles.check_classes(st, key, family)
    modelfiles.check_architecture(st, key if cfg_key.startswith("config:") else cfg_key, entry.get("architecture"))
    modelfiles.check_small_hashes(st)
    return st


def check_bounds(st: modelfiles.Staged, key: str, family, shapes: dict[str, list[int]], dtype_bytes: int) -> None:
    """SPEC.md §16 for a single file: every config bounded in shape, and the models they describe,
    built on the meta device, hold no more parameters than the checkpoint has (E_BUDGET)."""
    held = sum(math.prod(s) for s in shapes.values())
    need = 0
    for comp, spec in sorted(st.index().items()):
        if comp.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or spec[1] is None:
            continue
        found = st.component_config(comp)
        if found is None:
            continue
        rel, cfg = found
        is_sched = rel.endswith("scheduler_config.json")
        if rel not in st.verified:
            modelfiles.check_config_shape(key, rel, cfg, scheduler=is_sched)
        if is_sched or comp in ("safety_checker", "feature_extractor", "image_encoder"):
            continue  # not built from a single file
        cls_name = family.raw.get("components", {}).get(comp)
        cls = modelfiles._model_class(spec[1] if cls_name in (None, "*") else cls_name)
        if cls is not None:
            need += modelfiles.meta_numel(cls, cfg)
    if need > held:
        raise AigifError("E_BUDGET", f"{key}: the configs describe {need:,} parameters ({need * dtype_bytes / 2**30:.1f} GiB), "
                         f"but the checkpoint holds {held:,}: refused before allocating anything")


def stage_checkpoint(path: Path, key: str, verified_sha256: str | None, tmp: Path) -> Path:
    """The checkpoint diffusers loads: where its hash was verified, a private copy hashed on the
    way, which must be the bytes that were verified (E_MODEL_HASH); otherwise the file itself,
    linked (nothing to verify, and what is built from it is bounded)."""
    import hashlib
    out = Path(tmp) / "checkpoint.safetensors"
    f, _ = modelfiles._open(Path(path), key, Path(path).name)
    with f:
        if verified_sha256 is None:
            try:
                os.symlink(os.path.realpath(path), out)
                return out
            except OSError:
                pass
        h = hashlib.sha256()
        with open(out, "wb") as o:
            while chunk := f.read(modelfiles.CHUNK):
                h.update(chunk)
                o.write(chunk)
    if verified_sha256 is not None and h.hexdigest() != verified_sha256:
        out.unlink()
        raise AigifError("E_MODEL_HASH", f"{key}: {path} changed after its weights hash was checked")
    return out


def no_config_error(key: str, path: Path, reg, missing: list[str], misfits: list[str]) -> AigifError:
    hubs = [(k, repo) for k in missing if (repo := (reg.table("models").by_key[k].get("source") or {}).get("hub_repo"))]
    hint = " or ".join(f"`hf download {repo} --include '*.json' '*.txt' --local-dir DIR` ({k})" for k, repo in hubs[:2])
    tried = f" (tried: {'; '.join(misfits)})" if misfits else ""
    return AigifError("E_MODEL_UNAVAILABLE", f"{key}: the single-file checkpoint {path} needs its family's diffusers configs on "
                      f"this machine, and none was found that fits it{tried}: download them"
                      f"{' with ' + hint if hint else ''}, and pass --model-dir config:{key}=DIR (a diffusers directory "
                      "of the family: model_index.json, the component configs and tokenizer files; no weights needed)")


OPEN_CLIP_SDXL = "conditioner.embedders.1.model."


def open_clip_encoder(ckpt: Path, st: modelfiles.Staged, key: str):
    """SDXL's second text encoder, converted from the checkpoint's OpenCLIP tensors by diffusers'
    own conversion. diffusers 0.42 picks the conversion of ``text_encoder_2`` by comparing widths
    (the CLIP-L one when the first encoder's position embedding is as wide as the second's), which
    fills it from the first encoder where both are equally wide (the conformance model's are):
    converting it here uses the OpenCLIP tensors always."""
    import transformers
    from diffusers.loaders.single_file_utils import convert_open_clip_checkpoint
    from safetensors import safe_open
    with safe_open(str(ckpt), "pt") as f:
        sub = {k: f.get_tensor(k) for k in f.keys() if k.startswith(OPEN_CLIP_SDXL)}
    cfg = transformers.CLIPTextConfig.from_pretrained(str(st.dir / "text_encoder_2"))
    try:
        from accelerate import init_empty_weights
    except ImportError:  # built on the CPU, then overwritten
        import contextlib
        init_empty_weights = contextlib.nullcontext
    with init_empty_weights():  # parameters on the meta device, buffers real
        model = transformers.CLIPTextModelWithProjection(cfg)
    sd = convert_open_clip_checkpoint(model, sub, prefix=OPEN_CLIP_SDXL)
    want = set(model.state_dict())
    if want - set(sd):
        raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: the checkpoint lacks text_encoder_2 weights: "
                         f"{sorted(want - set(sd))[:3]}")
    model.load_state_dict({k: v for k, v in sd.items() if k in want}, strict=True, assign=True)
    if any(t.is_meta for t in model.state_dict().values()):
        raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: the checkpoint's text_encoder_2 did not load")
    model.float()  # in place (transformers types .to() oddly)
    return model.eval()


def load(model_key: str, path: Path, reg, family, torch_dtype, model_dirs: dict, verified_sha256: str | None):
    """Build the family's pipeline from a single-file checkpoint, offline (see the module doc)."""
    import diffusers
    import torch
    path = Path(path)
    pipeline = family.raw["pipeline"]
    cls = getattr(diffusers, pipeline)  # a name from the registry, never from the file
    shapes = read_header(path, model_key)
    cands, missing = config_candidates(model_key, reg, model_dirs)
    misfits = []
    with modelfiles.private_dir() as tmp:
        chosen = None
        for i, (cfg_key, cfg_dir) in enumerate(cands):
            try:
                st = stage_config(cfg_dir, model_key, cfg_key, reg, family, Path(tmp) / f"config-{i}")
            except AigifError as err:
                if cfg_key.startswith("config:"):
                    raise
                misfits.append(f"{cfg_key} at {cfg_dir}: {err.message}")  # a broken candidate: try the next
                continue
            why = fits(shapes, st.configs, pipeline)
            if why is None:
                chosen = st
                break
            if cfg_key.startswith("config:"):  # the user's choice: say why it cannot be
                raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: the configs in {cfg_dir} do not describe {path}: {why}")
            misfits.append(f"{cfg_key} at {cfg_dir}: {why}")
        if chosen is None:
            raise no_config_error(model_key, path, reg, missing, misfits)
        check_bounds(chosen, model_key, family, shapes, torch_dtype.itemsize)
        ckpt = stage_checkpoint(path, model_key, verified_sha256, Path(tmp))
        try:  # an AigifError of open_clip_encoder passes through: it is not caught below
            extra = {"text_encoder_2": open_clip_encoder(ckpt, chosen, model_key)} if pipeline == "StableDiffusionXLPipeline" else {}
            pipe = cls.from_single_file(str(ckpt), config=str(chosen.dir), local_files_only=True, dtype=torch_dtype, **extra)
        except AigifError:
            raise
        except Exception as exc:  # diffusers' conversion raises many kinds; any is "cannot load"
            msg = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            raise AigifError("E_MODEL_UNAVAILABLE", f"cannot load {model_key} from the single-file checkpoint {path} "
                             f"with the configs of {chosen.source}: {msg}") from None
    for name, comp in pipe.components.items():
        if isinstance(comp, torch.nn.Module) and any(p.is_meta for p in comp.parameters()):
            raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: {path} lacks weights of the {name} the configs of "
                             f"{chosen.source} describe")
    pipe.register_to_config(_name_or_path=str(path))
    return pipe
