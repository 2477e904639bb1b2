"""Finding and loading a model through the registry (SPEC.md §12.2).

The registry is the only source of where a model comes from and which
classes build it: no string from a file is ever used as a path, URL or
class name. Weights are safetensors only; ``trust_remote_code`` is never set.
"""
from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

from ..errors import AigifError
from ..fsutil import sha256_file
from ..registry import Registry, load
from . import modelfiles, single_file

MODEL_DIR_ENV = "AIGIF_MODEL_DIR"
ROOT = Path(__file__).resolve().parents[3]
#: what :func:`locate` learned about a mapped single-file checkpoint, for :func:`load_pipeline`
#: (by its resolved path): the SHA-256 it verified, and the user's mappings, where the
#: checkpoint's configs may be named (``config:KEY=DIR``)
_VERIFIED: dict[str, str] = {}
_MAPPINGS: dict[str, dict[str, Path]] = {}


def _found(path: Path, model_dirs: dict[str, Path]) -> Path:
    if single_file.is_single_file(path):
        _MAPPINGS[os.path.realpath(path)] = dict(model_dirs)
    return path


def parse_model_dirs(items: list[str] | None) -> dict[str, Path]:
    """``KEY=PATH`` pairs from the command line (KEY is a registry model key,
    or ``name:NAME`` / ``hash:HEX`` for unregistered models)."""
    out = {}
    for item in items or []:
        key, sep, path = item.partition("=")
        if not sep:
            raise AigifError("E_USAGE", f"--model-dir wants KEY=PATH, got {item!r}")
        out[key] = Path(path).expanduser()
    return out


def local_model_dir(local: str) -> Path | None:
    """A model the project ships (``source.local``, e.g. ``vectors/models/tiny-sd1``):
    in the source checkout, or the copy a wheel packages as ``aigif/_models``."""
    for p in (ROOT / local, Path(__file__).resolve().parents[1] / "_models" / Path(local).name):
        if (p / "model_index.json").is_file():
            return p
    return None


def locate(model_key: str, f_model_fields: dict, reg: Registry, model_dirs: dict[str, Path], unverified: bool = False) -> Path:
    """The local directory of a model, or E_MODEL_UNAVAILABLE saying what to fetch."""
    entry = reg.table("models").by_key[model_key]
    src = entry.get("source") or {}
    if entry.get("unregistered"):
        # only a mapping the user gave; the file's name and hash are lookup keys, never paths
        for k in (f"hash:{f_model_fields.get('weights_hash', b'').hex()}", f"name:{f_model_fields.get('model_name', '')}"):
            if k in model_dirs and not k.endswith(":"):
                check_weights_hash(model_dirs[k], f_model_fields.get("weights_hash", b""), unverified)
                return _found(model_dirs[k], model_dirs)
        raise AigifError("E_MODEL_UNAVAILABLE", f"unregistered model {f_model_fields.get('model_name', '')!r}: "
                         "map it with --model-dir name:NAME=PATH or hash:HEX=PATH")
    if model_key in model_dirs:
        return _found(model_dirs[model_key], model_dirs)
    base = os.environ.get(MODEL_DIR_ENV)
    if base and (Path(base) / model_key / "model_index.json").is_file():
        return Path(base) / model_key
    if src.get("local"):
        p = local_model_dir(src["local"])
        if p is not None:
            return p
    if src.get("hub_repo"):
        try:
            from huggingface_hub import snapshot_download
            return Path(snapshot_download(src["hub_repo"], revision=src.get("revision"), local_files_only=True))
        except Exception:  # any miss in the offline cache means "not here"
            pass
        rev = f" --revision {src['revision']}" if src.get("revision") else ""
        raise AigifError("E_MODEL_UNAVAILABLE", f"model {model_key} is not available offline: download it with "
                         f"`hf download {src['hub_repo']}{rev} --local-dir DIR` and pass --model-dir {model_key}=DIR "
                         f"(or use ${MODEL_DIR_ENV}/{model_key} as DIR)")
    raise AigifError("E_MODEL_UNAVAILABLE", f"model {model_key} has no local copy; pass --model-dir {model_key}=PATH")


def check_weights_hash(path: Path, weights_hash: bytes, unverified: bool) -> None:
    """SPEC.md §5.3: an unregistered model's known hash (a prefix of its weights file's SHA-256)
    is verified before use. A single file is hashed; a directory has no such file, so it is
    used only when the user says so (``unverified``: --unverified-models)."""
    if not weights_hash:
        return
    path = Path(path)
    if path.is_file():
        digest = sha256_file(path)
        if bytes.fromhex(digest)[:len(weights_hash)] != weights_hash:
            raise AigifError("E_MODEL_HASH", f"{path} does not match the file's weights hash {weights_hash.hex()}")
        _VERIFIED[os.path.realpath(path)] = digest  # the copy that is loaded must be these bytes
        return
    if not unverified:
        raise AigifError("E_MODEL_HASH", f"the file names its weights by hash ({weights_hash.hex()}), which a directory cannot be "
                         f"checked against: map the checkpoint file itself, or pass --unverified-models to use {path} unchecked")


