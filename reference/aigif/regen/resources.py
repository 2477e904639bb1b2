"""External resources by identity (SPEC.md §12.11): the LoRAs, textual-inversion
embeddings and VAE a file's critical ``resources`` extension names.

A file names each resource by its name and by hash, never by path. The
regenerator finds it only through a mapping its user gives (``--resource-dir``
and ``$AIGIF_RESOURCE_DIR``): folders searched for ``NAME.safetensors`` (and,
when the name finds nothing, for a file with the recorded hash), or explicit
``name:NAME=FILE`` / ``hash:HEX=FILE`` entries. Every resource is read once,
checked (safetensors, the recorded hashes) and loaded from those bytes, so a
file changed on disk after the check is never used. It is applied through
diffusers' own loaders — ``load_textual_inversion``, ``load_lora_weights`` with
peft and ``set_adapters`` (UNet and text-encoder multipliers apart),
``AutoencoderKL.from_single_file`` with the model's VAE config — and taken off
again afterwards, so the loaded pipeline serves the next file unchanged.

Only this module imports torch/diffusers, and only inside the functions that
need them: describing resources (:func:`resources_of`, :func:`extension`) is
pure Python, for importers.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import AigifError
from ..file import AigifFile, Extension
from ..registry import Registry

RESOURCE_DIR_ENV = "AIGIF_RESOURCE_DIR"
KEY = "resources"
#: kind codes of the ``kind_N`` fields (SPEC.md §12.11); 0 is an unused slot
KINDS = {1: "lora", 2: "embedding", 3: "vae"}
KIND_CODES = {v: k for k, v in KINDS.items()}
#: the number of slots of the extension (its registry entry has kind_1 … kind_8)
MAX_RESOURCES = 8
#: a resource file larger than this is refused before it is read (SPEC.md §11's model payload bound)
MAX_BYTES = 2 * 1024**3
#: a safetensors header larger than this is not one (safetensors itself limits it to 100 MB)
MAX_HEADER = 100 * 1024**2
#: files a folder index looks at, at most (a hostile or mistaken folder must not cost minutes)
MAX_INDEX = 100_000
FLAG = "--resource-dir"


@dataclass(frozen=True)
class Resource:
    """One resource of a file: what it is, its name, its hashes (prefixes, as
    long as known) and, for a LoRA, its UNet and text-encoder multipliers."""
    kind: str
    name: str = ""
    sha256: bytes = b""
    tensors_sha256: bytes = b""
    weight: float = 1.0
    te_weight: float = 1.0

    def describe(self, slot: int | None = None) -> str:
        what = f"{self.kind} {self.name!r}" if self.name else f"{self.kind} (no name)"
        hashes = [f"{label} {h.hex()}" for label, h in (("sha256", self.sha256), ("tensors sha256", self.tensors_sha256)) if h]
        return (f"resource {slot} " if slot else "") + what + (f" [{', '.join(hashes)}]" if hashes else "")


# ---------------------------------------------------------------- the extension (no torch)

def resources_of(f: AigifFile) -> list[Resource]:
    """The resources a file names, in slot order; [] when it has no ``resources`` extension."""
    x = f.extension_fields(KEY)
    if x is None:
        return []
    out = []
    for k in range(1, MAX_RESOURCES + 1):
        kind = x[f"kind_{k}"]
        if not kind:
            break
        out.append(Resource(KINDS[kind], x[f"name_{k}"], bytes(x[f"sha256_{k}"]), bytes(x[f"tensors_sha256_{k}"]),
                            float(x[f"weight_{k}"]), float(x[f"te_weight_{k}"])))
    return out


def extension(resources: list[Resource], reg: Registry) -> Extension:
    """The ``resources`` extension for a list of 1 … 8 resources (E_LIMIT beyond):
    used slots hold the resources in order, the rest every field's default;
    weights are written only for LoRAs (the registry's ``when`` rules)."""
    if not resources:
        raise AigifError("E_FIELDS", "a resources extension names at least one resource (omit it otherwise)")
    if len(resources) > MAX_RESOURCES:
        raise AigifError("E_LIMIT", f"{len(resources)} resources: a file names at most {MAX_RESOURCES} (SPEC.md §12.11)")
    fields: dict = {}
    for k in range(1, MAX_RESOURCES + 1):
        r = resources[k - 1] if k <= len(resources) else None
        if r is not None and r.kind not in KIND_CODES:
            raise AigifError("E_FIELDS", f"resource {k}: kind {r.kind!r} is not one of {', '.join(KIND_CODES)}")
        if r is not None and not (r.name or r.sha256 or r.tensors_sha256):
            raise AigifError("E_FIELDS", f"resource {k}: a resource needs a name or a hash to be found")
        lora = r is not None and r.kind == "lora"
        fields.update({f"kind_{k}": KIND_CODES[r.kind] if r else 0, f"name_{k}": r.name if r else "",
                       f"sha256_{k}": bytes(r.sha256) if r else b"", f"tensors_sha256_{k}": bytes(r.tensors_sha256) if r else b"",
                       f"weight_{k}": float(r.weight) if r is not None and lora else 1,
                       f"te_weight_{k}": float(r.te_weight) if r is not None and lora else 1})
    return Extension.of(KEY, fields, reg)


# ---------------------------------------------------------------- the user's mapping

@dataclass
class ResourceMap:
    """Where a regenerator may look: folders, and explicit ``name:NAME`` / ``hash:HEX`` → file."""
    dirs: list[Path] = dataclasses.field(default_factory=list)
    files: dict[str, Path] = dataclasses.field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.dirs or self.files)


