"""The files of a model directory, read once, checked, and staged for loading (SPEC.md §5.3, §12.2, §16).

A regenerator must hash what decides the image and load what it hashed. Everything
diffusers would read from a model directory — ``model_index.json``, every component's
config, the tokenizer files and the weights — is read here exactly once:

- each small file (configs, tokenizer files: at most :data:`MAX_SMALL_BYTES`) is read into
  memory, hashed, parsed where it is a config, and written from those same bytes into a
  private temporary directory (mode 0700);
- each weight file with a registered SHA-256 is streamed into that directory, hashed on
  the way; a mismatch deletes the copy (``E_MODEL_HASH`` naming the file);
- a weight file without a registered hash (nothing to verify, so nothing to race with) is
  linked, not copied.

diffusers then loads the private directory, which holds only those files: a file changed,
swapped or added in the user's directory after it was read cannot reach the pipeline. The
checks that decide whether to load at all — the family's classes, the registered model's
architecture facts, the bounds on what a config may make us allocate — run on the parsed
bytes, never on a second read.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import stat
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AigifError

#: configs and tokenizer files are read whole; a larger one is not a config (Gemma's tokenizer.json is 34 MB)
MAX_SMALL_BYTES = 64 << 20
#: a config (model_index.json, config.json, scheduler_config.json) is parsed: at most 1 MiB
MAX_CONFIG_BYTES = 1 << 20
#: safetensors' own bound on a header
MAX_HEADER_BYTES = 100 << 20
#: before a model is even built on the meta device: how many modules a config may ask for
MAX_LAYERS = 256        # any *layers*/*blocks*/depth count (Flux: 38 single blocks, SD3.5 large: 38)
MAX_LIST = 64           # length of a list of numbers in a model config (block_out_channels: 4)
MAX_INT = 1 << 20       # any integer in a model config (Gemma 2's vocabulary: 256,000)
MAX_TRAIN_TIMESTEPS = 100_000
CHUNK = 1 << 20

CONFIG_NAMES = ("model_index.json", "config.json", "scheduler_config.json")
SMALL_SUFFIXES = (".json", ".txt", ".model")
WEIGHT_STEMS = ("diffusion_pytorch_model", "model")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_LAYERISH = re.compile(r"(layers|blocks|depth)", re.I)
#: components outside a family's list that a published model directory may carry (SD 1.5's
#: safety checker, an image encoder): the class diffusers builds is checked against this list
EXTRA_COMPONENTS = {
    "safety_checker": ("StableDiffusionSafetyChecker",),
    "feature_extractor": ("CLIPImageProcessor", "CLIPFeatureExtractor"),
    "image_encoder": ("CLIPVisionModelWithProjection",),
}


TOKENIZERS = ("CLIPTokenizer", "CLIPTokenizerFast", "T5Tokenizer", "T5TokenizerFast", "GemmaTokenizer",
              "GemmaTokenizerFast", "LlamaTokenizer", "LlamaTokenizerFast")


def manifest_sha256(files: list[dict]) -> str:
    """One digest over a model's files: SHA-256 of the lines ``"<sha256>  <path>\\n"`` (as
    ``sha256sum`` prints them), sorted by path in UTF-8 byte order (SPEC.md §12.2)."""
    lines = sorted((f["file"].encode(), f["sha256"]) for f in files)
    return hashlib.sha256(b"".join(h.encode() + b"  " + p + b"\n" for p, h in lines)).hexdigest()


def is_weight(rel: str) -> bool:
    return rel.endswith(".safetensors")


@dataclass
class Staged:
    """A model directory read once: ``dir`` is the private copy diffusers loads."""
    source: Path
    dir: Path
    configs: dict[str, dict] = field(default_factory=dict)     # "unet/config.json" -> parsed
    digests: dict[str, str] = field(default_factory=dict)      # every staged file -> SHA-256
    weights: dict[str, list[Path]] = field(default_factory=dict)  # component -> staged weight files
    verified: set[str] = field(default_factory=set)            # files whose SHA-256 the registry gave
    expected: dict | None = None                               # the registry's files by path, if it lists them
    pending: list[str] = field(default_factory=list)           # weight files still to stage
    mismatched: list[AigifError] = field(default_factory=list)  # configs that are not the registry's

    def index(self) -> dict:
        return self.configs.get("model_index.json", {})

    def component_config(self, comp: str) -> tuple[str, dict] | None:
        for name in ("config.json", "scheduler_config.json"):
            rel = f"{comp}/{name}"
            if rel in self.configs:
                return rel, self.configs[rel]
        return None


def _open(src: Path, key: str, rel: str):
    try:
        f = open(src, "rb")  # closed by the caller
    except FileNotFoundError:
        raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {rel} is missing from the model directory") from None
    except OSError as exc:
        raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: cannot read {rel}: {exc.strerror or exc}") from None
    st = os.fstat(f.fileno())
    if not stat.S_ISREG(st.st_mode):  # checked on the open file, not on a name that may change
        f.close()
        raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {rel} is not a regular file")
    return f, st.st_size


def _candidates(source: Path, index: dict, key: str) -> list[str]:
    """The files diffusers may read, for a model without a registered file list: model_index.json
    and, in each component folder model_index names, its configs, tokenizer files and the
    non-variant safetensors weights (``.bin``, variants and anything else are left out)."""
    out = ["model_index.json"]
    for comp, spec in sorted(index.items()):
        if comp.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or spec[0] is None or spec[1] is None:
            continue
        if not _SAFE_NAME.match(comp):
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: model_index.json names a component {comp!r}, which is not a folder name")
        folder = source / comp
        try:
            names = sorted(p.name for p in folder.iterdir())
        except OSError:
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: model_index.json names the component {comp}, "
                             f"but {comp}/ is missing from the model directory") from None
        shards: set[str] = set()
        for n in names:
            if n.endswith(".safetensors.index.json") and n.split(".")[0] in WEIGHT_STEMS:
                shards.add(n.split(".")[0])
        for n in names:
            if not _SAFE_NAME.match(n):
                continue
            stem = n.split(".")[0]
            if n.endswith(SMALL_SUFFIXES):
                out.append(f"{comp}/{n}")
            elif n in (f"{s}.safetensors" for s in WEIGHT_STEMS):
                out.append(f"{comp}/{n}")
            elif n.endswith(".safetensors") and stem.split("-")[0] in shards and re.search(r"-\d+-of-\d+\.safetensors$", n):
                out.append(f"{comp}/{n}")
    return out


def stage(source: Path, key: str, files: list[dict] | None, tmp: Path) -> Staged:
    """Read the model's configs and tokenizer files once into ``tmp`` (a fresh private
    directory); the weights follow in :func:`stage_weights`, once the configs say this is the
    model. ``files``: the registry's list ({file, sha256, bytes}); None for a model the
    registry has no list for, whose files are then those diffusers would read."""
    st = Staged(source=Path(source), dir=Path(tmp))
    st.expected = {f["file"]: f for f in files} if files else None
    # model_index.json first: without a registered list it says which folders to read
    idx = _read_small(st, key, "model_index.json", st.expected)
    rels = list(st.expected) if st.expected is not None else _candidates(st.source, idx, key)
    for rel in rels:
        if rel == "model_index.json":
            continue
        if is_weight(rel):
            st.pending.append(rel)
        else:
            _read_small(st, key, rel, st.expected)
    return st


def check_small_hashes(st: Staged) -> None:
    """The first config or tokenizer file that is not the registry's (E_MODEL_HASH, naming it)."""
    if st.mismatched:
        raise st.mismatched[0]


