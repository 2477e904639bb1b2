"""Raw metadata out of image containers: one module per container.

These modules only find and decode the *text* a generator left in a file;
they do not interpret it (that is the job of the per-tool modules):

* :mod:`.png` — ``tEXt``, ``zTXt``, ``iTXt``, ``eXIf`` (walked with
  :mod:`aigif.png`, the package's one PNG chunk walker);
* :mod:`.jpeg` — ``APP1`` Exif and XMP, ``COM``;
* :mod:`.webp` — RIFF ``EXIF`` and ``XMP `` chunks;
* :mod:`.exif` — the TIFF structure inside all three, and ``UserComment``;
* :mod:`.stealth` — A1111 stealth pnginfo in a PNG's pixels;
* :func:`unwrap` — text that a JSON carrier or an XMP packet wraps, handed
  on as the items the tools' readers look for.

Why not sd-parsers' or Pillow's readers: the segment and IFD walkers here
bound every length and offset, raise only :class:`ImportFailure`, and read
text after ``IDAT`` without decoding pixels. Pillow raises many exception
types on damaged files (``SyntaxError``, ``OSError``, ``struct.error``,
``zlib.error``...) and exposes text after IDAT only once the *pixels* are
decoded (``Image.text``), which is what sd-parsers relies on. Pillow is used
for one thing only: decoding pixels for stealth info, after the PNG header
says the image is small enough.
"""
from __future__ import annotations

import json
import struct
from collections.abc import Callable

from ... import png as png_format
from ..errors import E_IMPORT_MALFORMED, E_IMPORT_NOT_AN_IMAGE, E_IMPORT_TOO_LARGE, ImportFailure
from . import jpeg, png, webp
from . import stealth as stealth_pixels
from .base import (  # noqa: F401 - the containers' public names
    MAX_FILE_BYTES,
    MAX_STEALTH_PIXELS,
    MAX_TEXT_BYTES,
    MAX_TOTAL_TEXT_BYTES,
    Budget,
    RawMetadata,
    TextItem,
)
from .exif import decode_user_comment  # noqa: F401

Reader = Callable[[bytes, Budget], RawMetadata]

#: Format name, how to recognise it, its reader (None: recognised, but no generator writes metadata there).
FORMATS: tuple[tuple[str, Callable[[bytes], bool], Reader | None], ...] = (
    ("PNG", lambda d: d.startswith(png_format.SIGNATURE), png.read),
    ("JPEG", lambda d: d.startswith(jpeg.SIGNATURE), jpeg.read),
    ("WEBP", webp.is_webp, webp.read),
    ("GIF", lambda d: d.startswith((b"GIF87a", b"GIF89a")), None),
    ("BMP", lambda d: d.startswith(b"BM"), None),
    ("TIFF", lambda d: d.startswith((b"II*\x00", b"MM\x00*")), None),
    ("JXL", lambda d: d.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")), None),
    ("QOI", lambda d: d.startswith(b"qoif"), None),
    ("HEIF/AVIF", lambda d: len(d) >= 12 and d[4:8] == b"ftyp" and d[8:12] in (b"avif", b"avis", b"heic", b"heix", b"mif1"),
     None),
)


def read_container(data: bytes, *, stealth: bool | None = None) -> RawMetadata:
    """Find the metadata text of an image file given as bytes.

    ``stealth``: True always searches the pixels for stealth info,
    False never, None (default) only when a PNG carries no text at all.
    Raises ImportFailure (E_IMPORT_NOT_AN_IMAGE, E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE).
    """
    if len(data) > MAX_FILE_BYTES:
        raise ImportFailure(E_IMPORT_TOO_LARGE, f"file is {len(data)} bytes; the limit is {MAX_FILE_BYTES}")
    if not data:
        raise ImportFailure(E_IMPORT_NOT_AN_IMAGE, "the file is empty")
    fmt, reader = next(((name, r) for name, test, r in FORMATS if test(data)), (None, None))
    if fmt is None:
        raise ImportFailure(E_IMPORT_NOT_AN_IMAGE, "not a PNG, JPEG or WebP image (unrecognised signature)")
    if reader is None:
        return RawMetadata(fmt, notes=[f"{fmt} files are not searched for generation metadata"])
    budget = Budget()
    try:
        meta = reader(data, budget)
    except struct.error:  # every unpack is preceded by a bounds check; this is a last guard
        raise ImportFailure(E_IMPORT_MALFORMED, f"{fmt} structure is truncated") from None
    if stealth or (stealth is None and not meta.items):
        meta.items += stealth_pixels.read(data, meta, budget)
    if meta.truncated and not meta.items:
        raise ImportFailure(E_IMPORT_MALFORMED, f"{fmt} is truncated before any text metadata")
    unwrap(meta)
    return meta


#: Free-text fields a JSON carrier may sit in (EXIF, JPEG comment, XMP's exif:UserComment).
_JSON_CARRIERS = ("UserComment", "COM", "XPComment", "ImageDescription", "xmp:UserComment")
_XML_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'), ("&apos;", "'"), ("&#10;", "\n"), ("&#xA;", "\n"),
                 ("&#13;", "\r"), ("&amp;", "&"))