def parse_resource_dirs(items: list[str] | None, env: str | None = None) -> ResourceMap:
    """``--resource-dir`` values (a folder, or ``name:NAME=FILE`` / ``hash:HEX=FILE``) and
    ``$AIGIF_RESOURCE_DIR`` (folders separated by the OS path separator), in that order."""
    m = ResourceMap()
    for item in items or []:
        if item.startswith(("name:", "hash:")):
            key, sep, path = item.partition("=")
            if not sep or not path or key in ("name:", "hash:"):
                raise AigifError("E_USAGE", f"{FLAG} wants DIR, name:NAME=FILE or hash:HEX=FILE, got {item!r}")
            if key.startswith("hash:"):
                hx = key[5:].lower()
                if not re.fullmatch(r"(?:[0-9a-f]{2}){1,32}", hx):
                    raise AigifError("E_USAGE", f"{FLAG} {item!r}: HEX is 1 to 32 bytes of hexadecimal")
                key = "hash:" + hx
            m.files[key] = Path(path).expanduser()
        else:
            m.dirs.append(Path(item).expanduser())
    env = os.environ.get(RESOURCE_DIR_ENV) if env is None else env
    m.dirs += [Path(p).expanduser() for p in (env or "").split(os.pathsep) if p]
    return m


def _hint(r: Resource) -> str:
    key = f"name:{r.name}" if r.name else f"hash:{(r.sha256 or r.tensors_sha256).hex()}"
    return (f"pass {FLAG} DIR (a folder holding {r.name or 'the file'}.safetensors), or {FLAG} {key}=FILE, "
            f"or set ${RESOURCE_DIR_ENV}")


def _index(dirs: list[Path]) -> list[Path]:
    """Every regular file below the mapped folders (symlinked folders not followed), sorted."""
    out: list[Path] = []
    for d in dirs:
        if not d.is_dir():
            continue
        for root, subdirs, names in os.walk(d, followlinks=False):
            subdirs.sort()
            for n in sorted(names):
                out.append(Path(root) / n)
                if len(out) > MAX_INDEX:
                    raise AigifError("E_BUDGET", f"the resource folders hold more than {MAX_INDEX:,} files")
    return out


_HASHES: dict[tuple, tuple[bytes, bytes]] = {}


def _file_hashes(p: Path) -> tuple[bytes, bytes] | None:
    """(SHA-256 of the file, of its tensor data) of a safetensors file, read in blocks and
    cached by (path, size, mtime); None for a file that is not safetensors or is over 2 GiB."""
    try:
        st = p.stat()
        key = (str(p), st.st_size, st.st_mtime_ns)
        if key not in _HASHES:
            if st.st_size > MAX_BYTES:
                return None
            with open(p, "rb") as fh:
                head = fh.read(8)
                n = int.from_bytes(head, "little") if len(head) == 8 else -1
                if n < 2 or n > MAX_HEADER or 8 + n > st.st_size:
                    return None
                header = fh.read(n)
                whole, tensors = hashlib.sha256(head + header), hashlib.sha256()
                for block in iter(lambda: fh.read(1 << 20), b""):
                    whole.update(block)
                    tensors.update(block)
            if _header_len(head + header) is None:
                return None
            _HASHES[key] = (whole.digest(), tensors.digest())
    except OSError:
        return None
    return _HASHES[key]


def _matches(r: Resource, hashes: tuple[bytes, bytes]) -> bool:
    return hashes[0].startswith(r.sha256) and hashes[1].startswith(r.tensors_sha256)