def stage_weights(st: Staged, key: str) -> None:
    for rel in st.pending:
        _stage_weight(st, key, rel, st.expected)
    st.pending = []


def _check_expected(key: str, rel: str, digest: str, size: int, expected: dict | None) -> None:
    if expected is None:
        return
    want = expected[rel]
    if digest != want["sha256"]:
        got = f" ({size:,} bytes, registered: {want['bytes']:,})" if want.get("bytes") not in (None, size) else ""
        raise AigifError("E_MODEL_HASH", f"{key}: {rel} does not match the registry's SHA-256{got}: "
                         "this is not the registered model (or the file was changed)")


def _read_small(st: Staged, key: str, rel: str, expected: dict | None) -> dict:
    cap = MAX_CONFIG_BYTES if rel.rsplit("/", 1)[-1] in CONFIG_NAMES else MAX_SMALL_BYTES
    f, size = _open(st.source / rel, key, rel)
    with f:
        if size > cap:
            raise AigifError("E_BUDGET", f"{key}: {rel} is {size:,} bytes, over the {cap:,} a "
                             f"{'config' if cap == MAX_CONFIG_BYTES else 'tokenizer or config file'} may have")
        data = f.read(cap + 1)  # what the file holds now, whatever stat said
    if len(data) > cap:
        raise AigifError("E_BUDGET", f"{key}: {rel} grew past {cap:,} bytes while it was read")
    digest = hashlib.sha256(data).hexdigest()
    if expected is not None and rel in expected:
        try:
            _check_expected(key, rel, digest, len(data), expected)
            st.verified.add(rel)
        except AigifError as err:  # reported after the architecture check, whose message says more
            st.mismatched.append(err)
    parsed: dict = {}
    if rel.rsplit("/", 1)[-1] in CONFIG_NAMES:
        try:
            parsed = json.loads(data)
        except ValueError:
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {rel} is not valid JSON") from None
        if not isinstance(parsed, dict):
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {rel} is not a JSON object")
        st.configs[rel] = parsed
    out = st.dir / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)  # the bytes that were hashed and parsed, nothing read again
    st.digests[rel] = digest
    return parsed


