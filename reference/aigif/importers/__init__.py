"""Import generation metadata from images made by existing AI image tools.

>>> from aigif.importers import read_generation
>>> gen = read_generation("tests/data/realworld/a1111/sd-webui-png.png")  # a path, or the file's bytes
>>> gen.source_tool, gen.seed, gen.sampler, (gen.width, gen.height)
('AUTOMATIC1111', 3782896554, 'DPM++ 2M', (1024, 1024))

and :func:`.convert.convert` turns it into an AIGIF file, with a report of
what it carried and what it could not express:

>>> from aigif import codec
>>> from aigif.importers.convert import convert
>>> conv = convert(gen)
>>> conv.file.model, conv.file.fields["scheduler"], conv.lost
('unregistered-sdxl', 'k-dpmpp-2m-karras', [])
>>> len(codec.write(conv.file))
336

An importer reads the generation metadata that AUTOMATIC1111 (and Forge,
SD.Next), ComfyUI, Fooocus, InvokeAI and NovelAI embed in the images they
write, and returns one tool-neutral record, :class:`ImportedGeneration`
(:mod:`.generation`), from which :mod:`.convert` writes an AIGIF file.

:func:`read_generation` finds the metadata text in the container
(:mod:`.containers`: PNG, JPEG, WebP, EXIF, stealth pnginfo), then asks each
tool's reader in :data:`READERS`, in order, whether it recognises the text
(``detect``); the first that does reads it (``read``):

* :mod:`.invokeai` — ``invokeai_metadata`` (InvokeAI >= 3 JSON),
  ``sd-metadata`` (2.x JSON), ``Dream`` (1.x/2.x command line);
* :mod:`.comfyui` — ``prompt``, the executed graph (also from EXIF
  ``Model`` = ``prompt:{...}`` in ComfyUI's WebP files, and from a
  ``{prompt, workflow}`` or bare-graph JSON in EXIF ``UserComment``, which
  :func:`.containers.unwrap` hands on as ``prompt``);
* :mod:`.swarmui` — ``sui_image_params`` JSON in ``parameters`` or EXIF
  ``UserComment`` (SwarmUI, before the ComfyUI graph it also writes);
* :mod:`.novelai` — ``Comment`` JSON with ``Software`` = NovelAI (in WebP:
  that JSON of chunks in EXIF ``UserComment``);
* :mod:`.drawthings` — Draw Things' JSON in the XMP ``exif:UserComment``;
* :mod:`.fooocus` — ``parameters`` holding JSON (Fooocus scheme "fooocus"),
  or Fooocus JSON in EXIF ``UserComment`` / JPEG ``COM``;
* :mod:`.webjson` — any other JSON object in ``parameters`` (web
  front-ends, RuinedFooocus);
* :mod:`.a1111` — ``parameters`` holding infotext (AUTOMATIC1111, Forge,
  SD.Next, Fooocus scheme "a1111"), or infotext in EXIF / JPEG comments;
* :mod:`.comfyui.workflow` — only the UI ``workflow`` graph: unsupported.

Stealth pnginfo (searched only when a PNG has no text) is A1111 infotext or
NovelAI's JSON of its text chunks, read as the text it stands for. Sampler
names stay the tool's own; :mod:`.samplers` maps them through the registry.

Every failure is an :class:`~.errors.ImportFailure` with a stable ``code``;
no other exception leaves :func:`read_generation`, whatever the input bytes.

The readers are our own, not sd-parsers (0.6), though it recognises the same
tools (``test_agreement_with_sd_parsers`` compares the two on every test
image): it raises Pillow's exceptions for broken files and returns None for
images without metadata (no error codes), strips every prompt, keeps numbers
as strings, and caches results by ``id(image)``; each reader's docstring
says what else it gets wrong for its tool.
"""
from __future__ import annotations

import os
from collections import Counter
from types import ModuleType
from typing import Union

from . import a1111, comfyui, drawthings, fooocus, invokeai, novelai, swarmui, webjson
from .comfyui import workflow as comfyui_workflow
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

__all__ = ["read_generation", "read_generation_bytes", "identify", "READERS", "ImportedGeneration", "ImportFailure",
           "IMPORT_CODES"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]

#: The tool readers, most specific first: a reader earlier in the list claims a text that a later one
#: would also take (InvokeAI 2.x writes ``Dream`` next to ``sd-metadata``; SwarmUI writes its record
#: next to the ComfyUI graph it ran; Fooocus and other JSON sits in the ``parameters`` chunk that
#: A1111 reads; a ``workflow`` graph counts only when nothing else is there).
#: Each has ``detect(meta) -> TextItem | None`` (the text it will read) and ``read(meta, item)``.
READERS = (invokeai, swarmui, comfyui, novelai, drawthings, fooocus, webjson, a1111, comfyui_workflow)

#: Text keys that never carry generation parameters by themselves.
_GENERIC_KEYS = {"Title", "Author", "Description", "Copyright", "Creation Time", "Software", "Disclaimer",
                 "Warning", "Source", "Comment", "XMP", "XML:com.adobe.xmp", "ImageDescription", "Make", "Model",
                 "Artist", "COM", "UserComment", "XPComment", "icc", "exif"}


def identify(meta: RawMetadata) -> tuple[ModuleType, TextItem] | None:
    """(the reader, the text it will read) for this container's text; None when no reader takes it."""
    for reader in READERS:
        item = reader.detect(meta)
        if item is not None:
            return reader, item
    return None


def _read(meta: RawMetadata) -> ImportedGeneration:
    found = identify(meta)
    if found is not None:
        reader, item = found
        return reader.read(meta, item)
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
        gen = _read(meta)
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
    counts = Counter(meta.keys())  # not keys.count per key: quadratic on 20k chunks
    dup = sorted(k for k, n in counts.items() if n > 1)
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