def locate(r: Resource, m: ResourceMap, slot: int | None = None) -> Path:
    """The file of a resource, through the user's mapping only (the file's name and hash are
    lookup keys, never paths): explicit ``hash:``, then ``name:``, then ``NAME.safetensors`` in the
    folders, then (with a known hash) any safetensors file of the folders with that hash."""
    for h in (r.sha256, r.tensors_sha256):
        if h and f"hash:{h.hex()}" in m.files:
            return m.files[f"hash:{h.hex()}"]
    if r.name and f"name:{r.name}" in m.files:
        return m.files[f"name:{r.name}"]
    files = _index(m.dirs)
    by_name = [p for p in files if p.suffix == ".safetensors" and p.stem == r.name] if r.name else []
    known = bool(r.sha256 or r.tensors_sha256)
    if known:  # the name's files first, then any file of the folders with the recorded hash
        for p in by_name + [p for p in files if p.suffix == ".safetensors" and p not in by_name]:
            if (hashes := _file_hashes(p)) is not None and _matches(r, hashes):
                return p
    if len(by_name) == 1:
        return by_name[0]  # with a known hash it does not match: read_verified says so (E_MODEL_HASH)
    if by_name:
        raise AigifError("E_MODEL_UNAVAILABLE", f"{r.describe(slot)}: {len(by_name)} files are named {r.name}.safetensors "
                         f"({', '.join(map(str, by_name[:3]))}) and no recorded hash tells them apart: map one with {FLAG} name:{r.name}=FILE")
    other = [p for p in files if r.name and p.stem == r.name]
    if other:  # NAME.pt, NAME.ckpt, NAME.bin: pickles, never loaded (SPEC.md §16)
        raise AigifError("E_MODEL_UNAVAILABLE", f"{r.describe(slot)}: found {other[0]}, which is not a .safetensors file; "
                         "only safetensors resources are loaded (convert it to safetensors)")
    raise AigifError("E_MODEL_UNAVAILABLE", f"{r.describe(slot)} is not available here: {_hint(r)}")


def _header_len(data: bytes) -> int | None:
    """The header length of a safetensors file, or None when ``data`` is not one."""
    if len(data) < 8:
        return None
    n = int.from_bytes(data[:8], "little")
    if n < 2 or n > MAX_HEADER or 8 + n > len(data) or data[8:9] != b"{":
        return None
    try:
        header = json.loads(data[8:8 + n])
    except (ValueError, UnicodeDecodeError):
        return None
    return n if isinstance(header, dict) else None


def read_verified(r: Resource, path: Path, slot: int | None = None) -> bytes:
    """The bytes of a resource file, checked: a ``.safetensors`` file (by name and content),
    at most 2 GiB, whose SHA-256 and tensor-data SHA-256 begin with the recorded prefixes
    (E_MODEL_HASH otherwise)."""
    path = Path(path)
    if path.suffix != ".safetensors":
        raise AigifError("E_MODEL_UNAVAILABLE", f"{r.describe(slot)}: {path} is not a .safetensors file; "
                         "only safetensors resources are loaded (convert it to safetensors)")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise AigifError("E_LIMIT", f"{r.describe(slot)}: {path} is {size:,} bytes, over the 2 GiB a resource may have")
        data = path.read_bytes()
    except OSError as exc:
        raise AigifError("E_MODEL_UNAVAILABLE", f"{r.describe(slot)}: cannot read {path}: {exc.strerror or exc}; {_hint(r)}") from None
    n = _header_len(data)
    if n is None:
        raise AigifError("E_MODEL_UNAVAILABLE", f"{r.describe(slot)}: {path} is not a safetensors file; "
                         "only safetensors resources are loaded")
    if r.sha256 and not hashlib.sha256(data).digest().startswith(r.sha256):
        raise AigifError("E_MODEL_HASH", f"{r.describe(slot)}: {path} does not match the recorded SHA-256 {r.sha256.hex()} "
                         f"(its SHA-256 is {hashlib.sha256(data).hexdigest()})")
    if r.tensors_sha256 and not hashlib.sha256(data[8 + n:]).digest().startswith(r.tensors_sha256):
        raise AigifError("E_MODEL_HASH", f"{r.describe(slot)}: {path} does not match the recorded tensor-data SHA-256 "
                         f"{r.tensors_sha256.hex()}")
    return data


def _first_line(exc: BaseException) -> str:
    return ((str(exc).splitlines() or [""])[0] or type(exc).__name__)[:200]


