"""Import generation metadata from images made by existing AI image tools.

>>> from aigif.importers import read_generation
>>> gen = read_generation("image.png")        # or bytes
>>> gen.source_tool, gen.prompt, gen.seed, gen.sampler

:func:`read_generation` finds the metadata text in the container
(:mod:`.containers`), recognises the tool that wrote it and hands it to that
tool's reader:

* ``invokeai_metadata`` (InvokeAI >= 3 JSON), ``sd-metadata`` (InvokeAI 2.x
  JSON), ``Dream`` (InvokeAI 1.x/2.x command line): :mod:`.invokeai`;
* ``prompt`` (+ ``workflow``), the ComfyUI API graph: :mod:`.comfyui`
  (also from EXIF ``Model`` = ``prompt:{...}`` in ComfyUI WebP files);
* ``Comment`` JSON with ``Software`` = NovelAI: :mod:`.novelai`;
* ``parameters`` holding JSON (Fooocus scheme "fooocus"): :mod:`.fooocus`;
* ``parameters`` holding text (AUTOMATIC1111, Forge, SD.Next, Fooocus scheme
  "a1111"): :mod:`.a1111`;
* EXIF ``UserComment`` / JPEG ``COM`` / ``XPComment``: A1111 infotext or
  Fooocus JSON, as above;
* stealth pnginfo in the pixels (only when a PNG has no text): A1111
  infotext or NovelAI's JSON of its text chunks.

Every failure is an :class:`~.errors.ImportFailure` with a stable ``code``;
no other exception leaves :func:`read_generation`, whatever the input bytes.
"""
from __future__ import annotations

import json
import os
from typing import Union

from . import a1111, comfyui, fooocus, invokeai, novelai
from .containers import MAX_FILE_BYTES, RawMetadata, TextItem, read_container
from .errors import (
    E_IMPORT_IO,
    E_IMPORT_MALFORMED,
    E_IMPORT_NO_METADATA,
    E_IMPORT_TOO_LARGE,
    E_IMPORT_UNSUPPORTED_TOOL,
    IMPORT_CODES,
    ImportFailure,
)
from .generation import ImportedGeneration

__all__ = ["read_generation", "read_generation_bytes", "identify", "ImportedGeneration", "ImportFailure",
           "IMPORT_CODES"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

#: Text keys that never carry generation parameters by themselves.
_GENERIC_KEYS = {"Title", "Author", "Description", "Copyright", "Creation Time", "Software", "Disclaimer",
                 "Warning", "Source", "Comment", "XMP", "XML:com.adobe.xmp", "ImageDescription", "Make", "Model",
                 "Artist", "COM", "UserComment", "XPComment", "icc", "exif"}


def _container(item: TextItem) -> str:
    if item.where.endswith(":" + item.key) or ":stealth_" in item.where:
        return item.where
    return f"{item.where}:{item.key}"


def _expand_stealth(meta: RawMetadata) -> None:
    """A stealth payload is either A1111 infotext or NovelAI's JSON of its PNG chunks."""
    item = meta.first("stealth")
    if item is None:
        return
    text = item.value
    if text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict) and all(isinstance(k, str) for k in data):
            for k, v in data.items():
                value = v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)
                meta.items.append(TextItem(k, value, item.where))
            return
    meta.items.append(TextItem("parameters", text, item.where))


def _exif_comfyui(meta: RawMetadata) -> None:
    """ComfyUI's WebP/animated savers write "prompt:{json}" / "workflow:{json}" into EXIF Model / Make."""
    for item in list(meta.items):
        if item.key in ("Make", "Model", "ImageDescription") and ":" in item.value:
            head, _, rest = item.value.partition(":")
            if head.lower() in ("prompt", "workflow") and rest.lstrip().startswith("{") and meta.first(head.lower()) is None:
                meta.items.append(TextItem(head.lower(), rest, f"{item.where}"))


def identify(meta: RawMetadata) -> str | None:
    """Which reader applies to this container's text ('a1111', 'comfyui', ...), None if none."""
    keys = set(meta.keys())
    if "invokeai_metadata" in keys:
        return "invokeai_metadata"
    if "sd-metadata" in keys:
        return "sd-metadata"
    if "Dream" in keys:
        return "dream"
    p = meta.first("prompt")
    if p is not None and p.value.lstrip().startswith("{"):
        return "comfyui"
    soft = meta.first("Software")
    comment = meta.first("Comment")
    if comment is not None and ((soft is not None and soft.value.strip() == "NovelAI")
                                or (comment.value.lstrip().startswith("{") and '"uc"' in comment.value)):
        return "novelai"
    params = meta.first("parameters")
    if params is not None:
        scheme = meta.first("fooocus_scheme")
        if (scheme is not None and scheme.value.strip() == "fooocus") or fooocus.is_fooocus_json(params.value):
            return "fooocus"
        return "a1111"
    if "workflow" in keys:
        return "comfyui-workflow-only"
    for key in ("UserComment", "COM", "XPComment", "ImageDescription"):
        item = meta.first(key)
        if item is None:
            continue
        if fooocus.is_fooocus_json(item.value):
            return "fooocus:" + key
        if a1111.looks_like_infotext(item.value):
            return "a1111:" + key
    return None


