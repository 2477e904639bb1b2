#!/usr/bin/env python3
"""Build the AIGIF conformance vectors (SPEC.md §13.2, conformance/CONTRACT.md).

    python tools/build_vectors.py                # rebuild vectors/{parse,reject,noise,regen} + manifest
    python tools/build_vectors.py --out DIR      # somewhere else (the tests build into a temp dir)
    python tools/build_vectors.py --check        # rebuild into a temp dir, compare with vectors/

Deterministic: no randomness without a fixed seed, no dependence on the zlib
build (PNG payloads use stored DEFLATE blocks; DEFLATE test streams are
written symbol by symbol), no timestamps. Every vector is checked against the
reference implementation while it is built: parse vectors must read, be
canonical (``write(read(b)) == b``) and survive info → pack; reject vectors
must fail with exactly their error code.

IDs (``class/name``) are stable: a vector never changes meaning. A wrong
vector is fixed under a new name and the old name retired, never reused.

Vectors that need something this build lacks are listed under ``pending``
in the manifest and appear by themselves once it is there (re-run the
builder): the ``prompt`` text coder (when ``aigif.text.encode("prompt", …)``
works), the noise vectors (``aigif.noise``), the regen vectors (``aigif.regen``
and the conformance models, see :data:`REGEN_CASES`). Values that need a GPU
(``torch-cuda`` noise) are measured once with ``--measure-cuda`` on a GPU
machine and carried over from ``conformance/noise-torch-cuda.json``.
"""
from __future__ import annotations

import argparse
import filecmp
from bisect import bisect_right
import hashlib
import json
import math
import shutil
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "reference"))

from aigif import codec, jsonform, text, wire  # noqa: E402
from aigif.conformance.png import SIGNATURE, chunk, png_from_raw, write_png  # noqa: E402
from aigif.errors import AigifError  # noqa: E402
from aigif.file import AigifFile, Extension, ModelPayload, PixelPayload  # noqa: E402
from aigif.registry import load, registry_dir  # noqa: E402

REG = load()
SPEC_VERSION = "1.0"
REGISTRY_VERSION = "1.0"
CLASSES = ("parse", "reject", "noise", "regen")
CLASS_COMMANDS = {"parse": "parse FILE", "reject": "parse FILE", "noise": "noise SOURCE SEED COUNT C H W",
                  "regen": "render FILE OUT.png"}
TEXT_LIMIT = 65536
MAX_SIDE = 16384


class BuildError(Exception):
    pass


# ====================================================================== registry helpers
def table(name):
    return REG.table(name)


def ident(tbl: str, key: str) -> int:
    return table(tbl).by_key[key]["id"]


def family_models():
    """family key -> its first registered (not unregistered-*) model."""
    out = {}
    for m in table("models").entries:
        if not m["key"].startswith("unregistered-"):
            out.setdefault(m["family"], m["key"])
    return out


FAMILY_MODEL = family_models()


def registry_files() -> dict[str, str]:
    root = registry_dir()
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.glob("*.json"))}


def registry_sha256(files: dict[str, str]) -> str:
    """SHA-256 of the lines "NAME SHA256\\n" of the registry tables, sorted by name."""
    return hashlib.sha256("".join(f"{n} {h}\n" for n, h in sorted(files.items())).encode()).hexdigest()


# ====================================================================== bit strings (MSB first)
def u(v: int, n: int) -> str:
    if not 0 <= v < (1 << n):
        raise BuildError(f"{v} does not fit in {n} bits")
    return format(v, f"0{n}b") if n else ""


def ue(v: int) -> str:
    z = (v + 1).bit_length() - 1
    return "0" * z + format(v + 1, "b")


def se(v: int) -> str:
    return ue(2 * v - 1 if v > 0 else -2 * v)


def expc(i: int) -> str:
    k, t = divmod(i, 255)
    return "11111111" * k + u(t, 8)


def coded_as(tbl: str) -> str:
    """How a table's IDs are coded on the wire (SPEC.md §3.9): its ``coded_as``."""
    return json.loads((registry_dir() / f"{tbl}.json").read_text(encoding="utf-8"))["coded_as"]


def ref_bits(tbl: str, i: int) -> str:
    c = coded_as(tbl)
    if c == "u4":
        return u(i, 4)
    if c == "ue":
        return ue(i)
    if c == "exp-code":
        return expc(i)
    raise BuildError(f"table {tbl} is coded as {c!r}, which the builder does not know")


SIZE_UNIT = 64