def _stage_weight(st: Staged, key: str, rel: str, expected: dict | None) -> None:
    out = st.dir / rel
    out.parent.mkdir(parents=True, exist_ok=True)
    st.weights.setdefault(rel.split("/", 1)[0] if "/" in rel else "", []).append(out)
    want = (expected or {}).get(rel)
    if want is None:  # nothing registered to verify: use it where it is
        src = st.source / rel
        f, _ = _open(src, key, rel)
        f.close()
        try:
            os.symlink(os.path.realpath(src), out)
        except OSError:  # no symlinks here (Windows without the privilege): copy it
            _copy_hashing(st, key, rel, None)
        return
    _copy_hashing(st, key, rel, want)
    st.verified.add(rel)


def _copy_hashing(st: Staged, key: str, rel: str, want: dict | None) -> None:
    f, size = _open(st.source / rel, key, rel)
    out = st.dir / rel
    with f:
        if want is not None and want.get("bytes") is not None and size != want["bytes"]:
            raise AigifError("E_MODEL_HASH", f"{key}: {rel} is {size:,} bytes, the registered file {want['bytes']:,}: "
                             "this is not the registered model (or the file was changed)")
        h = hashlib.sha256()
        with open(out, "wb") as o:
            while chunk := f.read(CHUNK):
                h.update(chunk)
                o.write(chunk)
    digest = h.hexdigest()
    st.digests[rel] = digest
    if want is not None and digest != want["sha256"]:
        out.unlink()
        raise AigifError("E_MODEL_HASH", f"{key}: {rel} does not match the registry's SHA-256: "
                         "this is not the registered model (or the file was changed)")


def private_dir() -> tempfile.TemporaryDirectory:
    """A directory only this user can enter (``mkdtemp`` makes it 0700); ``$TMPDIR`` chooses where."""
    return tempfile.TemporaryDirectory(prefix="aigif-model-", ignore_cleanup_errors=True)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------- identity: family classes, architecture facts