def _xml_text(s: str) -> str:
    for ent, ch in _XML_ENTITIES:  # &amp; last: "&amp;lt;" is the text "&lt;"
        s = s.replace(ent, ch)
    return s


def _element(xml: str, tag: str) -> str | None:
    """The content of the first ``<tag ...>...</tag>`` (str.find, not a lazy regex: a packet with
    many unclosed tags must not cost a scan to its end per tag)."""
    start = xml.find(f"<{tag}")
    while start >= 0:
        after = xml[start + len(tag) + 1:start + len(tag) + 2]
        if after in (">", " ", "\t", "\n", "\r", "/"):
            break
        start = xml.find(f"<{tag}", start + 1)
    if start < 0:
        return None
    open_end = xml.find(">", start)
    if open_end < 0 or xml[open_end - 1] == "/":
        return None
    close = xml.find(f"</{tag}>", open_end)
    return None if close < 0 else xml[open_end + 1:close]


def _xmp_items(item: TextItem) -> list[TextItem]:
    """Draw Things writes its generation JSON as the XMP packet's ``exif:UserComment``."""
    out = []
    comment = _element(item.value, "exif:UserComment")
    if comment is not None:
        li = _element(comment, "rdf:li")
        text = _xml_text((li if li is not None else comment).strip())
        if text:
            out.append(TextItem("xmp:UserComment", text, f"{item.container}:exif:UserComment"))
    creator = _element(item.value, "xmp:CreatorTool")
    if creator is not None:
        out.append(TextItem("xmp:CreatorTool", _xml_text(creator.strip()), f"{item.container}:xmp:CreatorTool"))
    return out


def _graph_like(v: object) -> bool:
    """A ComfyUI API graph: an object of nodes, each with a class_type."""
    if isinstance(v, str):
        return v.lstrip().startswith("{") and '"class_type"' in v
    return isinstance(v, dict) and any(isinstance(n, dict) and "class_type" in n for n in v.values())


def _as_text(v: object) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)


def unwrap(meta: RawMetadata) -> None:
    """Hand on the text that JSON carriers wrap, as the text items its tool's reader looks for.

    * XMP (PNG iTXt ``XML:com.adobe.xmp``, JPEG APP1, WebP ``XMP ``): its ``exif:UserComment``
      (Draw Things' generation JSON) becomes ``xmp:UserComment``;
    * a ``{"prompt": graph, "workflow": graph}`` object in an EXIF / comment field (ComfyUI's
      JPEG/WebP savers): ``prompt`` and ``workflow``;
    * a bare ComfyUI graph there (Civitai's generator writes its ComfyUI graph so): ``prompt``;
    * a JSON object of text chunks with a ``Comment`` (NovelAI's WebP ``UserComment``): its chunks.

    Keys an image already has are not replaced: the image's own chunk wins."""
    have = set(meta.keys())
    added: list[TextItem] = []
    for it in list(meta.items):
        if it.key in ("XMP", "XML:com.adobe.xmp"):
            added += _xmp_items(it)
    for it in list(meta.items) + added:
        if it.key not in _JSON_CARRIERS or not it.value.lstrip().startswith("{"):
            continue
        try:
            data = json.loads(it.value)
        except (ValueError, RecursionError):
            continue
        if not isinstance(data, dict):
            continue
        if _graph_like(data.get("prompt")):
            # the UI workflow is not an API graph (its nodes are a list): any object is taken
            added += [TextItem(k, _as_text(data[k]), f"{it.container}:{k}") for k in ("prompt", "workflow")
                      if (k == "prompt" or isinstance(data.get(k), (dict, str))) and k in data]
        elif _graph_like(data):
            added.append(TextItem("prompt", it.value, f"{it.container}:prompt"))
        elif isinstance(data.get("Comment"), str) and all(isinstance(k, str) for k in data):
            added += [TextItem(k, _as_text(v), f"{it.container}:{k}") for k, v in data.items()]
    for item in added:
        if item.key not in have:
            have.add(item.key)
            meta.items.append(item)