def _tensors(r: Resource, data: bytes, slot: int):
    from safetensors.torch import load
    try:
        return load(data)
    except Exception as exc:  # a malformed file of any kind is one typed error
        raise AigifError("E_MODEL_UNAVAILABLE", f"{r.describe(slot)}: not a readable safetensors file: {_first_line(exc)}") from None


# ---------------------------------------------------------------- applying them (torch, diffusers)

def _strip_satisfied_tags(f: AigifFile, loras: list[Resource], syntax: str) -> AigifFile:
    """An ``a1111`` prompt's ``<lora:NAME…>`` (or ``<lyco:NAME…>``) tag naming a LoRA of the
    extension is satisfied by it: removed as Appendix G.1.1 removes every tag, its own
    arguments unused (the resource's recorded weights apply, once per slot). Other tags stay,
    for the conditioning to refuse (E_REGEN_UNSUPPORTED naming the tag)."""
    if syntax != "a1111":
        return f
    from ..prompts.a1111 import _EXTRA_NETWORK  # the tag pattern of Appendix G.1.1
    names = {r.name for r in loras if r.name}

    def strip(text: str) -> str:
        return _EXTRA_NETWORK.sub(lambda m: "" if m.group(1) in ("lora", "lyco") and m.group(2).split(":")[0] in names else m.group(0), text)

    fields = {k: strip(v) if k in ("prompt_2", "negative_prompt_2") and isinstance(v, str) else v for k, v in f.fields.items()}
    return dataclasses.replace(f, prompt=strip(f.prompt), negative_prompt=strip(f.negative_prompt), fields=fields)


def _text_encoders(pipe, family: str):
    """(tokenizer attribute, text encoder attribute, SDXL embedding key) per text encoder."""
    if family == "sd":
        return [("tokenizer", "text_encoder", None)]
    return [("tokenizer", "text_encoder", "clip_l"), ("tokenizer_2", "text_encoder_2", "clip_g")]


def _vectors(r: Resource, sd: dict, key: str | None, slot: int):
    """The embedding's vectors (n, dim) for one text encoder, from the formats diffusers reads:
    ``emb_params`` (AUTOMATIC1111's safetensors), a single tensor (diffusers'), ``clip_l``/``clip_g`` (SDXL)."""
    if key is not None:
        if key not in sd:
            raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(slot)}: an SDXL embedding needs clip_l and clip_g tensors")
        v = sd[key]
    elif "emb_params" in sd:
        v = sd["emb_params"]
    elif len(sd) == 1:
        v = next(iter(sd.values()))
    else:
        raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(slot)}: not a textual-inversion embedding "
                         f"(tensors {', '.join(sorted(sd)[:4])})")
    return v if v.ndim == 2 else v.reshape(1, -1)


@contextlib.contextmanager
def applied(pipe, f: AigifFile, reg: Registry, m: ResourceMap, syntax: str = "plain",
            own_encoding: bool = False) -> Iterator[AigifFile]:
    """Apply the file's resources to a loaded pipeline for the duration; yields the file the
    conditioning reads (its satisfied ``<lora:…>`` tags removed). Every resource is located and
    checked before the pipeline is touched; on leaving, the pipeline is as it was."""
    res = resources_of(f)
    if not res:
        yield f
        return
    family = reg.family_of(f.model).key
    for k, r in enumerate(res, 1):  # what this regenerator cannot apply, before any file is read
        if family not in ("sd", "sdxl"):
            raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(k)}: resources are applied to the sd and sdxl families only, "
                             f"not {family}")
        if r.kind == "embedding" and not r.name:
            raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(k)}: an embedding without a name cannot appear in a prompt")
    if sum(r.kind == "vae" for r in res) > 1:
        raise AigifError("E_REGEN_UNSUPPORTED", "the file names more than one VAE")
    if any(r.kind == "lora" for r in res):
        import importlib.util
        if importlib.util.find_spec("peft") is None:
            first = next(k for k, r in enumerate(res, 1) if r.kind == "lora")
            raise AigifError("E_REGEN_UNSUPPORTED", f"{res[first - 1].describe(first)}: LoRAs are applied through peft: "
                             "pip install peft  (or: pip install 'aigif[regen]')")
    loaded = [(k, r, _tensors(r, read_verified(r, locate(r, m, k), k), k)) for k, r in enumerate(res, 1)]
    with contextlib.ExitStack() as undo:
        for k, r, sd in loaded:
            if r.kind == "vae":
                undo.enter_context(_vae(pipe, r, sd, k))
        emb = [(k, r, sd) for k, r, sd in loaded if r.kind == "embedding"]
        if emb:
            undo.enter_context(_embeddings(pipe, family, emb, own_encoding))
        loras = [(k, r, sd) for k, r, sd in loaded if r.kind == "lora"]
        if loras:
            undo.enter_context(_loras(pipe, loras))
        yield _strip_satisfied_tags(f, [r for _, r, _ in loras], syntax)