def check_classes(st: Staged, key: str, family) -> None:
    """model_index.json names the family's pipeline and, for each component the family lists
    with a class, that class (E_MODEL_UNAVAILABLE)."""
    index = st.index()
    pipeline = family.raw["pipeline"]
    if index.get("_class_name") != pipeline:
        raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {st.source} holds a {index.get('_class_name')} model, but {key} is "
                         f"of the {family.key} family, whose pipeline is {pipeline}")
    comps = family.raw.get("components", {})
    for comp, cls in comps.items():
        spec = index.get(comp)
        if cls == "*":
            continue
        if not isinstance(spec, list) or len(spec) != 2 or spec[1] is None:
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {st.source}'s model_index.json has no {comp}, which the "
                             f"{family.key} family needs ({cls})")
        if spec[1] != cls and not (cls.endswith("Tokenizer") and spec[1] == cls + "Fast"):
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {st.source}'s {comp} is a {spec[1]}, the {family.key} family's is {cls}")
    for comp, spec in index.items():
        if comp.startswith("_") or comp in comps or not isinstance(spec, list) or len(spec) != 2 or spec[1] is None:
            continue
        if comp.startswith("tokenizer") and spec[1] in TOKENIZERS:
            continue  # families list their models; tokenizers build nothing from a config
        if spec[1] not in EXTRA_COMPONENTS.get(comp, ()):
            raise AigifError("E_REGEN_UNSUPPORTED", f"{key}: {st.source}'s model_index.json adds a component {comp} ({spec[1]}) "
                             f"that the {family.key} family does not have")


def check_architecture(st: Staged, key: str, facts: dict | None) -> None:
    """The registered model's architecture facts (registry ``architecture``: component ->
    config key -> value) against the directory's configs: the first that differs is
    E_MODEL_UNAVAILABLE, saying which value, so a directory of another model of the same
    family (the tiny SDXL model given as sdxl-base-1.0) is refused before anything loads.
    A key the config lacks is not compared."""
    for comp, want in (facts or {}).items():
        found = st.component_config(comp)
        if found is None:
            raise AigifError("E_MODEL_UNAVAILABLE", f"{st.source} is not {key}: it has no {comp}/config.json")
        rel, cfg = found
        for k, v in want.items():
            if k not in cfg:
                continue  # a config written before the key existed: its class default, not a contradiction
            got = cfg[k]
            if got != v:
                raise AigifError("E_MODEL_UNAVAILABLE", f"{st.source} is not {key}: {rel} has {k} = {json.dumps(got)}, "
                                 f"{key}'s is {json.dumps(v)}")


# ---------------------------------------------------------------- bounds: what a config may make us allocate
def _walk_numbers(value, path: str):
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        yield path, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk_numbers(v, f"{path}[{i}]")
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk_numbers(v, f"{path}.{k}" if path else str(k))


def check_config_shape(key: str, rel: str, cfg: dict, scheduler: bool = False) -> None:
    """Structural bounds, checked before a model is built even on the meta device
    (E_BUDGET): no count of layers or blocks over :data:`MAX_LAYERS`, no list of numbers
    longer than :data:`MAX_LIST`, no integer over :data:`MAX_INT`; a scheduler's
    ``num_train_timesteps`` at most :data:`MAX_TRAIN_TIMESTEPS`."""
    def over(what: str, limit: int):
        return AigifError("E_BUDGET", f"{key}: {rel} has {what}, over the {limit:,} this regenerator builds "
                          "(an edited config cannot buy an allocation)")
    if scheduler:
        n = cfg.get("num_train_timesteps", 1000)
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MAX_TRAIN_TIMESTEPS:
            raise over(f"num_train_timesteps = {n!r}", MAX_TRAIN_TIMESTEPS)
        betas = cfg.get("trained_betas")
        if isinstance(betas, list) and len(betas) > MAX_TRAIN_TIMESTEPS:
            raise over(f"{len(betas):,} trained_betas", MAX_TRAIN_TIMESTEPS)
        return
    for k, v in cfg.items():
        if isinstance(v, list) and len(v) > MAX_LIST:
            raise over(f"{k} with {len(v):,} entries", MAX_LIST)
    for path, v in _walk_numbers({k: v for k, v in cfg.items() if not k.startswith("_")}, ""):
        if isinstance(v, float):
            if not math.isfinite(v):
                raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {rel} has {path} = {v}")
            continue
        name = path.split(".")[-1].split("[")[0]
        if _LAYERISH.search(name) and not name.endswith(("channels", "dim", "dims", "types", "type")) and abs(v) > MAX_LAYERS:
            raise over(f"{path} = {v:,}", MAX_LAYERS)
        if abs(v) > MAX_INT:
            raise over(f"{path} = {v:,}", MAX_INT)