def check_model_dir(path: Path, model_key: str, reg: Registry) -> None:
    """A model path must be a diffusers directory of the model's family, or a single-file
    ``.safetensors`` checkpoint of a family this regenerator maps to its configs (never a pickle:
    ``.ckpt``, ``.pt``, ``.bin``) (E_MODEL_UNAVAILABLE). A first look, for clear messages;
    :func:`load_pipeline` checks again on the bytes it loads."""
    path = Path(path)
    pipeline = reg.family_of(model_key).raw["pipeline"]
    if single_file.is_single_file(path):
        single_file.check_path(path, model_key, reg.table("models").by_key[model_key], reg.family_of(model_key))
        return
    if not path.exists():
        raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: model directory {path} does not exist")
    if not path.is_dir():
        raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: {path} is not a directory; a diffusers model directory is needed")
    index = path / "model_index.json"
    try:
        cls = json.loads(index.read_text()).get("_class_name")
    except (OSError, ValueError, AttributeError):
        raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: {path} is not a diffusers model directory "
                         "(no readable model_index.json)") from None
    if cls != pipeline:
        raise AigifError("E_MODEL_UNAVAILABLE", f"{model_key}: {path} holds a {cls} model, but {model_key} is of the "
                         f"{reg.family_of(model_key).key} family, whose pipeline is {pipeline}")


def load_pipeline(model_key: str, dtype: str, device: str, path: Path, reg: Registry | None = None):
    """Load a model directory the way SPEC.md §12.2 asks: every file that decides the image is
    read once, checked (family classes, the registered architecture facts, the registry's
    SHA-256 of each file, the bounds of §16), and diffusers loads a private copy of exactly
    those bytes (:mod:`.modelfiles`), so nothing changed in ``path`` after the check is used."""
    import diffusers
    import torch
    reg = reg or load()
    entry = reg.table("models").by_key[model_key]
    path = Path(path)
    check_model_dir(path, model_key, reg)  # before anything is read from it
    family = reg.family_of(model_key)
    cls = getattr(diffusers, family.raw["pipeline"])  # a name from the registry, never from the file
    torch_dtype = getattr(torch, reg.table("dtypes").by_key[dtype]["torch_dtype"])
    if single_file.is_single_file(path):  # SPEC.md §12.2: its configs come from this machine
        real = os.path.realpath(path)
        pipe = single_file.load(model_key, path, reg, family, torch_dtype, _MAPPINGS.get(real, {}), _VERIFIED.get(real))
        return pipe.to(device=device, dtype=torch_dtype)
    with modelfiles.private_dir() as tmp:
        st = modelfiles.stage(path, model_key, entry.get("files"), Path(tmp))
        modelfiles.check_classes(st, model_key, family)
        modelfiles.check_architecture(st, model_key, entry.get("architecture"))
        modelfiles.check_small_hashes(st)
        modelfiles.stage_weights(st, model_key)
        modelfiles.check_bounds(st, model_key, family, torch_dtype.itemsize)
        try:
            pipe = cls.from_pretrained(str(st.dir), dtype=torch_dtype, use_safetensors=True, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise AigifError("E_MODEL_UNAVAILABLE", f"cannot load {model_key} from {path}: {str(exc).splitlines()[0]}") from None
    # the private copy is gone (its tensors are in memory); say where the model came from
    pipe.register_to_config(_name_or_path=str(path))
    # from_pretrained(dtype=...) leaves some components (the SD3 transformer without accelerate,
    # diffusers 0.42) in float32: cast every component, so the file's dtype holds throughout
    return pipe.to(device=device, dtype=torch_dtype)


def build_scheduler(pipe, scheduler_key: str, reg: Registry):
    """The scheduler entry's class over the model's own scheduler config (SPEC.md §12.3)."""
    import diffusers
    entry = reg.table("schedulers").by_key[scheduler_key]
    if entry["class"] is None:  # "default": the model's scheduler as shipped
        return pipe.scheduler.__class__.from_config(pipe.scheduler.config)
    missing = [pkg for pkg in entry.get("requires", []) if importlib.util.find_spec(pkg) is None]
    cls = getattr(diffusers, entry["class"])
    if missing or "dummy" in cls.__module__:  # diffusers swaps in a placeholder class when a dependency is absent
        needs = " ".join(missing or entry.get("requires", [])) or "a package diffusers did not find"
        raise AigifError("E_REGEN_UNSUPPORTED", f"scheduler {scheduler_key} ({entry['class']}) needs {needs}: "
                                                f"pip install {needs}  (or: pip install 'aigif[regen]')")
    return cls.from_config(pipe.scheduler.config, **entry["config"])