@contextlib.contextmanager
def _vae(pipe, r: Resource, sd: dict, slot: int):
    """The VAE override: ``AutoencoderKL.from_single_file`` over the model's own VAE config
    (diffusers converts an original-layout file; a diffusers-layout one is used as it is)."""
    from diffusers import AutoencoderKL
    old = pipe.vae
    with tempfile.TemporaryDirectory(prefix="aigif-vae-") as tmp:
        old.save_config(tmp)
        try:
            vae = AutoencoderKL.from_single_file(dict(sd), config=tmp, local_files_only=True, torch_dtype=old.dtype)
        except Exception as exc:  # whatever the converter says, the VAE cannot be applied
            raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(slot)}: diffusers cannot load it as this model's VAE: "
                             f"{_first_line(exc)}") from None
    pipe.vae = vae.to(device=old.device, dtype=old.dtype)
    try:
        yield
    finally:
        pipe.vae = old


@contextlib.contextmanager
def _embeddings(pipe, family: str, emb: list, own_encoding: bool):
    """Textual inversion: ``load_textual_inversion`` into copies of the tokenizers, the text
    encoders' embedding matrices restored afterwards (diffusers resizes them)."""
    saved = []
    for tok_attr, te_attr, _key in _text_encoders(pipe, family):
        te = getattr(pipe, te_attr)
        saved.append((tok_attr, getattr(pipe, tok_attr), te, te.get_input_embeddings(), te.config.vocab_size))
        setattr(pipe, tok_attr, copy.deepcopy(getattr(pipe, tok_attr)))
    try:
        for k, r, sd in emb:
            for tok_attr, te_attr, key in _text_encoders(pipe, family):
                vec = _vectors(r, sd, key, k)
                if own_encoding and vec.shape[0] > 1:
                    raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(k)}: a {vec.shape[0]}-vector embedding in a prompt this "
                                     "regenerator encodes itself (a prompt syntax other than plain, or clip skip); "
                                     "only 1-vector embeddings are applied there")
                te = getattr(pipe, te_attr)
                if vec.shape[1] != te.get_input_embeddings().weight.shape[1]:
                    raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(k)}: {vec.shape[1]}-dimensional vectors, but the "
                                     f"{te_attr} takes {te.get_input_embeddings().weight.shape[1]}")
                try:
                    pipe.load_textual_inversion(vec.clone(), token=r.name, tokenizer=getattr(pipe, tok_attr), text_encoder=te)
                except (ValueError, RuntimeError) as exc:
                    raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(k)}: {_first_line(exc)}") from None
        yield
    finally:
        for tok_attr, tok, te, emb_module, vocab in saved:
            setattr(pipe, tok_attr, tok)
            te.set_input_embeddings(emb_module)
            te.config.vocab_size = vocab


@contextlib.contextmanager
def _loras(pipe, loras: list):
    """LoRAs through ``load_lora_weights`` (peft, unfused) and ``set_adapters``: each slot its own
    adapter, in slot order, the UNet at ``weight`` and every text encoder at ``te_weight``."""
    if any(pipe.get_list_adapters().values()):  # a caller's own pipeline (Regenerator.adopt) with adapters of its own
        k, r, _ = loras[0]
        raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(k)}: the pipeline already holds LoRA adapters of its own")
    names = []
    try:
        for k, r, sd in loras:
            name = f"aigif-{k}"
            try:
                pipe.load_lora_weights(dict(sd), adapter_name=name)
            except Exception as exc:  # a converter's IndexError as much as its ValueError: cannot apply
                raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(k)}: diffusers cannot apply it to this model: "
                                 f"{_first_line(exc)}") from None
            names.append(name)
            if not any(name in v for v in pipe.get_list_adapters().values()):
                raise AigifError("E_REGEN_UNSUPPORTED", f"{r.describe(k)}: none of its tensors matches a module of this model")
        components = [c for c in pipe._lora_loadable_modules if getattr(pipe, c, None) is not None]
        weights = [{c: (r.weight if c in ("unet", "transformer") else r.te_weight) for c in components} for _, r, _ in loras]
        pipe.set_adapters(names, adapter_weights=weights)
        yield
    finally:
        if any(pipe.get_list_adapters().values()):  # a load that failed half-way leaves adapters too
            pipe.unload_lora_weights()