def safetensors_numel(paths: list[Path], key: str, comp: str) -> int:
    """Elements of every tensor the weight files hold, from their headers alone."""
    total = 0
    for p in paths:
        try:
            with open(p, "rb") as f:
                raw = f.read(8)
                n = struct.unpack("<Q", raw)[0] if len(raw) == 8 else -1
                if not 0 < n <= MAX_HEADER_BYTES:
                    raise ValueError("bad header length")
                header = json.loads(f.read(n))
            for name, t in header.items():
                if name != "__metadata__":
                    total += math.prod(int(d) for d in t["shape"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, struct.error):
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {comp}'s weights {p.name} are not a readable safetensors file") from None
    return total


def _model_class(name: str):
    import diffusers
    import transformers
    if name == "StableDiffusionSafetyChecker":
        from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
        return StableDiffusionSafetyChecker
    cls = getattr(diffusers, name, None) or getattr(transformers, name, None)
    return cls if isinstance(cls, type) else None


def meta_numel(cls, cfg: dict) -> int:
    """Parameters of the model ``cfg`` describes, built on the meta device: nothing is allocated."""
    import torch
    with torch.device("meta"):
        if hasattr(cls, "from_config") and hasattr(cls, "config_name"):  # a diffusers model
            model = cls.from_config(cfg)
        else:  # a transformers model
            model = cls(cls.config_class.from_dict({k: v for k, v in cfg.items() if k != "_name_or_path"}))
    return sum(p.numel() for p in model.parameters())


def check_bounds(st: Staged, key: str, family, dtype_bytes: int) -> None:
    """SPEC.md §16: before any component is built, a config the registry did not verify may not
    describe more than its weight files hold (E_BUDGET). The structural bounds come first, so
    that building the model on the meta device to count its parameters is itself bounded."""
    index = st.index()
    for comp, spec in sorted(index.items()):
        if comp.startswith("_") or not isinstance(spec, list) or len(spec) != 2 or spec[1] is None:
            continue
        found = st.component_config(comp)
        if found is None:
            continue  # a tokenizer or image processor: files diffusers reads, no model to build
        rel, cfg = found
        if rel in st.verified:
            continue  # the registry's own config
        is_sched = rel.endswith("scheduler_config.json")
        check_config_shape(key, rel, cfg, scheduler=is_sched)
        if is_sched:
            continue
        cls_name = family.raw.get("components", {}).get(comp)
        cls_name = spec[1] if cls_name in (None, "*") else cls_name
        cls = _model_class(cls_name)
        if cls is None:
            continue  # not a model (an image processor's config)
        weights = st.weights.get(comp)
        if not weights:
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {comp}/ has a config but no safetensors weights "
                             "(only .safetensors files are loaded)")
        held = safetensors_numel(weights, key, comp)
        try:
            need = meta_numel(cls, cfg)
        except Exception as exc:  # a config its class cannot build is not this model
            raise AigifError("E_MODEL_UNAVAILABLE", f"{key}: {rel} does not describe a {cls_name}: "
                             f"{str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__}") from None
        if need > held:
            raise AigifError("E_BUDGET", f"{key}: {rel} describes {need:,} parameters ({need * dtype_bytes / 2**30:.1f} GiB), "
                             f"but {comp}'s weights hold {held:,}: refused before allocating anything")