def _dispatch(meta: RawMetadata) -> ImportedGeneration:
    _expand_stealth(meta)
    _exif_comfyui(meta)
    kind = identify(meta)
    if kind == "invokeai_metadata":
        item = meta.first("invokeai_metadata")
        return invokeai.read_metadata(item.value, container=_container(item))
    if kind == "sd-metadata":
        item = meta.first("sd-metadata")
        gen = invokeai.read_sd_metadata(item.value, container=_container(item))
        dream = meta.first("Dream")
        if dream is not None:
            gen.raw["Dream"] = dream.value
        return gen
    if kind == "dream":
        item = meta.first("Dream")
        return invokeai.read_dream(item.value, container=_container(item))
    if kind == "comfyui":
        item = meta.first("prompt")
        wf = meta.first("workflow")
        return comfyui.read(item.value, container=_container(item), workflow_text=wf.value if wf else None)
    if kind == "comfyui-workflow-only":
        return comfyui.read_workflow_only(_container(meta.first("workflow")))
    if kind == "novelai":
        chunks = {}
        for it in meta.items:
            chunks.setdefault(it.key, it.value)
        return novelai.read(chunks, container=_container(meta.first("Comment")))
    if kind == "fooocus":
        item = meta.first("parameters")
        return fooocus.read(item.value, container=_container(item))
    if kind == "a1111":
        item = meta.first("parameters")
        scheme = meta.first("fooocus_scheme")
        tool = "Fooocus" if scheme is not None and scheme.value.strip() == "a1111" else None
        return a1111.read(item.value, container=_container(item), tool=tool)
    if kind is not None and ":" in kind:
        reader, key = kind.split(":", 1)
        item = meta.first(key)
        if reader == "fooocus":
            return fooocus.read(item.value, container=_container(item))
        return a1111.read(item.value, container=_container(item))
    keys = meta.keys()
    if not keys:
        raise ImportFailure(E_IMPORT_NO_METADATA, f"{meta.format} image without any text metadata")
    shown = ", ".join(sorted(set(keys)))[:200]
    if all(k in _GENERIC_KEYS or k.startswith(("date:", "filename:", "exif:", "xmp:")) for k in keys):
        raise ImportFailure(E_IMPORT_NO_METADATA, f"{meta.format} image has no generation metadata (text: {shown})")
    raise ImportFailure(E_IMPORT_UNSUPPORTED_TOOL, f"{meta.format} text metadata from an unknown tool (keys: {shown})")


def read_generation_bytes(data: bytes, *, stealth: bool | None = None) -> ImportedGeneration:
    """Like :func:`read_generation` for an image already in memory."""
    try:
        meta = read_container(bytes(data), stealth=stealth)
        gen = _dispatch(meta)
    except ImportFailure:
        raise
    except MemoryError:
        raise ImportFailure(E_IMPORT_TOO_LARGE, "out of memory while reading the metadata") from None
    except RecursionError:
        raise ImportFailure(E_IMPORT_MALFORMED, "metadata is nested too deeply") from None
    except Exception as e:  # last-resort net: a parser bug must not leak a raw exception
        raise ImportFailure(E_IMPORT_MALFORMED,
                            f"metadata could not be interpreted ({type(e).__name__}: {str(e)[:80]})",
                            internal=True) from e
    gen.image_size = meta.image_size
    for note in meta.notes:
        gen.add_note(note)
    dup = sorted({k for k in meta.keys() if meta.keys().count(k) > 1})
    if dup:
        gen.add_note(f"duplicate text keys {', '.join(dup)}: the first of each was used")
    return gen


def read_generation(source: Source, *, stealth: bool | None = None) -> ImportedGeneration:
    """Read the generation metadata of an image file (path) or image bytes.

    ``stealth``: search the pixels for A1111 stealth info always (True),
    never (False), or only when a PNG has no text (None, the default).
    Raises :class:`ImportFailure` for every failure.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        return read_generation_bytes(bytes(source), stealth=stealth)
    try:
        path = os.fspath(source)
        st = os.stat(path)
        if not os.path.isfile(path):
            raise ImportFailure(E_IMPORT_IO, f"{path!s}: not a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise ImportFailure(E_IMPORT_TOO_LARGE, f"{path!s}: {st.st_size} bytes exceeds the {MAX_FILE_BYTES} limit")
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except ImportFailure:
        raise
    except (OSError, TypeError, ValueError) as e:
        raise ImportFailure(E_IMPORT_IO, f"cannot read {source!s:.200}: {type(e).__name__}: {e}") from None
    return read_generation_bytes(data, stealth=stealth)