def size_fields(h: int, w: int, g: int, unit: int | None = None) -> list:
    """``size_unit``, ``height``, ``width`` (SPEC.md §5); ``unit`` forces U."""
    if unit is None:
        unit = SIZE_UNIT if h % SIZE_UNIT == 0 and w % SIZE_UNIT == 0 and SIZE_UNIT % g == 0 else g
    return [["size_unit", u(unit == SIZE_UNIT, 1)], ["height", ue(h // unit - 1)], ["width", se((w - h) // unit)]]


def seed_bits(s: int, c: int | None = None) -> str:
    widths = (8, 16, 32, 64)
    if c is None:
        c = next(i for i, w in enumerate(widths) if s < (1 << w))
    return u(c, 2) + u(s, widths[c])


def f64_bits(x: float) -> int:
    return struct.unpack(">Q", struct.pack(">d", x))[0]


def dec_bits(x: float) -> str:
    form = wire.dec_decimal_form(x)
    if form is None:
        return u(7, 3) + u(f64_bits(x), 64)
    m, e = form
    return u(e, 3) + se(m)


def dec_decimal(m: int, e: int) -> str:
    return u(e, 3) + se(m)


def dec_binary(x: float) -> str:
    return u(7, 3) + u(f64_bits(x), 64)


def bytes_bits(b: bytes) -> str:
    return ue(len(b)) + "".join(format(x, "08b") for x in b)


def bits_to_bytes(bits: str) -> bytes:
    if len(bits) % 8:
        raise BuildError("not a whole number of bytes")
    return int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""


def uv(v: int) -> bytes:
    return wire.uvarint(v)


def raw_uvarint(v: int) -> bytes:
    """LEB128 without the < 2^64 check (for crafting bad files)."""
    out = bytearray()
    while True:
        b, v = v & 0x7F, v >> 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


# ====================================================================== a file, field by field
@dataclass
class Raw:
    """A file as its parts, so a reject vector can change exactly one of them.
    ``core`` is a list of [name, bits]; the sections are their exact bytes."""
    core: list
    digest: bytes = b""
    exts: bytes = b""
    pixels: bytes = b""
    model: bytes = b""
    text: bytes = b""
    pad: str | None = None          # padding bits; None: zeros to the byte boundary
    version: int = 1
    length: bytes | None = None     # the body-length field; None: canonical uvarint
    crc: bytes | None = None        # None: the correct CRC-32, little-endian

    def copy(self, **kw) -> "Raw":
        r = Raw([list(x) for x in self.core], self.digest, self.exts, self.pixels, self.model, self.text,
                self.pad, self.version, self.length, self.crc)
        for k, v in kw.items():
            setattr(r, k, v)
        return r

    def field(self, name: str) -> str:
        for n, b in self.core:
            if n == name:
                return b
        raise KeyError(name)

    def set(self, name: str, bits: str) -> "Raw":
        r = self.copy()
        for x in r.core:
            if x[0] == name:
                x[1] = bits
                return r
        raise KeyError(name)

    def core_bits(self) -> str:
        bits = "".join(b for _, b in self.core)
        return bits + (("0" * (-len(bits) % 8)) if self.pad is None else self.pad)

    def body(self) -> bytes:
        return bits_to_bytes(self.core_bits()) + self.digest + self.exts + self.pixels + self.model + self.text

    def bytes(self) -> bytes:
        body = self.body()
        head = b"AIG" + bytes([self.version]) + (uv(len(body)) if self.length is None else self.length)
        out = head + body
        return out + (zlib.crc32(out).to_bytes(4, "little") if self.crc is None else self.crc)


def with_crc(prefix: bytes) -> bytes:
    return prefix + zlib.crc32(prefix).to_bytes(4, "little")


def field_bits(fld, value) -> str:
    if fld.type == "uint":
        return ue(value - fld.min)
    if fld.type == "dec":
        return dec_bits(float(value))
    if fld.type == "ref":
        return ref_bits(fld.table, ident(fld.table, value))
    if fld.type == "bytes":
        return bytes_bits(value)
    if fld.type == "bool":
        return "1" if value else "0"
    raise BuildError(fld.type)


def core_of(f: AigifFile) -> list:
    """The core of ``f`` field by field (SPEC.md §5), written independently of
    the reference writer (the builder checks that both agree)."""
    fam = REG.family_of(f.model)
    g = fam.size_multiple
    core = [["saving_pixels", u(f.pixels is not None, 1)], ["saving_model", u(f.model_payload is not None, 1)],
            ["has_digest", u(f.digest is not None, 1)], ["has_extensions", u(bool(f.extensions), 1)],
            ["text_coder", u(ident("text_coders", f.text_coder), 4)], ["device", u(ident("devices", f.device), 4)]]
    core += [[f"platform.{x.name}", field_bits(x, f.platform[x.name])] for x in REG.device_fields(f.device)]
    core += [["model", ref_bits("models", ident("models", f.model))], ["dtype", u(ident("dtypes", f.dtype), 4)],
             ["noise", u(ident("noise_sources", f.noise), 4)]]
    core += size_fields(f.height, f.width, g)
    core += [["seed", seed_bits(f.seed)]]
    core += [[f"fields.{x.name}", field_bits(x, f.fields[x.name])] for x in fam.fields if x.type != "str"]
    core += [[f"model_fields.{x.name}", field_bits(x, f.model_fields[x.name])] for x in REG.model_fields(f.model) if x.type != "str"]
    return core


def strings_of(f: AigifFile) -> list[str]:
    return codec._strings(REG, f)


def frame(strings) -> bytes:
    return b"".join(uv(len(s)) + s for s in (x.encode("utf-8") if isinstance(x, str) else x for x in strings))


def raw_of(f: AigifFile) -> Raw:
    """``f`` as a Raw, checked byte for byte against the reference writer."""
    written = codec.write(f, REG)
    sections = codec.sections.write_sections(REG, f)
    r = Raw(core_of(f), text=text.encode(f.text_coder, strings_of(f)))
    # split the sections the reference wrote into their parts
    pos = 0
    if f.digest is not None:
        r.digest, pos = sections[:1 + len(f.digest)], 1 + len(f.digest)
    rest = sections[pos:]
    px = b"" if f.pixels is None else wire.expcode_bytes(table("pixel_codecs").id_of(f.pixels.codec)) + uv(len(f.pixels.data)) + f.pixels.data
    mp = b"" if f.model_payload is None else (wire.expcode_bytes(table("model_compressors").id_of(f.model_payload.compressor))
                                              + uv(len(f.model_payload.data)) + f.model_payload.sha256 + f.model_payload.data)
    r.exts = rest[:len(rest) - len(px) - len(mp)]
    r.pixels, r.model = px, mp
    if r.bytes() != written:
        raise BuildError(f"the builder's own writer disagrees with the reference for {f}")
    return r


# ====================================================================== deflate, symbol by symbol
_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
_LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
              2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
_DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]


class DeflateWriter:
    """RFC 1951 bit packing (LSB first; Huffman codes MSB first)."""

    def __init__(self):
        self.acc, self.n = 0, 0

    def bits(self, value: int, n: int):
        self.acc |= value << self.n
        self.n += n

    def huff(self, code: int, length: int):
        self.bits(int(format(code, f"0{length}b")[::-1], 2), length)

    def block(self, final: bool, btype: int):
        self.bits(int(final), 1)
        self.bits(btype, 2)

    def sym(self, s: int):
        if s < 144:
            self.huff(0x30 + s, 8)
        elif s < 256:
            self.huff(0x190 + s - 144, 9)
        elif s < 280:
            self.huff(s - 256, 7)
        else:
            self.huff(0xC0 + s - 280, 8)

    def literal(self, b: int):
        self.sym(b)

    def match(self, length: int, dist: int):
        i = 28 if length == 258 else bisect_right(_LEN_BASE, length) - 1
        self.sym(257 + i)
        self.bits(length - _LEN_BASE[i], _LEN_EXTRA[i])
        d = bisect_right(_DIST_BASE, dist) - 1
        self.huff(d, 5)
        self.bits(dist - _DIST_BASE[d], _DIST_EXTRA[d])

    def eob(self):
        self.sym(256)

    def pad_to_byte(self, fill: int = 0):
        k = -self.n % 8
        self.bits(fill & ((1 << k) - 1), k)

    def getvalue(self) -> bytes:
        return self.acc.to_bytes((self.n + 7) // 8, "little")


def greedy_parse(t: bytes, window=32768, max_candidates=32, max_match=258, nearest=True, insert_all=True):
    """SPEC.md §7.3's parse, with knobs to write what a wrong encoder would."""
    n, i, out, chains = len(t), 0, [], {}
    while i < n:
        best_len = best_dist = 0
        if i + 3 <= n:
            cands = []
            for p in reversed(chains.get(t[i:i + 3], ())):
                if i - p > window or len(cands) == max_candidates:
                    break
                cands.append(p)
            for p in cands:
                length = 0
                while length < min(max_match, n - i) and t[p + length] == t[i + length]:
                    length += 1
                if length > best_len or (not nearest and length == best_len and length >= 3):
                    best_len, best_dist = length, i - p
        step = best_len if best_len >= 3 else 1
        out.append(("m", best_len, best_dist) if best_len >= 3 else ("l", t[i]))
        for j in (range(i, min(i + step, n - 2)) if insert_all else [i] if i <= n - 3 else []):
            chains.setdefault(t[j:j + 3], []).append(j)
        i += step
    return out


def emit(symbols, blocks=1, pad_fill=0) -> bytes:
    """Fixed-Huffman stream of ``symbols`` split into ``blocks`` blocks."""
    w = DeflateWriter()
    per = max(1, math.ceil(len(symbols) / blocks))
    parts = [symbols[k:k + per] for k in range(0, len(symbols), per)] or [[]]
    for bi, part in enumerate(parts):
        w.block(bi == len(parts) - 1, 1)
        for s in part:
            w.literal(s[1]) if s[0] == "l" else w.match(s[1], s[2])
        w.eob()
    w.pad_to_byte(pad_fill)
    return w.getvalue()


def canonical_deflate(t: bytes) -> bytes:
    out = emit(greedy_parse(t))
    if out != text.deflate.deflate(t):
        raise BuildError("the builder's canonical deflater disagrees with the reference")
    return out


def stored_deflate(t: bytes) -> bytes:
    return b"\x01" + struct.pack("<HH", len(t), len(t) ^ 0xFFFF) + t


def inflate_all(b: bytes) -> bytes:
    d = zlib.decompressobj(wbits=-15)
    return d.decompress(b) + d.flush()


# ====================================================================== payloads
def pattern_rgb(w: int, h: int) -> bytes:
    return bytes(((x * 37 + y * 11 + c * 101) & 0xFF) for y in range(h) for x in range(w) for c in range(3))


def png_rgb(w: int, h: int) -> bytes:
    return write_png(w, h, pattern_rgb(w, h))


def tiny_safetensors() -> bytes:
    header = json.dumps({"__metadata__": {"format": "pt"}, "lora.weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}},
                        separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return struct.pack("<Q", len(header)) + header + struct.pack("<4f", 1.0, -2.0, 0.5, 0.25)


# ====================================================================== the vectors
@dataclass
class Built:
    id: str
    cls: str
    description: str
    spec: list
    files: dict          # role -> (file name, bytes)
    expect: dict
    covers: list = field(default_factory=list)


def dumps(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def covers_of(fields: dict) -> list[str]:
    """Registry entries a parse vector uses, as "table:key"."""
    c = {f"models:{fields['model']}", f"devices:{fields['device']}", f"dtypes:{fields['dtype']}",
         f"noise_sources:{fields['noise']}", f"text_coders:{fields['text_coder']}",
         f"families:{REG.family_of(fields['model']).key}"}
    if "gpu" in fields["platform"]:
        c.add(f"gpus:{fields['platform']['gpu']}")
    if "cuda" in fields["platform"]:
        c.add(f"cuda_versions:{fields['platform']['cuda']}")
    if "scheduler" in fields["fields"]:
        c.add(f"schedulers:{fields['fields']['scheduler']}")
    for e in fields["extensions"]:
        c.add(f"extensions:{e['key']}" if "key" in e else "extensions:(unknown ignorable)")
    if fields["pixels"]:
        c.add(f"pixel_codecs:{fields['pixels']['codec']}")
    if fields["model_payload"]:
        c.add(f"model_compressors:{fields['model_payload']['compressor']}")
    return sorted(c)


class Builder:
    def __init__(self):
        self.vectors: list[Built] = []
        self.pending: list[dict] = []
        self._schema = None

    def _add(self, v: Built):
        if any(x.id == v.id for x in self.vectors):
            raise BuildError(f"duplicate vector ID {v.id}")
        if not all(c.isascii() and (c.isalnum() or c in "-._") for c in v.id.split("/", 1)[1]):
            raise BuildError(f"vector name {v.id!r} has characters outside [A-Za-z0-9-._]")
        self.vectors.append(v)

    def _info_schema(self):
        if self._schema is None:
            from jsonschema import Draft202012Validator
            self._schema = Draft202012Validator(json.loads((ROOT / "schemas" / "info.schema.json").read_text()))
        return self._schema

    # ---------------------------------------------------------------- parse
    def parse(self, name: str, f, description: str, spec: list[str]):
        data = f if isinstance(f, bytes) else codec.write(f, REG)
        try:
            g = codec.read(data, REG)
        except AigifError as exc:
            raise BuildError(f"parse/{name}: the reference rejects it: {exc}") from None
        if codec.write(g, REG) != data:
            raise BuildError(f"parse/{name}: not canonical")
        fields = jsonform.to_json(g, REG)
        round_trip = json.loads(json.dumps(fields))
        if codec.write(jsonform.from_json(round_trip, REG), REG) != data:
            raise BuildError(f"parse/{name}: pack(info(b)) != b")
        errors = list(self._info_schema().iter_errors(round_trip))
        if errors:
            raise BuildError(f"parse/{name}: info JSON does not match schemas/info.schema.json: {errors[0].message}")
        self._add(Built(f"parse/{name}", "parse", description, spec,
                        {"input": (f"{name}.aigif", data), "expected": (f"{name}.json", dumps(fields))},
                        {"outcome": "accept"}, covers_of(fields)))
        return data

    # ---------------------------------------------------------------- reject
    def reject(self, name: str, data, error: str, fault: str, spec: list[str]):
        if isinstance(data, Raw):
            data = data.bytes()
        try:
            err = codec.validate(data, REG)
        except Exception as exc:  # the reference crashed instead of reporting a code
            raise BuildError(f"reject/{name}: the reference crashes: {type(exc).__name__}: {exc}") from None
        got = None if err is None else err.code
        if got != error:
            raise BuildError(f"reject/{name}: the reference says {got} ({err}), the vector says {error}")
        self._add(Built(f"reject/{name}", "reject", fault, spec,
                        {"input": (f"{name}.aigif", data),
                         "expected": (f"{name}.json", dumps({"error": error, "fault": fault, "spec": spec}))},
                        {"outcome": "reject", "error": error}, [f"errors:{error}"]))

    def reject_or_pending(self, name: str, data, error: str, fault: str, spec: list[str]):
        """A reject vector whose code SPEC.md fixes but where the reference may
        still disagree (a part another engineer is finishing): while it does,
        the vector is listed under ``pending`` with what the reference said,
        and it appears by itself once the reference agrees."""
        try:
            self.reject(name, data, error, fault, spec)
        except BuildError:
            raw = data.bytes() if isinstance(data, Raw) else data
            try:
                err = codec.validate(raw, REG)
                got = "valid" if err is None else err.code
            except Exception as exc:  # a crash of the reference
                got = f"{type(exc).__name__}: {exc}"
            self.pending.append({"what": f"reject/{name}", "reason": f"SPEC.md says {error} ({fault}); the reference says {got}"})

    # ---------------------------------------------------------------- noise
    def noise(self, name: str, source: str, seed: int, shape: tuple, count: int, values: list[str], generator: dict):
        doc = {"source": source, "seed": seed, "shape": list(shape), "count": count, "values": values,
               "generator": generator}
        self._add(Built(f"noise/{name}", "noise",
                        f"first {count} float32 values of the initial latent {tuple(shape)} of {source} with seed {seed}",
                        ["§12.5", "App. F"], {"expected": (f"{name}.json", dumps(doc))},
                        {"outcome": "noise", "source": source, "seed": seed, "shape": list(shape), "count": count},
                        [f"noise_sources:{source}"]))


# ====================================================================== parse vectors
PROMPT = "a red circle on a blue square"
NEG = "blurry, low quality"


def new(model="sd-1.5", **kw) -> AigifFile:
    kw.setdefault("prompt", PROMPT)
    kw.setdefault("negative_prompt", NEG)
    fam = REG.family_of(model)
    kw.setdefault("height", 64 * fam.size_multiple // 8 if fam.size_multiple < 64 else fam.size_multiple)
    kw.setdefault("width", kw["height"])
    kw.setdefault("seed", 42)
    return jsonform.new(model, REG, **kw)


PAPER = dict(height=1024, width=1024, seed=829557441, prompt="A cute cat", negative_prompt="worst quality",
             fields={"scheduler": "ddim", "steps": 50, "guidance": 7.5}, device="cuda",
             platform={"gpu": "gtx-1080-ti", "cuda": "cu121"}, dtype="float16", noise="torch-cuda")


def paper(**kw) -> AigifFile:
    return jsonform.new("sd-1.5", REG, **{**PAPER, **kw})


def all_sections() -> AigifFile:
    px = png_rgb(8, 16)
    pixels = pattern_rgb(8, 16)
    st = tiny_safetensors()
    f = new("unregistered-sdxl", height=16, width=8, seed=2**32 + 5, device="cuda",
            platform={"gpu": "h100-sxm", "cuda": "cu124"}, noise="torch-cuda", dtype="bfloat16",
            fields={"scheduler": "dpmpp-2m-karras", "steps": 30, "guidance": 6.3, "clip_skip": 1,
                    "prompt_2": "oil painting", "negative_prompt_2": "photo"},
            model_fields={"weights_hash": hashlib.sha256(b"my merge").hexdigest(), "model_name": "myMerge_v3.safetensors"},
            digest=hashlib.sha256(pixels).hexdigest()[:32])
    f.extensions = [ext(2, torch="2.13.0", diffusers="0.42.1", transformers="4.57.1", writer="aigif 1.0"),
                    ext(4, tool="comfyui", settings='{"lora": "none"}'),
                    Extension(100, b"\x00\x01\x02private")]
    f.pixels = PixelPayload("png", px)
    f.model_payload = ModelPayload("none", hashlib.sha256(st).digest(), st)
    return f


def build_parse(b: Builder) -> dict[str, bytes]:
    P = b.parse
    keep = {}
    keep["paper"] = P("paper-example", paper(), "the paper's example (Table II) with the deflate text coder", ["§2", "App. D"])
    P("paper-example-text-none", paper(text_coder="none"), "the paper's example with the none text coder", ["§7.2"])
    P("minimal-defaults", jsonform.new("sd-1.5", REG, height=8, width=8, seed=0, text_coder="none"),
      "smallest sd-1.5 file: 8x8, seed 0, empty strings, every default", ["§5"])
    keep["all"] = P("all-sections", all_sections(),
                    "every optional section at once: digest, extensions (registered and unknown), PNG payload, model payload", ["§6"])

    # ---- every model (unregistered ones with name and hash)
    for m in table("models").entries:
        key = m["key"]
        kw = {}
        if key.startswith("unregistered-"):
            kw["model_fields"] = {"weights_hash": "6ce0161689", "model_name": f"{key[13:]}_finetune_v2.safetensors"}
        P(f"model-{key}", new(key, **kw), f"model {key} (ID {m['id']}, family {m['family']})", ["§5", "§8"])
    P("unregistered-sd-hash-empty", new("unregistered-sd", model_fields={"weights_hash": "", "model_name": "unknown.ckpt"}),
      "unregistered model, hash unknown (0 bytes)", ["§5.3"])
    P("unregistered-sd-hash-32", new("unregistered-sd", model_fields={"weights_hash": hashlib.sha256(b"w").hexdigest(), "model_name": "w.safetensors"}),
      "unregistered model, full SHA-256 (32 bytes: the max_len limit)", ["§5.3", "§11"])
    P("unregistered-sd-name-empty", new("unregistered-sd", model_fields={"weights_hash": "0102030405", "model_name": ""}),
      "unregistered model with hash and no name", ["§5.3"])

    # ---- family fields at min and max, and the strings of each family
    for fam_key, model in FAMILY_MODEL.items():
        fam = REG.families[fam_key]
        for end in ("min", "max"):
            fields = {"scheduler": "default"}
            for x in fam.fields:
                if x.type in ("uint", "dec"):
                    fields[x.name] = getattr(x, end) if x.type == "uint" else float(getattr(x, end))
            P(f"family-{fam_key}-{end}", new(model, fields=fields),
              f"family {fam_key}: every uint and dec field at its {end}imum", ["§3.5", "§3.6", "§5.2"])
        strs = [x.name for x in fam.fields if x.type == "str"]
        if strs:
            P(f"family-{fam_key}-strings", new(model, fields={s: f"{s} text ✓" for s in strs}),
              f"family {fam_key}: its string fields ({', '.join(strs)}) in the text block after the core strings", ["§7.1"])
        g = fam.size_multiple
        for tag, (h, w) in {"min": (g, g), "max": (MAX_SIDE, MAX_SIDE), "wide": (g, MAX_SIDE), "tall": (MAX_SIDE, g),
                            "odd-multiple": (3 * g, 5 * g), "units-of-64": (512, 768), "mixed-units": (64, 64 + g)}.items():
            P(f"size-{fam_key}-{tag}", new(model, height=h, width=w),
              f"family {fam_key} (size multiple {g}): height {h}, width {w}", ["§5", "§11"])

    # ---- every scheduler
    for s in table("schedulers").entries:
        model = "sd3-medium" if s["kind"] == "flow" else "sd-1.5"
        P(f"scheduler-{s['key']}", new(model, fields={"scheduler": s["key"]}),
          f"scheduler {s['key']} (ID {s['id']}, {s['kind']}) with {model}", ["§5.2", "§8"])
    P("scheduler-default-flow-family", new("sd3-medium", fields={"scheduler": "default"}),
      "scheduler default (kind any) in a flow family", ["§5.2"])

    # ---- platform: every device, GPU and CUDA version
    for d in table("devices").entries:
        P(f"device-{d['key']}", new(device=d["key"]), f"device {d['key']} (ID {d['id']})", ["§5.1"])
    for gpu in table("gpus").entries:
        P(f"gpu-{gpu['key']}", new(device="cuda", platform={"gpu": gpu["key"], "cuda": "cu124"}, noise="torch-cuda"),
          f"cuda device, GPU {gpu['key']} (ID {gpu['id']})", ["§5.1"])
    for cu in table("cuda_versions").entries:
        P(f"cuda-{cu['key']}", new(device="cuda", platform={"gpu": "rtx-4090", "cuda": cu["key"]}, noise="torch-cuda"),
          f"cuda device, CUDA version {cu['key']} (ID {cu['id']})", ["§5.1"])
    top = lambda t, ok=lambda e: True: max((e for e in table(t).entries if ok(e)), key=lambda e: e["id"])["key"]  # noqa: E731
    top_model = top("models")
    kind = REG.family_of(top_model).raw["scheduler_kind"]
    P("platform-highest-ids",
      new(top_model, device="cuda", platform={"gpu": top("gpus"), "cuda": top("cuda_versions")},
          fields={"scheduler": top("schedulers", lambda e: e["kind"] in ("any", kind))},
          model_fields={x.name: x.default for x in REG.model_fields(top_model)}),
      "the highest registered ID of every referenced table at once (model, GPU, CUDA, scheduler)", ["§3.3", "§3.4", "§3.9"])

    # ---- dtypes, noise sources, text coders
    for d in table("dtypes").entries:
        P(f"dtype-{d['key']}", new(dtype=d["key"]), f"dtype {d['key']} (ID {d['id']})", ["§5"])
    for n in table("noise_sources").entries:
        P(f"noise-source-{n['key']}", new(noise=n["key"]), f"noise source {n['key']} (ID {n['id']})", ["§5", "§12.5"])
    for tc in table("text_coders").entries:
        key = tc["key"]
        if not coder_available(key):
            b.pending.append({"what": f"text_coders:{key}", "reason": f"aigif.text.encode({key!r}, …) is not available in this build; "
                                                                     "re-run tools/build_vectors.py once it is"})
            continue
        P(f"text-coder-{key}", new(text_coder=key), f"text coder {key} (ID {tc['id']})", ["§7"])
        P(f"text-coder-{key}-empty", new(text_coder=key, prompt="", negative_prompt=""), f"text coder {key}, two empty strings", ["§7"])
        P(f"text-coder-{key}-unicode", new(text_coder=key, prompt="ein Bild: Kätzchen, 猫, 🐱", negative_prompt="ǅ\u0301"),
          f"text coder {key}, 2-, 3- and 4-byte UTF-8", ["§7"])
        if key not in ("none", "deflate"):
            P(f"text-coder-{key}-sdxl-strings", new("sdxl-base-1.0", text_coder=key, fields={"prompt_2": "oil painting", "negative_prompt_2": "photo"}),
              f"text coder {key}, four strings (sdxl)", ["§7"])

    # ---- pixel payloads, model payloads
    for pc in table("pixel_codecs").entries:
        if pc["key"] == "png":
            P("pixels-png-8x8", _with_pixels(new(height=8, width=8), "png", png_rgb(8, 8)),
              "PNG pixel payload, 8x8 RGB", ["§6.3"])
            P("pixels-png-sd3-16x48", _with_pixels(new("sd3-medium", height=16, width=48), "png", png_rgb(48, 16)),
              "PNG pixel payload, 48x16 RGB (width != height)", ["§6.3"])
            png_extra = png_rgb(8, 8)
            png_extra = png_extra[:33] + chunk(b"tEXt", b"Comment\x00made by build_vectors") + png_extra[33:]
            P("pixels-png-ancillary-chunk", _with_pixels(new(height=8, width=8), "png", png_extra),
              "PNG pixel payload with an ancillary chunk after IHDR", ["§6.3"])
        else:
            P(f"pixels-{pc['key']}-framing", _with_pixels(new(height=8, width=8), pc["key"], f"{pc['key']} payload: opaque to a parser".encode()),
              f"pixel codec {pc['key']} (ID {pc['id']}): framing only (a parser does not decode it)", ["§6.3"])
    st = tiny_safetensors()
    for mc in table("model_compressors").entries:
        if mc["key"] == "none":
            f = new()
            f.model_payload = ModelPayload("none", hashlib.sha256(st).digest(), st)
            P("model-payload-none", f, "model payload, compressor none: a tiny safetensors file with its SHA-256", ["§6.4"])
        else:
            f = new()
            f.model_payload = ModelPayload(mc["key"], hashlib.sha256(st).digest(), b"\x01compressed weights")
            P(f"model-payload-{mc['key']}-framing", f, f"model compressor {mc['key']} (ID {mc['id']}): framing only", ["§6.4"])

    # ---- digests
    for n in (8, 16, 32):
        P(f"digest-{n}", new(digest=hashlib.sha256(b"pixels").hexdigest()[:2 * n]), f"verification digest of {n} bytes", ["§6.1"])

    # ---- extensions
    sw = {"torch": "2.13.0+cu124", "diffusers": "0.42.1", "transformers": "4.57.1", "writer": "aigif 1.0"}
    for e in REG.extensions.entries:  # every registered extension, every field non-empty
        vals = {x["name"]: sw.get(x["name"], f"{x['name']} value") for x in e["fields"] if x["type"] == "str"}
        P(f"extension-{e['key']}", _with_ext(new(), [ext(e["tag"], **vals)]),
          f"registered extension {e['key']} (tag {e['tag']}, {'critical' if e['critical'] else 'ignorable'})", ["§6.2.3"])
        P(f"extension-{e['key']}-defaults", _with_ext(new(), [ext(e["tag"])]),
          f"registered extension {e['key']} with every field at its default", ["§6.2"])
    P("extension-source-a1111-settings", _with_ext(new(), [ext(4, tool="automatic1111", settings='{"ENSD": 31337}')]),
      "extension source with JSON settings", ["§6.2.3"])
    P("extension-software-unicode", _with_ext(new(), [ext(2, **{**sw, "writer": "ツール 🐍 1.0"})]),
      "extension software with multi-byte UTF-8 in an inline str", ["§3.8", "§6.2"])
    for tag, body, what in [(0, b"zero", "tag 0"), (6, b"\x00\xff", "tag 6 (unregistered, even)"), (64, b"private", "private tag 64"),
                            (126, b"private", "private tag 126"), (128, b"two-byte tag", "tag 128 (a 2-byte uvarint)"),
                            (2**64 - 2, b"largest", "tag 2^64-2 (the largest even tag, a 10-byte uvarint)"), (8, b"", "tag 8 with an empty body")]:
        P(f"extension-unknown-ignorable-{tag if tag < 2**63 else 'max'}", _with_ext(new(), [Extension(tag, body)]),
          f"unknown ignorable extension, {what}: skipped, kept as raw bytes", ["§6.2", "§6.2.2"])
    P("extensions-known-and-unknown", _with_ext(new(), [Extension(0, b"a"), ext(2, **sw), ext(4, tool="x"), Extension(200, b"b")]),
      "registered and unknown ignorable extensions interleaved in tag order", ["§6.2"])
    exts = [ext(e["tag"]) for e in REG.extensions.entries]
    free = [t for t in range(0, 200, 2) if t not in REG.extensions.by_id][:32 - len(exts)]
    exts = sorted(exts + [Extension(t, bytes([t])) for t in free], key=lambda e: e.tag)
    P("extensions-32", _with_ext(new(), exts), "32 extensions: the limit", ["§6.2", "§11"])

    # ---- seeds
    for s in (0, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**64 - 1):
        label = str(s)
        P(f"seed-{label}", new(seed=s), f"seed {s}: the smallest width class that holds it", ["§3.7"])

    # ---- dec (guidance of sd-1.5 unless noted)
    for x, label, why in [(6.3, "6.3", "decimal form e=1, m=63: the double nearest 6.3"), (0.1, "0.1", "e=1, m=1"),
                          (7.5, "7.5", "the SPEC.md §3.6 example"), (7.0, "7", "e=0, m=7"), (0.0, "0", "zero: e=0, m=0"),
                          (12.25, "12.25", "e=2"), (2.675, "2.675", "e=3 (2.675 is not exactly representable)"),
                          (0.000001, "0.000001", "e=6, m=1"), (99.999999, "99.999999", "e=6, m=99999999"),
                          (1e-7, "1e-7", "binary form: needs e=7"),
                          (3.0000000000000004, "3.0000000000000004", "binary form: no decimal with e<=6 rounds to it"),
                          (0.30000000000000004, "0.30000000000000004", "binary form: 0.1+0.2"),
                          (5e-324, "5e-324", "binary form: the smallest subnormal"),
                          (math.nextafter(100.0, 0.0), "100-ulp", "binary form: the largest double below the maximum 100"),
                          (-0.0, "negative-zero", "binary form: -0.0 has no decimal form; it compares equal to the minimum 0 (see spec-drafts/conformance.md)")]:
        P(f"dec-guidance-{label}", new(fields={"guidance": x}), f"guidance {x!r}: {why}", ["§3.6"])
    P("dec-flux-true-cfg-binary", new("flux.1-dev", fields={"guidance": 3.5, "true_cfg": 1.0000000000000002}),
      "a second dec field (flux true_cfg) in binary form", ["§3.6", "§5.2"])

    # ---- text block
    P("text-none-nul-and-controls", new(text_coder="none", prompt="a\x00b\tc\nd", negative_prompt="\u2028\ufeff"),
      "strings with NUL, tab, newline, U+2028 and U+FEFF (all valid UTF-8)", ["§7.1"])
    P("text-none-max-code-points", new(text_coder="none", prompt="\U0010ffff\uffff\ue000", negative_prompt="\u07ff\u0800"),
      "UTF-8 boundaries: U+10FFFF, U+FFFF, U+E000, U+07FF, U+0800", ["§1", "§7.1"])
    long = ("a red circle on a blue square, highly detailed, " * 2000).encode()
    for coder in ("none", "deflate"):
        P(f"text-{coder}-framed-limit", new(text_coder=coder, prompt=long[:TEXT_LIMIT - 4].decode(), negative_prompt=""),
          "framed text of exactly 65,536 bytes (the limit): a 65,532-byte prompt", ["§7.1", "§11"])
    if coder_available("prompt"):
        P("text-prompt-framed-limit", new(text_coder="prompt", prompt=long[:TEXT_LIMIT - 4].decode(), negative_prompt=""),
          "prompt coder, framed text of exactly 65,536 bytes (the limit)", ["§7.1", "§7.4", "§11"])
    P("text-none-3-byte-length", new(text_coder="none", prompt="x" * 16384, negative_prompt="y"),
      "a 16,384-byte string: its length is a 3-byte uvarint", ["§3.2", "§7.1"])

    build_deflate_parse(b)
    return keep


def ext(tag: int, **values) -> Extension:
    """A registered extension with every field of its registry entry: the
    given values, "" (or the field default) for the rest."""
    e = REG.extensions.by_id[tag]
    names = [x["name"] for x in e["fields"]]
    unknown = set(values) - set(names)
    if unknown:
        raise BuildError(f"extension {e['key']} has no fields {sorted(unknown)}")
    return Extension(tag, b"", e["key"], {x["name"]: values.get(x["name"], x.get("default", "")) for x in e["fields"]})


def _with_pixels(f: AigifFile, codec_key: str, data: bytes) -> AigifFile:
    f.pixels = PixelPayload(codec_key, data)
    return f


def _with_ext(f: AigifFile, exts) -> AigifFile:
    f.extensions = list(exts)
    return f


def coder_available(key: str) -> bool:
    try:
        strings = ["a red circle", "blurry"]
        return text.decode(key, text.encode(key, strings), 2) == strings
    except (AigifError, ImportError):
        return False


def framed_pair(prompt: bytes, neg: bytes = b"") -> bytes:
    return frame([prompt, neg])


def build_deflate_parse(b: Builder):
    """Parse vectors whose canonical stream a wrong re-encoder gets wrong: each
    asserts that the named mistake changes the bytes (so a decoder making it
    rejects a valid file)."""
    cases = []
    # equal-length candidates: the nearest wins
    cases.append(("deflate-equal-length-nearest", b"abcXabcYabc", dict(nearest=False),
                  "two candidates of equal length: the nearest is chosen"))
    # more than 32 candidates: the best one is the 34th and must not be used
    # (each segment ends with a byte seen nowhere else, so every "qzj" starts a match)
    far = b"qzj!" + b"".join(b"qzj" + bytes([65 + k % 26, 0x30 + k]) for k in range(40)) + b"qzj!"
    cases.append(("deflate-candidate-limit-32", far, dict(max_candidates=10**9),
                  "more than 32 candidates: only the 32 nearest are considered"))
    # window: a match at distance exactly 32768 is allowed, 32769 is not
    seg = b"0123456789abcdefghijklmnopqrstuvwxyz"
    fill = bytes((i * 7 + i // 256) % 26 + 65 for i in range(32768 - len(seg) - 1)) + b"#"
    cases.append(("deflate-window-32768", seg + fill + seg, dict(window=32767),
                  "a match at distance exactly 32,768 (the window) is used"))
    # maximum match length and overlapping source
    cases.append(("deflate-max-match-258", b"z" * 1000, dict(max_match=257),
                  "a 1000-byte run: overlapping matches of the maximum length 258"))
    # every position counts as a candidate, including those inside matches
    inside = b"abcdefgh" + b"abcdefgh" + b"XX" + b"cdefghij" + b"YY" + b"efgh"
    cases.append(("deflate-candidates-inside-matches", inside, dict(insert_all=False),
                  "positions inside an earlier match are candidates too"))
    for name, prompt, wrong, desc in cases:
        framed = framed_pair(prompt)
        canon = canonical_deflate(framed)
        other = emit(greedy_parse(framed, **wrong))
        if other == canon or inflate_all(other) != framed:
            raise BuildError(f"parse/{name}: the wrong encoder ({wrong}) does not differ from the canonical one")
        f = paper(prompt=prompt.decode(), negative_prompt="")
        if codec.write(f, REG) != raw_of(f).copy(text=canon).bytes():
            raise BuildError(f"parse/{name}: canonical stream mismatch")
        b.parse(name, f, f"deflate: {desc}", ["§7.3"])


# ====================================================================== reject vectors
def build_reject(b: Builder, keep: dict[str, bytes]):
    R = b.reject
    base_f = paper(text_coder="none")
    base = raw_of(base_f)             # the paper example, text coder none
    good = base.bytes()
    dbase = raw_of(paper())           # ... deflate
    allf = all_sections()
    allr = raw_of(allf)
    alld = allr.bytes()
    if alld != keep["all"]:
        raise BuildError("all-sections differs")

    # ---- magic and version (§4.1)
    R("empty-file", b"", "E_MAGIC", "an empty file (see spec-drafts/conformance.md: an empty file is not AIGIF)", ["§4.1"])
    R("magic-prefix-1-byte", b"A", "E_TRUNCATED", "a 1-byte file that is a prefix of the magic", ["§4.1"])
    R("magic-prefix-2-bytes", b"AI", "E_TRUNCATED", "a 2-byte file that is a prefix of the magic", ["§4.1"])
    R("magic-1-byte-other", b"G", "E_MAGIC", "a 1-byte file that is not a prefix of the magic", ["§4.1"])
    R("magic-wrong-third-byte", b"AIF" + good[3:], "E_MAGIC", "magic 41 49 46", ["§4.1"])
    R("magic-lowercase", b"aig" + good[3:], "E_MAGIC", "magic in lower case", ["§4.1"])
    R("magic-png-file", png_rgb(4, 4), "E_MAGIC", "a PNG file", ["§4.1"])
    R("version-absent", b"AIG", "E_TRUNCATED", "the file ends after the magic", ["§4.1"])
    for v in (0, 2, 0x7F, 0xFF):
        R(f"version-{v}", base.copy(version=v).bytes(), "E_VERSION", f"format version {v}", ["§4.1", "§14"])

    # ---- body length (§4.2)
    L = len(base.body())
    R("body-length-absent", b"AIG\x01", "E_TRUNCATED", "the file ends before the body length", ["§4.2"])
    R("body-length-cut-off", b"AIG\x01\x80", "E_TRUNCATED", "the file ends inside the body-length uvarint", ["§4.2"])
    R("body-length-overlong", base.copy(length=bytes([L | 0x80, 0])).bytes(), "E_VARINT",
      "body length written with a redundant 0x00 byte (overlong uvarint)", ["§3.2", "§4.2"])
    R("body-length-11-bytes", base.copy(length=b"\x80" * 10 + b"\x01").bytes(), "E_VARINT", "an 11-byte uvarint", ["§3.2"])
    R("body-length-2pow64", base.copy(length=b"\xff" * 9 + b"\x02").bytes(), "E_VARINT", "a 10-byte uvarint of 2^64 or more", ["§3.2"])
    R("body-length-0", base.copy(length=b"\x00").bytes(), "E_LIMIT", "body length 0 (at least 1)", ["§4.2", "§11"])
    R("body-length-2pow32", base.copy(length=uv(2**32)).bytes(), "E_LIMIT", "body length 2^32: one past the limit", ["§4.2", "§11"])
    R("body-length-2pow64-1", base.copy(length=uv(2**64 - 1)).bytes(), "E_LIMIT", "body length 2^64-1", ["§4.2", "§11"])
    R("body-length-2pow32-1", base.copy(length=uv(2**32 - 1)).bytes(), "E_TRUNCATED",
      "body length 2^32-1 (the limit itself) in a short file: truncated, not over the limit", ["§4.2", "§11"])
    R("body-length-one-short", base.copy(length=uv(L - 1)).bytes(), "E_TRAILING_DATA",
      "body length one less than the body: the file is one byte longer than its header says", ["§4.2"])
    R("body-length-one-long", base.copy(length=uv(L + 1)).bytes(), "E_TRUNCATED",
      "body length one more than the body", ["§4.2"])

    # ---- truncation at every section boundary of all-sections, and within
    head = 4 + len(uv(len(allr.body())))
    if len(uv(len(allr.body()))) < 2:
        raise BuildError("all-sections should have a 2-byte body length")
    cut, pos = {}, head
    cut["after-magic"] = 3
    cut["after-version"] = 4
    cut["within-body-length"] = 5
    cut["after-body-length"] = head
    core_len = len(bits_to_bytes(allr.core_bits()))
    cut["within-core"] = head + core_len // 2
    pos = head + core_len
    cut["after-core"] = pos
    cut["within-digest"] = pos + 3
    pos += len(allr.digest)
    cut["after-digest"] = pos
    cut["within-extensions"] = pos + len(allr.exts) // 2
    pos += len(allr.exts)
    cut["after-extensions"] = pos
    cut["within-pixel-payload"] = pos + len(allr.pixels) // 2
    pos += len(allr.pixels)
    cut["after-pixel-payload"] = pos
    cut["within-model-payload-hash"] = pos + 10
    cut["within-model-payload"] = pos + len(allr.model) - 5
    pos += len(allr.model)
    cut["after-model-payload"] = pos
    cut["within-text"] = pos + len(allr.text) // 2
    pos += len(allr.text)
    cut["before-crc"] = pos
    if pos + 4 != len(alld):
        raise BuildError("layout of all-sections")
    cut["within-crc-1"] = pos + 1
    cut["within-crc-3"] = pos + 3
    for name, n in cut.items():
        R(f"truncated-{name}", alld[:n], "E_TRUNCATED", f"all-sections cut to {n} of {len(alld)} bytes ({name.replace('-', ' ')})", ["§4.2"])
    R("truncated-paper-last-byte", good[:-1], "E_TRUNCATED", "the paper example without its last byte", ["§4.2"])

    # ---- trailing data
    R("trailing-zero-byte", good + b"\x00", "E_TRAILING_DATA", "one 0x00 byte after the CRC", ["§4.2"])
    R("trailing-second-crc", good + good[-4:], "E_TRAILING_DATA", "the CRC written twice", ["§4.2"])
    R("trailing-second-file", good + good, "E_TRAILING_DATA", "two files concatenated", ["§4.2"])

    # ---- checksum (§4.3)
    crc = zlib.crc32(good[:-4])
    R("checksum-crc-bit-flip", good[:-1] + bytes([good[-1] ^ 0x01]), "E_CHECKSUM", "one bit of the stored CRC flipped", ["§4.3"])
    i = len(good) // 2
    R("checksum-body-bit-flip", good[:i] + bytes([good[i] ^ 0x10]) + good[i + 1:], "E_CHECKSUM", "one bit of the body flipped", ["§4.3"])
    R("checksum-text-byte-changed", _flip_text_byte(base), "E_CHECKSUM",
      "one byte of the text block changed (still valid text), CRC not updated", ["§4.3"])
    R("checksum-zero", good[:-4] + b"\x00" * 4, "E_CHECKSUM", "CRC field all zero", ["§4.3"])
    R("checksum-big-endian", good[:-4] + crc.to_bytes(4, "big"), "E_CHECKSUM", "the CRC stored big-endian", ["§1", "§4.3"])
    R("checksum-body-only", good[:-4] + zlib.crc32(good[4 + len(uv(L)):-4]).to_bytes(4, "little"), "E_CHECKSUM",
      "CRC computed over the body only (it covers the magic, version and length too)", ["§4.3"])
    R("checksum-crc32c", good[:-4] + crc32c(good[:-4]).to_bytes(4, "little"), "E_CHECKSUM",
      "CRC-32C (Castagnoli) instead of the ISO-HDLC CRC-32", ["§4.3"])
    R("checksum-not-inverted", good[:-4] + (crc ^ 0xFFFFFFFF).to_bytes(4, "little"), "E_CHECKSUM",
      "CRC without the final XOR", ["§4.3"])

    # ---- the core (§5, §9 step 6)
    R("core-overrun-1-byte-body", with_crc(b"AIG\x01\x01\x00"), "E_OVERRUN", "a 1-byte body: the core ends before the device field", ["§5", "§9"])
    R("core-overrun-in-seed", cut_core(base, "seed", "11" + "0" * 18), "E_OVERRUN",
      "the body ends inside a 64-bit seed", ["§3.7", "§9"])
    R("expcode-model-16-units", base.set("model", "11111111" * 16), "E_EXPCODE_OVERLONG", "model exp-code of 16 units all 0xFF", ["§3.3", "§11"])
    R("expcode-model-17-units", base.set("model", "11111111" * 16 + u(0, 8)), "E_EXPCODE_OVERLONG",
      "model exp-code of 16 escapes then a terminal unit (17 units)", ["§3.3"])
    R("expcode-model-max-16-units", base.set("model", "11111111" * 15 + u(254, 8)), "E_UNKNOWN_ID",
      "model ID 4079: the longest legal exp-code (16 units), not registered", ["§3.3", "App. B"])
    for tbl, fld in [("schedulers", "fields.scheduler"), ("gpus", "platform.gpu"), ("cuda_versions", "platform.cuda")]:
        short = fld.split(".")[1]
        if coded_as(tbl) == "exp-code":
            R(f"expcode-{short}-16-units", base.set(fld, "11111111" * 16), "E_EXPCODE_OVERLONG", f"{short} exp-code of 16 units all 0xFF", ["§3.3"])
        elif coded_as(tbl) == "ue":
            R(f"{short}-expgolomb-33-zeros", base.set(fld, "0" * 33 + "1" + "0" * 33), "E_EXPGOLOMB_OVERLONG",
              f"{short} ID coded with 33 leading zeros", ["§3.4", "§3.9"])
            R(f"{short}-id-2pow33-2", base.set(fld, "0" * 32 + "1" * 33), "E_UNKNOWN_ID",
              f"{short} ID 2^33-2: the largest ue (32 leading zeros), not registered", ["§3.4", "§3.9"])
    R("expcode-overrun-model", with_crc(b"AIG\x01\x03" + bits_to_bytes("0000" + "0000" + "0000" + "11111111" + "1111")),
      "E_OVERRUN", "the body ends after an escape unit of the model exp-code", ["§3.3"])
    n_models = max(table("models").by_id) + 1
    for mid in sorted({n_models, 254, 255, 509, 510, 764, 765}):
        R(f"unknown-model-{mid}", base.set("model", ref_bits("models", mid)), "E_UNKNOWN_ID",
          f"model ID {mid} ({len(expc(mid)) // 8}-unit exp-code), not registered", ["§3.3", "§3.9", "§8.4"])
    nid = lambda t: max(table(t).by_id) + 1  # noqa: E731
    R(f"unknown-scheduler-{nid('schedulers')}", base.set("fields.scheduler", ref_bits("schedulers", nid("schedulers"))), "E_UNKNOWN_ID",
      "first unassigned scheduler ID", ["§3.9"])
    R(f"unknown-gpu-{nid('gpus')}", base.set("platform.gpu", ref_bits("gpus", nid("gpus"))), "E_UNKNOWN_ID", "first unassigned GPU ID", ["§3.9"])
    R(f"unknown-cuda-{nid('cuda_versions')}", base.set("platform.cuda", ref_bits("cuda_versions", nid("cuda_versions"))), "E_UNKNOWN_ID",
      "first unassigned CUDA version ID", ["§3.9"])
    cpu = raw_of(paper(device="cpu", platform={}, text_coder="none"))
    for t, fld in [("devices", "device"), ("dtypes", "dtype"), ("noise_sources", "noise"), ("text_coders", "text_coder")]:
        for v in sorted({nid(t), 15}):
            R(f"unknown-{fld.replace('_', '-')}-{v}", cpu.set(fld, u(v, 4)), "E_UNKNOWN_ID", f"{fld} ID {v} (u(4)), not registered", ["§3.9", "§5"])
    R("scheduler-flow-in-discrete-family", base.set("fields.scheduler", ref_bits("schedulers", ident("schedulers", "flow-match-euler"))), "E_RANGE",
      "a flow scheduler (flow-match-euler) for sd-1.5, a discrete family (see spec-drafts/conformance.md)", ["§5.2"])
    sd3 = raw_of(new("sd3-medium", text_coder="none"))
    R("scheduler-discrete-in-flow-family", sd3.set("fields.scheduler", ref_bits("schedulers", ident("schedulers", "ddim"))), "E_RANGE",
      "a discrete scheduler (ddim) for sd3-medium, a flow family", ["§5.2"])

    # height / width (§5)
    def sized(r: Raw, h: int, w: int, g: int, unit: int | None = None) -> Raw:
        for name, bits in size_fields(h, w, g, unit):
            r = r.set(name, bits)
        return r
    R("height-16392", sized(base, 16392, 16392, 8), "E_RANGE", "height 16392 (units of 8): one size multiple over 16384", ["§5", "§11"])
    R("height-16448", sized(base, 16448, 16448, 8), "E_RANGE", "height 16448 (units of 64) over 16384", ["§5", "§11"])
    R("height-sd3-16400", sized(sd3, 16400, 16400, 16), "E_RANGE", "sd3 height 16400 (units of 16) over 16384", ["§5"])
    R("height-expgolomb-32-zeros", base.set("height", "0" * 32 + "1" + "0" * 32), "E_RANGE",
      "height coded with 32 leading zeros (the longest legal Exp-Golomb code): far over 16384", ["§3.4", "§5"])
    R("height-expgolomb-33-zeros", base.set("height", "0" * 33 + "1" + "0" * 33), "E_EXPGOLOMB_OVERLONG",
      "height coded with 33 leading zeros", ["§3.4", "§11"])
    R("height-expgolomb-overrun", cut_core(base, "height", "0" * 20), "E_OVERRUN",
      "the body ends inside the leading zeros of the height", ["§3.4", "§9"])
    big = raw_of(paper(height=16384, width=16384, text_coder="none"))
    R("width-16392", sized(big, 16384, 16392, 8), "E_RANGE", "height 16384, width 16392 (units of 8)", ["§5", "§11"])
    R("width-16448", sized(big, 16384, 16448, 8), "E_RANGE", "height 16384, width 16448 (units of 64)", ["§5", "§11"])
    R("width-0", sized(base, 1024, 0, 8), "E_RANGE", "width 0 (height 1024, units of 64)", ["§5"])
    R("width-negative", sized(base, 1024, -8, 8, unit=8), "E_RANGE", "width -8 (height 1024, units of 8)", ["§5"])
    R("width-sd3-16400", sized(raw_of(new("sd3-medium", height=16384, width=16384, text_coder="none")), 16384, 16400, 16), "E_RANGE",
      "sd3 width 16400", ["§5"])
    R("size-unit-noncanonical", sized(base, 1024, 1024, 8, unit=8), "E_NONCANONICAL",
      "1024x1024 coded in units of 8: multiples of 64 must use size_unit 1", ["§5"])
    R("size-unit-noncanonical-sana", sized(raw_of(new("sana-1600m-1024", text_coder="none")), 64, 128, 32, unit=32), "E_NONCANONICAL",
      "sana (size multiple 32) 128x64 coded in units of 32", ["§5"])
    # seed (§3.7)
    for s, c, label in [(0, 1, "0-in-16-bits"), (255, 1, "255-in-16-bits"), (65535, 2, "65535-in-32-bits"),
                        (2**32 - 1, 3, "2pow32-1-in-64-bits"), (0, 3, "0-in-64-bits")]:
        R(f"seed-noncanonical-{label}", base.set("seed", seed_bits(s, c)), "E_NONCANONICAL",
          f"seed {s} written in the {(8, 16, 32, 64)[c]}-bit class", ["§3.7"])
    # family fields
    R("steps-1001", base.set("fields.steps", ue(1000)), "E_RANGE", "steps 1001 (max 1000)", ["§3.5", "§5.2"])
    R("steps-expgolomb-33-zeros", base.set("fields.steps", "0" * 33 + "1" + "0" * 33), "E_EXPGOLOMB_OVERLONG", "steps with 33 leading zeros", ["§3.4"])
    R("clip-skip-13", base.set("fields.clip_skip", ue(13)), "E_RANGE", "clip_skip 13 (max 12)", ["§3.5"])
    R("guidance-100.1", base.set("fields.guidance", dec_decimal(1001, 1)), "E_RANGE", "guidance 100.1 (decimal form)", ["§3.6", "§5.2"])
    R("guidance-100-plus-ulp", base.set("fields.guidance", dec_binary(math.nextafter(100.0, 200.0))), "E_RANGE",
      "guidance: the double just above 100 (binary form)", ["§3.6"])
    R("guidance-negative", base.set("fields.guidance", dec_decimal(-5, 1)), "E_RANGE", "guidance -0.5", ["§3.6"])
    R("guidance-negative-subnormal", base.set("fields.guidance", dec_binary(-5e-324)), "E_RANGE", "guidance -5e-324 (binary form)", ["§3.6"])
    R("guidance-nan", base.set("fields.guidance", u(7, 3) + u(0x7FF8000000000000, 64)), "E_RANGE", "guidance NaN (binary form)", ["§3.6"])
    R("guidance-infinity", base.set("fields.guidance", dec_binary(math.inf)), "E_RANGE", "guidance +infinity", ["§3.6"])
    R("dec-noncanonical-trailing-zero", base.set("fields.guidance", dec_decimal(70, 1)), "E_NONCANONICAL", "7 written as 70 / 10^1", ["§3.6"])
    R("dec-noncanonical-zero-exponent", base.set("fields.guidance", dec_decimal(0, 2)), "E_NONCANONICAL", "0 written as 0 / 10^2", ["§3.6"])
    R("dec-noncanonical-larger-exponent", base.set("fields.guidance", dec_decimal(750, 2)), "E_NONCANONICAL", "7.5 written as 750 / 10^2", ["§3.6"])
    R("dec-noncanonical-binary-7.5", base.set("fields.guidance", dec_binary(7.5)), "E_NONCANONICAL", "7.5 in binary form", ["§3.6"])
    R("dec-noncanonical-binary-6.3", base.set("fields.guidance", dec_binary(6.3)), "E_NONCANONICAL", "the double nearest 6.3 in binary form", ["§3.6"])
    R("dec-noncanonical-binary-zero", base.set("fields.guidance", dec_binary(0.0)), "E_NONCANONICAL", "+0.0 in binary form", ["§3.6"])
    R("dec-noncanonical-binary-0.000001", base.set("fields.guidance", dec_binary(0.000001)), "E_NONCANONICAL",
      "1e-6 (decimal e=6) in binary form", ["§3.6"])
    R("dec-mantissa-2pow32-1", base.set("fields.guidance", dec_decimal(2**32 - 1, 6)), "E_RANGE",
      "decimal form with m = 2^32-1 (the largest), e=6: 4294.967295, over 100", ["§3.6"])
    R("dec-mantissa-2pow32", base.set("fields.guidance", dec_decimal(2**32, 6)), "E_EXPGOLOMB_OVERLONG",
      "decimal form with m = 2^32: se needs 33 leading zeros", ["§3.4", "§3.6"])
    flux = raw_of(new("flux.1-dev", text_coder="none"))
    R("true-cfg-above-100", flux.set("fields.true_cfg", dec_decimal(1005, 1)), "E_RANGE", "flux true_cfg 100.5", ["§3.6", "§5.2"])
    unreg = raw_of(new("unregistered-sd", text_coder="none", model_fields={"weights_hash": "00" * 32, "model_name": "m"}))
    R("weights-hash-33-bytes", unreg.set("model_fields.weights_hash", bytes_bits(bytes(33))), "E_RANGE",
      "unregistered model with a 33-byte weights hash (max_len 32)", ["§3.8", "§5.3", "§11"])
    R("weights-hash-length-2000", unreg.set("model_fields.weights_hash", ue(2000)), "E_RANGE",
      "weights hash length 2000: over max_len, reported before reading (and running out of) its bytes", ["§3.8", "§11"])
    # padding (§3.10)
    # a paper-like file whose core needs at least 2 padding bits (the steps change the core's length)
    padded = next(r for r in (raw_of(paper(text_coder="none", fields={**PAPER["fields"], "steps": n})) for n in (50, 20, 70, 8, 150, 1, 4))
                  if -len("".join(x[1] for x in r.core)) % 8 >= 2)
    pad = -len("".join(x[1] for x in padded.core)) % 8
    R("padding-nonzero-core", padded.copy(pad="0" * (pad - 1) + "1"), "E_NONZERO_PADDING", "last padding bit of the core is 1", ["§3.10"])
    R("padding-nonzero-core-first", padded.copy(pad="1" + "0" * (pad - 1)), "E_NONZERO_PADDING", "first padding bit of the core is 1", ["§3.10"])

    # ---- digest (§6.1)
    dg = raw_of(paper(text_coder="none", digest="ab" * 16))
    for n in (0, 1, 12, 31, 64, 255):
        R(f"digest-length-{n}", dg.copy(digest=bytes([n]) + b"\xab" * n), "E_RANGE", f"digest length {n} (8, 16 or 32)", ["§6.1", "§11"])
    R("digest-missing", dg.copy(digest=b"", text=b""), "E_OVERRUN", "has_digest set, the body ends after the core", ["§6.1"])
    R("digest-overrun", dg.copy(digest=b"\x20" + b"\xab" * 8, text=b""), "E_OVERRUN", "digest length 32, 8 bytes left", ["§6"])

    # ---- extensions (§6.2)
    ex = raw_of(_with_ext(paper(text_coder="none"), [Extension(0, b"a")]))
    def exts(*records, count=None):
        return (uv(len(records)) if count is None else count) + b"".join(uv(t) + uv(len(body)) + body for t, body in records)
    R("extensions-count-0", ex.copy(exts=uv(0)), "E_NONCANONICAL", "has_extensions set and a count of 0", ["§6.2"])
    R("extensions-count-33", ex.copy(exts=exts(*[(2 * k + 6, b"") for k in range(33)])), "E_LIMIT", "33 extensions (limit 32)", ["§6.2", "§11"])
    R("extensions-count-overlong", ex.copy(exts=b"\x81\x00" + uv(0) + uv(1) + b"a"), "E_VARINT", "extension count as an overlong uvarint", ["§3.2"])
    R("extensions-order-decreasing", ex.copy(exts=exts((6, b"a"), (4, b""))), "E_EXTENSION_ORDER", "tags 6 then 4", ["§6.2"])
    R("extensions-duplicate-tag", ex.copy(exts=exts((6, b"a"), (6, b"b"))), "E_EXTENSION_ORDER", "tag 6 twice", ["§6.2"])
    for tag, what in [(1, "tag 1"), (3, "tag 3 (unregistered, odd)"), (65, "private tag 65"), (101, "tag 101"),
                      (129, "tag 129 (2-byte uvarint)"), (2**64 - 1, "tag 2^64-1")]:
        R(f"extension-unknown-critical-{tag if tag < 2**63 else 'max'}", ex.copy(exts=exts((tag, b"must understand"))),
          "E_UNKNOWN_CRITICAL_EXTENSION", f"unknown critical extension, {what}", ["§6.2", "§14"])
    R("extension-unknown-critical-after-ignorable", ex.copy(exts=exts((6, b"skip me"), (7, b"must understand"))),
      "E_UNKNOWN_CRITICAL_EXTENSION", "an unknown ignorable extension, then an unknown critical one", ["§6.2"])
    R("extension-tag-overlong", ex.copy(exts=uv(1) + b"\x86\x00" + uv(1) + b"a"), "E_VARINT", "extension tag 6 as an overlong uvarint", ["§3.2"])
    R("extension-tag-2pow64", ex.copy(exts=uv(1) + b"\xff" * 9 + b"\x02" + uv(1) + b"a"), "E_VARINT", "extension tag of 2^64", ["§3.2"])
    R("extension-length-overlong", ex.copy(exts=uv(1) + uv(6) + b"\x81\x00" + b"a"), "E_VARINT", "extension length as an overlong uvarint", ["§3.2"])
    R("extension-length-past-end", ex.copy(exts=uv(1) + uv(6) + uv(1000) + b"a"), "E_OVERRUN", "extension body length past the end of the body", ["§6", "§6.2"])
    sw_body = codec.sections.encode_extension_body(REG, 2, ext(2, torch="2.13.0", diffusers="0.42.1", writer="w").fields)
    n_sw = len(REG.extensions.by_id[2]["fields"])
    R("extension-software-leftover-byte", ex.copy(exts=exts((2, sw_body + b"\x00"))), "E_OVERRUN",
      "software extension body one byte longer than its fields", ["§6.2"])
    R("extension-software-empty-body", ex.copy(exts=exts((2, b""))), "E_OVERRUN", "software extension with an empty body", ["§6.2"])
    R("extension-software-short-body", ex.copy(exts=exts((2, sw_body[:-3]))), "E_OVERRUN", "software extension body cut short", ["§6.2"])
    if n_sw % 8 == 0:
        raise BuildError("the software extension of empty strings needs padding for this vector")
    empty_sw = bits_to_bytes("1" * n_sw + "0" * (-n_sw % 8 - 1) + "1")
    R("extension-software-nonzero-padding", ex.copy(exts=exts((2, empty_sw))), "E_NONZERO_PADDING",
      "software extension (every string empty) with a padding bit set", ["§3.10", "§6.2"])
    bad = ue(1) + "11111111" + "1" * (n_sw - 1)
    bad_sw = bits_to_bytes(bad + "0" * (-len(bad) % 8))
    R("extension-software-invalid-utf8", ex.copy(exts=exts((2, bad_sw))), "E_UTF8", "software extension: torch = 0xFF", ["§3.8"])

    # ---- pixel payload (§6.3)
    pxf = _with_pixels(paper(text_coder="none", height=8, width=8), "png", png_rgb(8, 8))
    px = raw_of(pxf)
    def pixels(data, codec_id=0, length=None):
        return wire.expcode_bytes(codec_id) + uv(len(data) if length is None else length) + data
    def ihdr_png(w, h, depth=8, colour=2, interlace=0):
        return png_from_raw(w, h, depth, colour, interlace, b"\x00" * (h * (1 + w * 3)))[:33] + chunk(b"IEND", b"")
    R("pixels-png-wrong-size", px.copy(pixels=pixels(png_rgb(16, 8))), "E_PAYLOAD", "PNG payload 16x8 in an 8x8 file", ["§6.3", "§11"])
    R("pixels-png-width-height-swapped", raw_of(_with_pixels(paper(text_coder="none", height=8, width=16), "png", png_rgb(16, 8)))
      .copy(pixels=pixels(png_rgb(8, 16))), "E_PAYLOAD", "PNG payload 8 wide 16 high in a 16-wide 8-high file", ["§6.3"])
    R("pixels-png-grayscale", px.copy(pixels=pixels(ihdr_png(8, 8, colour=0))), "E_PAYLOAD", "PNG payload of colour type 0 (grey)", ["§6.3"])
    R("pixels-png-rgba", px.copy(pixels=pixels(ihdr_png(8, 8, colour=6))), "E_PAYLOAD", "PNG payload of colour type 6 (RGBA)", ["§6.3"])
    R("pixels-png-palette", px.copy(pixels=pixels(ihdr_png(8, 8, colour=3))), "E_PAYLOAD", "PNG payload of colour type 3 (palette)", ["§6.3"])
    R("pixels-png-16-bit", px.copy(pixels=pixels(ihdr_png(8, 8, depth=16))), "E_PAYLOAD", "PNG payload of 16 bits per sample", ["§6.3"])
    R("pixels-png-interlaced", px.copy(pixels=pixels(ihdr_png(8, 8, interlace=1))), "E_PAYLOAD", "interlaced PNG payload", ["§6.3"])
    R("pixels-png-not-png", px.copy(pixels=pixels(b"GIF89a" + b"\x00" * 40)), "E_PAYLOAD", "pixel payload (codec png) that is a GIF", ["§6.3"])
    R("pixels-png-short", px.copy(pixels=pixels(SIGNATURE + b"\x00\x00\x00\x0dIHDR")), "E_PAYLOAD", "PNG payload cut inside IHDR", ["§6.3"])
    R("pixels-png-bomb-dimensions", px.copy(pixels=pixels(ihdr_png(8, 8)[:16] + struct.pack(">II", 1 << 20, 1 << 20) + ihdr_png(8, 8)[24:])),
      "E_PAYLOAD", "PNG header claiming 1048576x1048576 (checked before decoding a pixel)", ["§6.3", "§16"])
    R("pixels-length-0", px.copy(pixels=pixels(b"")), "E_RANGE", "pixel payload length 0 (see spec-drafts/conformance.md)", ["§6.3"])
    R("pixels-length-past-end", px.copy(pixels=pixels(png_rgb(8, 8), length=len(png_rgb(8, 8)) + 100)), "E_OVERRUN",
      "pixel payload length past the end of the body", ["§6"])
    R("pixels-length-256MiB", px.copy(pixels=pixels(b"", length=256 << 20)), "E_OVERRUN",
      "pixel payload of 256 MiB (the limit itself) declared, not present: checked against the bytes left", ["§6", "§11"])
    R("pixels-length-256MiB-plus-1", px.copy(pixels=pixels(b"", length=(256 << 20) + 1)), "E_LIMIT",
      "pixel payload of 256 MiB + 1 declared", ["§11"])
    R("pixels-codec-16-units", px.copy(pixels=b"\xff" * 16 + uv(1) + b"x"), "E_EXPCODE_OVERLONG", "pixel codec exp-code of 16 units 0xFF", ["§3.3"])
    R(f"pixels-codec-unknown-{nid('pixel_codecs')}", px.copy(pixels=pixels(b"x", codec_id=nid("pixel_codecs"))), "E_UNKNOWN_ID",
      "first unassigned pixel codec ID", ["§3.9", "§6.3"])
    R("pixels-codec-unknown-255", px.copy(pixels=pixels(b"x", codec_id=255)), "E_UNKNOWN_ID", "pixel codec ID 255 (FF 00)", ["§3.3"])

    # ---- model payload (§6.4)
    st = tiny_safetensors()
    mpf = paper(text_coder="none")
    mpf.model_payload = ModelPayload("none", hashlib.sha256(st).digest(), st)
    mp = raw_of(mpf)
    def model(data, sha, comp=0, length=None):
        return wire.expcode_bytes(comp) + uv(len(data) if length is None else length) + sha + data
    R("model-payload-hash-mismatch", mp.copy(model=model(st, hashlib.sha256(st + b"x").digest())), "E_PAYLOAD",
      "model payload (compressor none) whose SHA-256 does not match", ["§6.4", "§16"])
    R("model-payload-length-0", mp.copy(model=model(b"", hashlib.sha256(b"").digest())), "E_RANGE", "model payload length 0", ["§6.4"])
    R("model-payload-hash-past-end", mp.copy(model=wire.expcode_bytes(0) + uv(4) + b"\x00" * 20, text=b""), "E_OVERRUN",
      "the body ends inside the model payload's SHA-256", ["§6.4"])
    R("model-payload-data-past-end", mp.copy(model=model(st, hashlib.sha256(st).digest(), length=len(st) + 50)), "E_OVERRUN",
      "model payload length past the end of the body", ["§6.4"])
    R("model-payload-length-2GiB", mp.copy(model=model(b"", b"\x00" * 32, length=2 << 30)), "E_OVERRUN",
      "model payload of 2 GiB (the limit) declared, not present", ["§6.4", "§11"])
    R("model-payload-length-2GiB-plus-1", mp.copy(model=model(b"", b"\x00" * 32, length=(2 << 30) + 1)), "E_LIMIT",
      "model payload of 2 GiB + 1 declared", ["§6.4", "§11"])
    R("model-compressor-16-units", mp.copy(model=b"\xff" * 16 + uv(1) + b"\x00" * 33), "E_EXPCODE_OVERLONG",
      "model compressor exp-code of 16 units 0xFF", ["§3.3"])
    R(f"model-compressor-unknown-{nid('model_compressors')}", mp.copy(model=model(st, hashlib.sha256(st).digest(), comp=nid("model_compressors"))),
      "E_UNKNOWN_ID", "first unassigned model compressor ID", ["§6.4"])

    # ---- text block, coder none (§7.1, §7.2)
    t = lambda *parts: base.copy(text=b"".join(parts))  # noqa: E731
    R("text-none-string-past-end", t(uv(10), b"A cute cat", uv(30), b"worst quality"), "E_OVERRUN", "second string's length past the end", ["§7.2"])
    R("text-none-bytes-after-last-string", t(uv(10), b"A cute cat", uv(13), b"worst quality", b"!"), "E_OVERRUN",
      "one byte after the last string", ["§7.2"])
    R("text-none-missing-string", t(uv(10), b"A cute cat"), "E_OVERRUN", "one string where two are needed", ["§7.1", "§7.2"])
    R("text-none-empty-block", t(), "E_OVERRUN", "an empty text block (two strings needed)", ["§7.2"])
    R("text-none-length-overlong", t(b"\x8a\x00", b"A cute cat", uv(0)), "E_VARINT", "string length as an overlong uvarint", ["§3.2"])
    sdxl = raw_of(new("sdxl-base-1.0", text_coder="none"))
    R("text-none-sdxl-two-strings", sdxl.copy(text=frame(["a", "b"])), "E_OVERRUN",
      "sdxl file with two strings (it has four: prompt, negative_prompt, prompt_2, negative_prompt_2)", ["§7.1"])
    for name, bad, what in [("ff", b"\xff", "byte 0xFF"), ("overlong-slash", b"\xc0\xaf", "overlong form C0 AF"),
                            ("surrogate", b"\xed\xa0\x80", "surrogate U+D800"), ("above-10ffff", b"\xf4\x90\x80\x80", "U+110000"),
                            ("truncated-sequence", b"\xe2\x82", "a 3-byte sequence cut after 2 bytes"),
                            ("lone-continuation", b"\x80", "a continuation byte alone")]:
        s = b"cat " + bad
        R(f"text-none-utf8-{name}", t(uv(len(s)), s, uv(0)), "E_UTF8", f"prompt with invalid UTF-8: {what}", ["§1", "§7.1"])
    R("text-none-utf8-second-string", t(uv(1), b"a", uv(2), b"\xc3\x28"), "E_UTF8", "negative prompt with invalid UTF-8", ["§7.1"])
    R("text-none-utf8-before-overrun", t(uv(1), b"\xff", uv(9), b"x"), "E_OVERRUN",
      "invalid UTF-8 in the first string and a framing error in the second: framing is checked first", ["§9"])
    over = b"x" * (TEXT_LIMIT - 3)
    R("text-none-framed-limit-plus-1", t(uv(len(over)), over, uv(0)), "E_TEXT_LIMIT", "framed text of 65,537 bytes", ["§7.1", "§11"])

    # ---- text block, coder deflate (§7.3)
    framed = frame(["A cute cat", "worst quality"])
    canon = canonical_deflate(framed)
    d = lambda stream: dbase.copy(text=stream)  # noqa: E731
    R("deflate-stored-block", d(stored_deflate(framed)), "E_NONCANONICAL", "valid DEFLATE, one stored block", ["§7.3"])
    R("deflate-two-fixed-blocks", d(emit(greedy_parse(framed), blocks=2)), "E_NONCANONICAL", "the canonical symbols split into two fixed blocks", ["§7.3"])
    lit_framed = frame(["a cat, a cat, a cat", "worst quality"])
    R("deflate-literals-only", dbase.copy(text=emit([("l", x) for x in lit_framed])), "E_NONCANONICAL",
      "only literals where the greedy parse has a match", ["§7.3"])
    syms = greedy_parse(lit_framed)
    k = next(i for i, s in enumerate(syms) if s[0] == "m" and s[1] >= 4)
    deferred = syms[:k] + [("l", lit_framed[sum(1 if s[0] == "l" else s[1] for s in syms[:k])]), ("m", syms[k][1] - 1, syms[k][2])] + syms[k + 1:]
    R("deflate-deferred-match", dbase.copy(text=emit(deferred)), "E_NONCANONICAL",
      "a literal then a shorter match where the greedy parse takes the match (zlib's lazy matching does this)", ["§7.3"])
    shorter = syms[:k] + [("m", syms[k][1] - 1, syms[k][2]), ("l", lit_framed[sum(1 if s[0] == "l" else s[1] for s in syms[:k]) + syms[k][1] - 1])] + syms[k + 1:]
    R("deflate-shorter-match", dbase.copy(text=emit(shorter)), "E_NONCANONICAL", "a match one shorter than the longest, then a literal", ["§7.3"])
    eq = frame(["abcXabcYabc", ""])
    R("deflate-farther-equal-match", paper_text(emit(greedy_parse(eq, nearest=False)), "abcXabcYabc"), "E_NONCANONICAL",
      "of two candidates of equal length, the farther one", ["§7.3"])
    R("deflate-nonzero-final-bits", d(emit(greedy_parse(framed), pad_fill=0xFF)), "E_NONCANONICAL",
      "the bits after the end-of-block code are not zero", ["§7.3"])
    if canon[-1] & 0x80:
        raise BuildError("no free padding bits to set in the canonical stream")
    R("deflate-trailing-byte", d(canon + b"\x00"), "E_TEXT_CORRUPT", "one byte after the end of the DEFLATE stream", ["§7.3"])
    R("deflate-truncated", d(canon[:-2]), "E_TEXT_CORRUPT", "the DEFLATE stream cut short", ["§7.3"])
    R("deflate-empty", d(b""), "E_TEXT_CORRUPT", "an empty text block", ["§7.3"])
    R("deflate-reserved-block-type", d(b"\x07" + canon[1:]), "E_TEXT_CORRUPT", "BTYPE = 11 (reserved)", ["§7.3"])
    w = DeflateWriter()
    w.block(False, 1)
    for x in framed:
        w.literal(x)
    w.eob()
    w.pad_to_byte()
    R("deflate-no-final-block", d(w.getvalue()), "E_TEXT_CORRUPT", "a single block without BFINAL: the stream never ends", ["§7.3"])
    w = DeflateWriter()
    w.block(True, 1)
    w.literal(framed[0])
    w.match(5, 10)
    w.eob()
    w.pad_to_byte()
    R("deflate-distance-too-far", d(w.getvalue()), "E_TEXT_CORRUPT", "a match reaching before the start of the output", ["§7.3"])
    bomb = DeflateWriter()
    bomb.block(True, 1)
    bomb.literal(0)
    for _ in range((8 << 20) // 258):
        bomb.match(258, 1)
    bomb.eob()
    bomb.pad_to_byte()
    R("deflate-bomb", d(bomb.getvalue()), "E_TEXT_LIMIT", "a DEFLATE bomb: 8 MiB of zeros (stop at 65,536 bytes, not after)", ["§7.3", "§16"])
    over_f = frame(["x" * (TEXT_LIMIT - 3), ""])
    R("deflate-framed-limit-plus-1", d(text.deflate.deflate(over_f)), "E_TEXT_LIMIT", "framed text of 65,537 bytes", ["§7.1", "§11"])
    R("deflate-utf8-invalid", d(canonical_deflate(uv(5) + b"cat \xff" + uv(0))), "E_UTF8", "invalid UTF-8 inside the deflated text", ["§7.1"])
    R("deflate-string-past-end", d(canonical_deflate(uv(5) + b"cat" + uv(0))), "E_OVERRUN", "a framing error inside the deflated text", ["§7.3"])
    R("deflate-extra-string", d(canonical_deflate(framed + uv(1) + b"x")), "E_OVERRUN", "three strings where two are needed", ["§7.3"])

    # ---- text block, coder prompt (§7.4), once it is available
    if coder_available("prompt"):
        pr = raw_of(paper(text_coder="prompt"))
        block = pr.text
        R("prompt-garbage", pr.copy(text=b"\xff" * 8), "E_TEXT_CORRUPT", "a prompt-coded block of eight 0xFF bytes", ["§7.4"])
        b.reject_or_pending("prompt-trailing-zero-byte", pr.copy(text=block + b"\x00"), "E_NONCANONICAL",
                            "the canonical prompt-coded block followed by a 0x00 byte", ["§7.4", "§9"])
        b.reject_or_pending("prompt-trailing-byte", pr.copy(text=block + b"\xff"), "E_NONCANONICAL",
                            "the canonical prompt-coded block followed by a 0xFF byte", ["§7.4", "§9"])
        b.reject_or_pending("prompt-framed-limit-plus-1", pr.copy(text=text.encode("prompt", ["x" * (TEXT_LIMIT - 3), ""])), "E_TEXT_LIMIT",
                            "prompt-coded strings whose framed text is 65,537 bytes", ["§7.1", "§11"])


def cut_core(r: Raw, field_name: str, tail: str) -> bytes:
    """A file whose body is the core of ``r`` up to ``field_name``, then the
    bits ``tail`` and zeros to the byte boundary: the body ends there."""
    names = [n for n, _ in r.core]
    head = "".join(b for _, b in r.core[:names.index(field_name)])
    bits = head + tail
    body = bits_to_bytes(bits + "0" * (-len(bits) % 8))
    return with_crc(b"AIG\x01" + uv(len(body)) + body)


def paper_text(stream: bytes, prompt: str) -> Raw:
    return raw_of(paper(prompt=prompt, negative_prompt="")).copy(text=stream)


def _flip_text_byte(r: Raw) -> bytes:
    good = r.bytes()
    i = len(good) - 6  # inside "worst quality"
    return good[:i] + bytes([good[i] ^ 0x20]) + good[i + 1:]


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


# ====================================================================== noise vectors
NOISE_SEEDS = [0, 1, 42, 829557441, 2**32 - 1, 2**32, 2**32 + 5, 2**64 - 1]
NOISE_SHAPES = [(1, 4, 64, 64), (1, 4, 8, 8), (1, 4, 1, 3), (1, 4, 128, 128), (1, 16, 128, 128), (1, 32, 32, 32)]
NOISE_COUNT = 64


def build_noise(b: Builder):
    try:
        from aigif import noise
        from aigif.refdecoder import noise_values
    except ImportError as exc:
        print(f"build_vectors: noise vectors skipped: aigif.noise is not available ({exc})", file=sys.stderr)
        b.pending.append({"what": "noise vectors", "reason": f"aigif.noise is not available ({exc})"})
        return
    for key in noise.CPU_KEYS:
        gen = {"implementation": f"aigif.noise.get_source({key!r}).stream(seed).normal(shape)"}
        if key == "torch-cpu":
            import torch
            gen["torch"] = torch.__version__.split("+")[0]
        jobs = [(s, NOISE_SHAPES[0]) for s in NOISE_SEEDS] + [(42, sh) for sh in NOISE_SHAPES[1:]]
        for seed, shape in jobs:
            count = min(NOISE_COUNT, shape[1] * shape[2] * shape[3])
            vals = noise_values(key, seed, count, shape)
            b.noise(f"{key}-seed-{seed}-{'x'.join(map(str, shape))}", key, seed, shape, count, vals, gen)
    # GPU-only sources: values measured on a GPU and committed (see measure_cuda)
    measured = json.loads(CUDA_NOISE_FILE.read_text()) if CUDA_NOISE_FILE.is_file() else None
    for key in [k for k in noise.KEYS if k not in noise.CPU_KEYS]:
        if key != "torch-cuda" or measured is None:
            b.pending.append({"what": f"noise vectors for {key}", "reason": "they need a GPU to measure; none measured yet"})
            continue
        w = measured["measured_with"]
        gen = {"implementation": "aigif.noise.get_source('torch-cuda').stream(seed).normal(shape)",
               "torch": w["torch"].split("+")[0], "cuda": w["cuda"], "gpu": w["gpu"],
               "measured": f"on a GPU, carried over from {CUDA_NOISE_FILE.relative_to(ROOT)}"}
        for m in measured["vectors"]:
            shape = tuple(m["shape"])
            b.noise(f"{key}-seed-{m['seed']}-{'x'.join(map(str, shape))}", key, m["seed"], shape, m["count"], m["values"], gen)


CUDA_NOISE_FILE = ROOT / "conformance" / "noise-torch-cuda.json"


def measure_cuda() -> int:
    """Measure the torch-cuda noise values on this machine's GPU (twice, to
    check they repeat) and write conformance/noise-torch-cuda.json."""
    import torch
    from aigif.refdecoder import noise_values
    if not torch.cuda.is_available():
        print("build_vectors: --measure-cuda needs an NVIDIA GPU", file=sys.stderr)
        return 2
    jobs = [(s, NOISE_SHAPES[0]) for s in NOISE_SEEDS] + [(42, sh) for sh in NOISE_SHAPES[1:]]
    vectors = []
    for seed, shape in jobs:
        count = min(NOISE_COUNT, shape[1] * shape[2] * shape[3])
        v = noise_values("torch-cuda", seed, count, shape)
        if v != noise_values("torch-cuda", seed, count, shape):
            raise BuildError(f"torch-cuda values for seed {seed} do not repeat")
        vectors.append({"seed": seed, "shape": list(shape), "count": count, "values": v})
    doc = {"_comment": json.loads(CUDA_NOISE_FILE.read_text())["_comment"] if CUDA_NOISE_FILE.is_file() else "",
           "measured_with": {"torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0),
                             "implementation": "aigif.refdecoder.noise_values('torch-cuda', seed, count, shape)", "repeated": 2},
           "vectors": vectors}
    CUDA_NOISE_FILE.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"{CUDA_NOISE_FILE}: {len(vectors)} measurements")
    return 0


# ====================================================================== regen vectors (the hook)
#: Regen cases: each {"name", "description", "spec", "fields": <aigif info JSON, short form accepted by aigif pack>}.
#: The expected PNG is rendered with ``--render`` (aigif.regen.render_file on the
#: reference platform) and otherwise carried over from the committed vectors;
#: tolerances come from conformance/regen-tolerances.json, which records per
#: vector and device class the measurement that justifies them.
# Schedulers whose output on the tiny models holds NaN (cast to uint8 is then
# undefined, so the expected image would not be portable).
REGEN_UNSTABLE = {"k-unipc-bh2", "k-unipc"}


def _regen_cases() -> list[dict]:
    """Regen vectors: every conformance family, each scheduler class the registry
    uses (one entry per diffusers class and sigma schedule), both compute dtypes,
    every noise source that runs on a CPU, an unknown ignorable extension."""
    models = [m for m in REG.table("models").entries if m.get("status") == "conformance"]
    cases = []

    def case(name, desc, model, spec=("§12",), **kw):
        m = REG.table("models").by_key[model]
        size = m.get("sample_size") or 64
        fields = {"model": model, "prompt": "a red circle on a blue background", "negative_prompt": "green",
                  "height": size, "width": size, "seed": 829557441, "dtype": "float32", "noise": "torch-cpu",
                  "text_coder": "prompt", "fields": {"steps": 8}}
        for k, v in kw.items():
            if k == "fields":
                fields["fields"].update(v)
            else:
                fields[k] = v
        cases.append({"name": name, "description": desc, "fields": fields, "spec": list(spec)})

    for m in models:
        case(f"{m['key']}-default", f"{m['key']} with its own scheduler, float32, torch-cpu noise", m["key"])
    discrete = next(m["key"] for m in models if REG.family_of(m["key"]).raw["scheduler_kind"] == "discrete")
    flow = [m["key"] for m in models if REG.family_of(m["key"]).raw["scheduler_kind"] == "flow"]
    seen = set()
    for s in REG.table("schedulers").entries:
        if s["class"] is None or s.get("requires") or s["key"] in REGEN_UNSTABLE:
            continue
        sig = (s["class"], tuple(sorted((k, str(v)) for k, v in s["config"].items() if k != "timestep_spacing")))
        if sig in seen:
            continue  # the same class and schedule as a vector already made
        seen.add(sig)
        model = discrete if s["kind"] == "discrete" else (flow[0] if flow else None)
        if model:
            case(f"scheduler-{s['key']}", f"scheduler {s['key']} ({s['class']} {s['config']})", model, ("§12.3",), fields={"scheduler": s["key"]})
    for m in models:
        for dt in ("bfloat16", "float16"):
            case(f"{m['key']}-{dt}", f"{m['key']} in {dt}", m["key"], ("§12.3",), dtype=dt)
    for noise in ("a1111-nv", "portable"):
        for m in models:
            case(f"{m['key']}-noise-{noise}", f"{m['key']} with {noise} noise (Appendix F)", m["key"], ("§12.5", "Appendix F"), noise=noise)
    case("tiny-sd1-ancestral-portable", "an ancestral sampler drawing step noise from the portable stream", discrete,
         ("§12.5", "Appendix F.5.2"), noise="portable", fields={"scheduler": "k-euler-a"})
    case("tiny-sd1-unknown-extension", "an unknown ignorable extension does not change the image", discrete, ("§6.2",),
         extensions=[{"tag": 100, "critical": False, "raw": "00ff7f"}])
    # clip_skip > 0 is not covered: diffusers 0.42.1 reaches CLIPTextModel.text_model, which transformers 5 removed
    case("tiny-sd1-guidance-6.3", "guidance 6.3 reaches the pipeline as exactly the binary64 6.3", discrete, ("§3.6", "§12.3"),
         fields={"guidance": 6.3})
    return cases


REGEN_CASES: list[dict] = _regen_cases() if any((ROOT / (m.get("source") or {}).get("local", "-") / "model_index.json").is_file()
                                                for m in REG.table("models").entries if m.get("status") == "conformance") else []
TOLERANCES_FILE = ROOT / "conformance" / "regen-tolerances.json"


def build_regen(b: Builder, out: Path, committed: Path, render: bool):
    if not REGEN_CASES:
        b.pending.append({"what": "regen vectors", "reason": "no regen cases yet (aigif.regen and the conformance models come first)"})
        return
    tolerances = json.loads(TOLERANCES_FILE.read_text()) if TOLERANCES_FILE.is_file() else {}
    for case in REGEN_CASES:
        name = case["name"]
        f = jsonform.from_json(case["fields"], REG)
        if f.pixels is not None:  # a regenerator could pass by showing the payload (CONTRACT.md §4, item 3)
            raise BuildError(f"regen/{name}: regen vectors carry no pixel payload")
        data = codec.write(f, REG)
        tol = tolerances.get("vectors", {}).get(name)
        if not tol:
            raise BuildError(f"regen/{name}: no tolerance in {TOLERANCES_FILE.name}")
        png_path = committed / "regen" / f"{name}.png"
        if render:
            from aigif.regen import render_file
            with tempfile.TemporaryDirectory() as tmp:
                src = Path(tmp) / f"{name}.aigif"
                src.write_bytes(data)
                render_file(src, Path(tmp) / "out.png")
                png = (Path(tmp) / "out.png").read_bytes()
        elif png_path.is_file():
            png = png_path.read_bytes()
        else:
            raise BuildError(f"regen/{name}: no expected image; run with --render")
        meta = {"description": case["description"], "tolerance": tol, "reference_platform": tolerances.get("reference_platform")}
        if tolerances.get("unreproducible", {}).get(name):  # measured, but too far apart for a tolerance
            meta["unreproducible"] = tolerances["unreproducible"][name]
        b._add(Built(f"regen/{name}", "regen", case["description"], case.get("spec", ["§12"]),
                     {"input": (f"{name}.aigif", data), "expected": (f"{name}.png", png), "meta": (f"{name}.json", dumps(meta))},
                     {"outcome": "image", "tolerance": tol}, covers_of(jsonform.to_json(f, REG))))


TOLERANCE_MARGIN_DB = 3.0
TOLERANCE_CAP_DB = 50.0
#: a tolerance below this could not tell rounding from a changed field (the conformance models
#: move the image to <= 30 dB for any single field, SPEC.md §13.2): such a class gets none
TOLERANCE_USEFUL_DB = 35.0
#: the class of the reference platform itself (SPEC.md §13.2): bit-exact where measured so
REFERENCE_CLASS = "cpu:reference"


def tolerances_from(results_files: list[Path], margin: float = TOLERANCE_MARGIN_DB) -> dict:
    """Merge regen measurements (``aigif-conformance run --level regen --measure
    --device-class C --results R.json`` on each platform of a class) into
    conformance/regen-tolerances.json: per vector and class, the minimum PSNR
    any run reached, less ``margin`` dB, rounded down, at most
    TOLERANCE_CAP_DB (identical images everywhere still allow last-bit
    differences on a platform not measured).  A run in a refined class
    (``cpu:reference``) counts for its parent class (``cpu``) too.  A class
    whose runs fall below TOLERANCE_USEFUL_DB gets no tolerance (its
    measurement is kept under "unreproducible"); REFERENCE_CLASS gets
    "bit-exact" when every run in it was identical."""
    doc = json.loads(TOLERANCES_FILE.read_text()) if TOLERANCES_FILE.is_file() else {"reference_platform": None, "vectors": {}}
    doc["vectors"], doc["unreproducible"] = {}, {}  # rebuilt from the measurements given
    runs: dict[str, dict[str, list]] = {}
    for path in results_files:
        r = json.loads(Path(path).read_text())
        parts = r["device_class"].split(":")
        classes = [":".join(parts[:i]) for i in range(len(parts), 0, -1)]
        for x in r["results"]:
            if x["class"] != "regen" or "psnr" not in x["detail"]:
                continue
            p = math.inf if x["detail"]["psnr"] == "inf" else float(x["detail"]["psnr"])
            for cls in classes:
                runs.setdefault(x["id"].split("/", 1)[1], {}).setdefault(cls, []).append((p, r.get("platform", "")))
    for name, classes in sorted(runs.items()):
        for cls, ms in sorted(classes.items()):
            lo = min(p for p, _ in ms)
            measured = {"min_psnr": "inf" if math.isinf(lo) else round(lo, 3), "runs": len(ms),
                        "platforms": sorted({pl for _, pl in ms}), "margin_db": margin}
            if cls == REFERENCE_CLASS:
                if math.isinf(lo):
                    doc["vectors"].setdefault(name, {})[cls] = "bit-exact"
                continue
            if lo < TOLERANCE_USEFUL_DB:
                doc["unreproducible"].setdefault(name, {})[cls] = measured
                continue
            need = TOLERANCE_CAP_DB if math.isinf(lo) else min(TOLERANCE_CAP_DB, max(0.0, math.floor(lo - margin)))
            doc["vectors"].setdefault(name, {})[cls] = {"psnr_min": need, "measured": measured}
    return doc


# ====================================================================== writing
def manifest_of(b: Builder) -> dict:
    files = registry_files()
    vectors = []
    for v in b.vectors:
        vectors.append({
            "id": v.id, "class": v.cls, "description": v.description, "spec": v.spec, "covers": v.covers,
            "files": {role: {"path": f"{v.cls}/{fname}", "sha256": hashlib.sha256(data).hexdigest()}
                      for role, (fname, data) in v.files.items()},
            "expect": v.expect,
        })
    return {
        "$schema": "../schemas/manifest.schema.json",
        "format": "aigif-conformance-manifest",
        "manifest_version": 1,
        "spec_version": SPEC_VERSION,
        "format_version": 1,
        "registry": {"version": REGISTRY_VERSION, "sha256": registry_sha256(files), "files": files},
        "generated_by": "tools/build_vectors.py",
        "contract": "conformance/CONTRACT.md",
        "classes": {c: {"command": CLASS_COMMANDS[c], "count": sum(v.cls == c for v in b.vectors)} for c in CLASSES},
        "pending": b.pending,
        "vectors": vectors,
    }


def build(out: Path, render: bool = False, committed: Path | None = None) -> dict:
    committed = committed or ROOT / "vectors"
    b = Builder()
    keep = build_parse(b)
    build_reject(b, keep)
    build_noise(b)
    build_regen(b, out, committed, render)
    manifest = manifest_of(b)
    out.mkdir(parents=True, exist_ok=True)
    for c in CLASSES:
        d = out / c
        if d.exists():
            shutil.rmtree(d)
        d.mkdir()
    for v in b.vectors:
        for fname, data in v.files.values():
            (out / v.cls / fname).write_bytes(data)
    for c in CLASSES:
        if not any((out / c).iterdir()):
            (out / c / ".gitkeep").write_bytes(b"")
    (out / "manifest.json").write_bytes(dumps(manifest))
    return manifest


def compare_dirs(a: Path, b: Path) -> list[str]:
    """Files that differ between two vector directories (the classes and the manifest)."""
    diffs = []
    for c in CLASSES:
        names = {p.name for p in (a / c).glob("*")} | {p.name for p in (b / c).glob("*")}
        for n in sorted(names):
            pa, pb = a / c / n, b / c / n
            if not pa.exists() or not pb.exists() or not filecmp.cmp(pa, pb, shallow=False):
                diffs.append(f"{c}/{n}")
    if not filecmp.cmp(a / "manifest.json", b / "manifest.json", shallow=False):
        diffs.append("manifest.json")
    return diffs


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "vectors", help="output directory (default vectors/)")
    ap.add_argument("--check", action="store_true", help="build into a temporary directory and compare with --out")
    ap.add_argument("--render", action="store_true", help="render the regen vectors' expected images (needs aigif.regen and the models)")
    ap.add_argument("--measure-cuda", action="store_true", help="measure the torch-cuda noise values on this GPU into conformance/noise-torch-cuda.json")
    ap.add_argument("--tolerances-from", nargs="+", type=Path, metavar="RESULTS.json",
                    help="merge regen measurements (aigif-conformance run --measure --results) into conformance/regen-tolerances.json")
    ap.add_argument("--margin", type=float, default=TOLERANCE_MARGIN_DB, help="dB below the lowest measured PSNR (default 3)")
    args = ap.parse_args(argv)
    if args.measure_cuda:
        return measure_cuda()
    if args.tolerances_from:
        doc = tolerances_from(args.tolerances_from, args.margin)
        TOLERANCES_FILE.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"{TOLERANCES_FILE}: tolerances for {len(doc['vectors'])} vectors; now rebuild the vectors")
        return 0
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            build(Path(tmp), args.render, committed=args.out)
            diffs = compare_dirs(Path(tmp), args.out)
        for d in diffs:
            print(f"differs: {d}")
        print("vectors are up to date" if not diffs else f"{len(diffs)} files differ: run python tools/build_vectors.py")
        return 1 if diffs else 0
    m = build(args.out, args.render)
    counts = ", ".join(f"{c} {m['classes'][c]['count']}" for c in CLASSES)
    print(f"{args.out}: {len(m['vectors'])} vectors ({counts})")
    for p in m["pending"]:
        print(f"pending: {p['what']}: {p['reason']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
