"""AUTOMATIC1111 "infotext" (the PNG ``parameters`` text) — parse and write.

Where: PNG text ``parameters``; JPEG/WebP EXIF ``UserComment`` (and JPEG
``COM``); stealth pnginfo. Also written by Forge, SD.Next and Fooocus (its
"a1111" metadata scheme)::

    <prompt, any number of lines>
    Negative prompt: <negative prompt, any number of lines>
    Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x768, ...

The parser follows ``parse_generation_parameters`` of A1111
(``modules/infotext_utils.py``, formerly ``generation_parameters_copypaste.py``)
step by step, so that a prompt reads back exactly as A1111 itself reads it:

* the whole text is ``strip()``-ed and split on ``"\\n"``;
* the last line is the parameter line only if the A1111 ``key: value``
  pattern matches it at least 3 times, otherwise it belongs to the prompt;
* every other line is ``strip()``-ed; from the first line that starts with
  ``"Negative prompt:"`` on, lines go to the negative prompt;
* parameters are read with A1111's regular expression; a value in double
  quotes is JSON (A1111 quotes values that contain ``,`` ``:`` or a newline).

``Denoising strength`` is the hires-fix denoise when any ``Hires …`` key is
present (txt2img), the img2img strength otherwise. LoRAs come from the
``<lora:name:weight[:unet]>`` tags of the prompt (A1111 applies them from
there; the tags stay in the prompt) plus ``Lora hashes``. The tool is the
``Version``'s: ``Fooocus…`` is Fooocus, ``f<digit>…``/``classic…`` Forge,
``App: SD.Next`` SD.Next, ``Version: ComfyUI`` (comfy-image-saver) ComfyUI.
Other writers' spellings of a field key (``CFG Scale``) are read as A1111's
key with a note; SD.Next's ``Sampler sigma`` is its schedule type; Civitai's
generator names its checkpoint only in ``Civitai resources``. Unnamed
parameters and LoRA tags are listed up to :data:`MAX_LOST_PARAMS` /
:data:`MAX_LORAS` and counted beyond (a hostile line has 10⁵ of them).

A1111's regular expression backtracks quadratically on long runs of word
characters; :func:`find_params` gives the same matches in linear time
(differential-tested). One extension: a value that is a bare JSON object or
array (``Hashes: {"model": ...}``, ``Civitai resources: [{...}]``, written
unquoted by the Civitai helper, Civitai's generator and some forks) is read
as that value; A1111 itself would mangle it.

Why not sd-parsers: its AUTOMATIC1111 parser splits the parameter line on
every ``,`` and ``:`` (so quoted values such as ``Lora hashes: "a: 1, b: 2"``
or a model name with a comma are broken), splits the prompt on the first
``"Negative prompt:"`` anywhere in the text rather than at a line start,
strips the prompts and keeps every number as a string.

:func:`format_a1111` writes infotext that A1111 parses back to the same
fields. It quotes a bit more than A1111's own ``quote()`` (also values that
start with ``"``/``{``, have edge whitespace, or are empty), all of which
A1111 still reads correctly. :func:`a1111_representable` tells whether a
prompt survives A1111's per-line ``strip()`` unchanged (leading/trailing
whitespace on a line, a line starting with ``"Negative prompt:"`` and a
leading empty line cannot be written); otherwise it reads back as A1111
itself reads it.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from .coerce import DECIMAL, RE_NUMBER, Coercer
from .coerce import size as coerce_size
from .containers import RawMetadata, TextItem
from .errors import E_IMPORT_MALFORMED, E_IMPORT_TOO_LARGE, ImportFailure
from .generation import ImportedGeneration

# A1111's own expressions (modules/infotext_utils.py).
RE_PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_RE_SIZE = re.compile(r"^([0-9]{1,6})x([0-9]{1,6})\Z")
NEGATIVE_PREFIX = "Negative prompt:"
#: Infotext is all text: numbers are read exactly as A1111 writes them.
_TYPED = Coercer("A1111 parameter", strings=DECIMAL, numbers=False)

#: Keys that become typed fields of ImportedGeneration.
FIELD_KEYS = {
    "Steps": ("steps", "int"),
    "Sampler": ("sampler", "str"),
    "Schedule type": ("schedule", "str"),
    "CFG scale": ("cfg_scale", "float"),
    "Seed": ("seed", "int"),
    "Model hash": ("model_hash", "str"),
    "Model": ("model_name", "str"),
    "Clip skip": ("clip_skip", "int"),
    "ENSD": ("eta_noise_seed_delta", "int"),
    "RNG": ("rng", "str"),
    "VAE": ("vae", "str"),
    "Version": ("source_version", "str"),
}
#: Parameters that do not change the pixels (provenance, hashes, UI state).
HARMLESS_KEYS = {
    "Version", "Model hash", "VAE hash", "TI hashes", "Lora hashes", "Hashes", "Styles array", "Template",
    "Negative Template", "Init image hash", "Mask mode", "Masked area padding", "User", "App", "Operations",
    "Comment", "Pipeline", "Emphasis", "Created Date", "Civitai resources", "Civitai metadata",
}
#: Parameters at the value that means "off", which A1111 1.x wrote on every image: nothing is lost.
DEFAULT_PARAMS = {("Seed resize from", "-1x-1")}
#: Keys written in another spelling by other writers (ComfyUI's comfy-image-saver writes "CFG Scale"):
#: A1111 would ignore them, but they name the same value; read with a note.
FIELD_KEYS_FOLDED = {k.casefold(): k for k in FIELD_KEYS}
#: SD.Next names the schedule "Sampler sigma" (karras, exponential, beta...), as A1111's "Schedule type".
SDNEXT_SCHEDULE_KEY = "Sampler sigma"
#: At most this many LoRA tags are listed (a hostile prompt can hold a million); the rest are counted.
MAX_LORAS = 256
#: At most this many parameters without a field are named one by one in ``lost``; the rest are counted.
MAX_LOST_PARAMS = 64
#: Hires-fix parameters (second pass). "Denoising strength" belongs to the
#: hires pass when any of these is present (txt2img), to img2img otherwise.
HIRES_PREFIX = "Hires "
HIRES_EXTRA_KEYS = ("First pass size",)
#: The order A1111 writes its parameters in (processing.create_infotext), for format_a1111.
WRITE_ORDER = (
    "Steps", "Sampler", "Schedule type", "CFG scale", "Seed", "Size", "Model hash", "Model", "VAE hash", "VAE",
    "Denoising strength", "Clip skip", "ENSD", "RNG",
)


@dataclass
class Infotext:
    prompt: str
    negative_prompt: str
    params: dict[str, Any] = field(default_factory=dict)   # key -> str (unquoted) or dict (bare JSON)
    param_line: str = ""


def unquote(text: str) -> str:
    """A1111's unquote: a JSON string literal if it is one, else the text unchanged."""
    if len(text) == 0 or text[0] != '"' or text[-1] != '"':
        return text
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return text
    return value if isinstance(value, str) else text


def quote(value: str) -> str:
    """Quote a value the way A1111 does, plus the cases A1111's own quote() gets wrong.

    A1111 quotes values containing ``,`` ``:`` or a newline. We also quote
    values that start with ``"`` (A1111 would unquote them on reading), that
    have leading/trailing whitespace (the reader strips it), that are empty
    (A1111's reader drops ``Key: ``) or that contain ``{`` at the start (our
    reader would take it for a JSON object).
    """
    if (value == "" or any(c in value for c in ",:\n") or value[0] in '"{' or value != value.strip()):
        return json.dumps(value, ensure_ascii=False)
    return value


_RE_NONSPACE = re.compile(r"\S")
_RE_KEY_RUN = re.compile(r"[\w \-/]*")       # a (possibly empty) run of key characters
_RE_KEY_START = re.compile(r"\w[\w \-/]")
_RE_QUOTED_BODY = re.compile(r'(?:\\.|[^\\"])*')


def _match_end(rx: re.Pattern[str], s: str, pos: int) -> int:
    m = rx.match(s, pos)   # the patterns above match the empty string, so m is never None
    return m.end() if m else pos


def find_params(line: str) -> list[tuple[str, str, int, int]]:
    r"""``RE_PARAM.findall(line)`` in linear time: [(key, raw value, value start, match end)].

    A1111's expression backtracks quadratically on long runs of word
    characters without a colon (a 50 kB line takes half a minute), so a
    hostile file could stall a reader. This scanner gives the same matches
    (a differential test checks it against the regular expression) in O(n),
    each step a regular-expression scan that cannot backtrack (so the work is
    done in C, not a Python loop per character):

    * a key is a maximal run of ``[\w \-/]`` directly followed by ``:``; the
      match starts at the first position from which ``\s*`` reaches a ``\w``
      character that still has at least one run character after it; when the
      run is not followed by ``:``, no match starts anywhere inside it, so the
      scan resumes at its end;
    * the value is a JSON-style quoted string when the closing quote is
      followed by ``,`` or the end of the line, else everything up to the next
      ``,``.
    """
    n = len(line)
    if "\n" in line:
        raise ValueError("find_params works on one line")
    out = []
    pos = 0
    while pos < n:
        found = False
        i = pos
        while True:
            # The earliest start that can match: \s* reaches a \w with a key character after it.
            m = _RE_KEY_START.search(line, i)
            if m is None:
                break
            j = m.start()
            b = _match_end(_RE_KEY_RUN, line, j)
            if b < n and line[b] == ":":
                found = True
                break
            i = b     # every start inside this run reaches the same non-colon end
        if not found:
            break
        key = line[j:b]
        m = _RE_NONSPACE.search(line, b + 1)
        v = m.start() if m else n
        end_quote = -1
        if v < n and line[v] == '"':
            e = _match_end(_RE_QUOTED_BODY, line, v + 1)
            end_quote = e if e < n and line[e] == '"' else -1
        if end_quote > v + 1 and (end_quote + 1 == n or line[end_quote + 1] == ","):
            value, vend = line[v:end_quote + 1], end_quote + 1
        else:
            comma = line.find(",", v)
            vend = n if comma < 0 else comma
            value = line[v:vend]
        mend = vend + 1 if vend < n else vend
        out.append((key, value, v, mend))
        pos = mend
        if mend == n:
            break
    return out


_MAX_JSON_VALUES = 16


def _scan_params(line: str, found: list[tuple[str, str, int, int]] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    decoder = json.JSONDecoder()
    json_tries = 0
    skip_until = 0
    for key, value, vstart, _end in (find_params(line) if found is None else found):
        if vstart < skip_until:
            continue
        if value.startswith(("{", "[")) and json_tries < _MAX_JSON_VALUES:
            json_tries += 1
            try:
                obj, end = decoder.raw_decode(line, vstart)
            except (ValueError, RecursionError):
                obj = None
            if isinstance(obj, (dict, list)):
                rest = end
                while rest < len(line) and line[rest].isspace():
                    rest += 1
                if rest == len(line) or line[rest] == ",":
                    out[key] = obj
                    skip_until = rest + 1
                    continue
        if value == "":
            # A1111 raises IndexError on v[0] for an empty value and skips the key.
            continue
        if value[0] == '"' and value[-1] == '"':
            value = unquote(value)
        out[key] = value
    return out


#: Longest parameter line read (A1111 lines are a few kB; the scan is linear but in pure Python).
MAX_PARAM_LINE = 1 << 20


def parse_infotext(text: str) -> Infotext:
    """Split A1111 infotext into prompt, negative prompt and raw parameters (A1111's algorithm)."""
    *lines, lastline = text.strip().split("\n")
    if len(lastline) > MAX_PARAM_LINE:
        raise ImportFailure(E_IMPORT_TOO_LARGE, f"A1111 parameter line of {len(lastline)} characters "
                                                f"exceeds {MAX_PARAM_LINE}")
    found = find_params(lastline)
    if len(found) < 3:
        lines.append(lastline)
        lastline, found = "", []
    prompt = ""
    negative = ""
    done_with_prompt = False
    for line in lines:
        line = line.strip()
        if line.startswith(NEGATIVE_PREFIX):
            done_with_prompt = True
            line = line[len(NEGATIVE_PREFIX):].strip()
        if done_with_prompt:
            negative += ("" if negative == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    return Infotext(prompt, negative, _scan_params(lastline, found), lastline)


def looks_like_infotext(text: str) -> bool:
    """True when the last line is an A1111 parameter line."""
    last = text.strip().split("\n")[-1]
    return len(last) <= MAX_PARAM_LINE and len(find_params(last)) >= 3


# ------------------------------------------------------------------ typed conversion

def parse_hash_list(value: str) -> dict[str, str]:
    """'name: hash, name2: hash2' (A1111 "Lora hashes" / "TI hashes") -> dict."""
    out: dict[str, str] = {}
    for part in value.split(","):
        name, sep, h = part.rpartition(":")
        if sep and name.strip():
            out[name.strip()] = h.strip()
    return out


def prompt_loras(prompt: str, limit: int | None = None) -> list[dict[str, Any]]:
    """The ``<lora:name:weight>`` / ``<lyco:...>`` tags of an A1111 prompt (linear-time scan), at most ``limit``."""
    out: list[dict[str, Any]] = []
    pos = 0
    while limit is None or len(out) < limit:
        gt = prompt.find(">", pos)
        if gt < 0:
            break
        segment = prompt[pos:gt]
        starts = [i for i in (segment.find("<lora:"), segment.find("<lyco:")) if i >= 0]
        pos = gt + 1
        if not starts:
            continue
        i = min(starts)
        kind = segment[i + 1:i + 5]
        name, *args = segment[i + 6:].split(":")
        if not name:
            continue
        entry: dict[str, Any] = {"name": name, "kind": kind}
        weights = []
        for a in args:
            if RE_NUMBER.match(a.strip() or "x"):
                weights.append(float(a))
            elif a.strip():
                entry.setdefault("args", []).append(a)
        entry["weight"] = weights[0] if weights else 1.0
        if len(weights) > 1:
            entry["weight_unet"] = weights[1]
        out.append(entry)
    return out


def detect_tool(params: dict[str, Any]) -> str:
    version = params.get("Version")
    version = version if isinstance(version, str) else ""
    if version.startswith("Fooocus"):
        return "Fooocus"
    # Forge "f2.0.1v1.10.1-...", reForge "f1.3.0-v1.10.1RC-...", Forge Classic "classic", Forge Neo "neo"
    if re.match(r"^f\d", version) or version.startswith(("classic", "neo")):
        return "Forge"
    if params.get("App") == "SD.Next":
        return "SD.Next"
    if version.startswith("ComfyUI"):
        return "ComfyUI"   # comfy-image-saver and similar nodes write infotext with "Version: ComfyUI"
    return "AUTOMATIC1111"


def to_generation(info: Infotext, *, container: str = "", raw: str | None = None,
                  tool: str | None = None) -> ImportedGeneration:
    """Typed ImportedGeneration from parsed infotext. Raises ImportFailure."""
    params = info.params
    if not params:
        raise ImportFailure(E_IMPORT_MALFORMED, "A1111 infotext has no parameter line (need at least 3 'key: value')")
    tool = tool or detect_tool(params)
    gen = ImportedGeneration(source_tool=tool, source_format="a1111-infotext",
                             container=container, prompt=info.prompt, negative_prompt=info.negative_prompt)
    # Fooocus's "a1111" scheme only borrows the layout: Fooocus parses prompts its own way (see fooocus.py).
    gen.prompt_syntax = {"Fooocus": None, "ComfyUI": "comfyui"}.get(tool, "a1111")
    if tool == "Fooocus":
        gen.add_lost(FOOOCUS_SYNTAX_LOST)
    if isinstance(params.get("Emphasis"), str):
        gen.emphasis = params["Emphasis"]
    if raw is not None:
        gen.raw[container or "parameters"] = raw
    hires: dict[str, Any] = {}
    has_hires = any(k.startswith(HIRES_PREFIX) for k in params)
    unnamed = 0
    for key, value in params.items():
        folded = FIELD_KEYS_FOLDED.get(key.casefold()) if key not in FIELD_KEYS else None
        if folded is not None and folded not in params:
            gen.add_note(f"A1111 parameter {key!r} read as {folded!r} (A1111 itself spells it so)")
            key = folded
        if key in FIELD_KEYS:
            attr, kind = FIELD_KEYS[key]
            setattr(gen, attr, _TYPED.typed(value, kind, key))
        elif key == SDNEXT_SCHEDULE_KEY and "Schedule type" not in params and isinstance(value, str):
            gen.schedule = value
            gen.add_note(f"SD.Next 'Sampler sigma: {value}' read as the schedule type")
        elif key == "Size":
            gen.width, gen.height = coerce_size(value, _RE_SIZE, "A1111 parameter Size:", "WIDTHxHEIGHT")
        elif key == "Denoising strength":
            d = _TYPED.float(value, key)
            if has_hires:
                hires["Denoising strength"] = d
            else:
                gen.denoise = d
        elif key.startswith(HIRES_PREFIX) or key in HIRES_EXTRA_KEYS:
            hires[key] = value
        else:
            gen.extra[key] = value
            if key not in HARMLESS_KEYS and not (isinstance(value, str) and (key, value) in DEFAULT_PARAMS):
                unnamed += 1
                if unnamed <= MAX_LOST_PARAMS:
                    shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    gen.add_lost(f"A1111 parameter '{key}: {shown[:200]}' has no field of its own (kept in extra)")
    if unnamed > MAX_LOST_PARAMS:
        gen.add_lost(f"{unnamed - MAX_LOST_PARAMS} more A1111 parameters have no field of their own (kept in extra)")
    for req in ("Steps", "Sampler", "Seed"):
        if req not in params:
            gen.add_note(f"A1111 infotext has no {req!r}")
    if hires:
        gen.hires = hires
        if "Hires upscale" in hires or "Hires resize" in hires:
            gen.add_lost("hires fix second pass (Hires upscale/steps/upscaler/denoise) needs its own pass "
                         "description; the typed fields describe the first pass only")
    # LoRAs: A1111 applies them from <lora:...> tags in the prompt; hashes come from "Lora hashes".
    hashes = parse_hash_list(params["Lora hashes"]) if isinstance(params.get("Lora hashes"), str) else {}
    loras = prompt_loras(info.prompt, MAX_LORAS + 1)
    if len(loras) > MAX_LORAS:
        del loras[MAX_LORAS:]
        gen.add_lost(f"more than {MAX_LORAS} LoRA tags in the prompt: only the first {MAX_LORAS} are listed")
    for entry in loras:
        if entry["name"] in hashes:
            entry["hash"] = hashes[entry["name"]]
    named = {e["name"] for e in loras}
    for name, h in list(hashes.items())[:MAX_LORAS]:
        if name not in named:
            loras.append({"name": name, "hash": h, "weight": None, "kind": "lora"})
    gen.loras = loras  # convert makes them the resources extension, or names them lost (importers/resources.py)
    if gen.schedule is None and gen.sampler is not None:
        gen.add_note("no 'Schedule type' (A1111 < 1.9): the schedule is implied by the sampler name")
    if gen.model_name is None:
        _civitai_model(gen, params)
    return gen


def _civitai_model(gen: ImportedGeneration, params: dict[str, Any]) -> None:
    """Civitai's generator names no "Model" but lists its checkpoint in "Civitai resources"."""
    res = params.get("Civitai resources")
    if isinstance(res, str) and res.lstrip().startswith("["):
        try:
            res = json.loads(res)
        except (ValueError, RecursionError):
            return
    if not isinstance(res, list):
        return
    ckpt = next((r for r in res if isinstance(r, dict) and r.get("type") == "checkpoint"
                 and isinstance(r.get("modelName"), str)), None)
    if ckpt is not None:
        gen.model_name = ckpt["modelName"]
        gen.add_note(f"model named from 'Civitai resources' (model {ckpt['modelName']!r}, version "
                     f"{ckpt.get('modelVersionName')!r}, id {ckpt.get('modelVersionId')!r}); no file name or hash")


def read_text(text: str, *, container: str = "", tool: str | None = None) -> ImportedGeneration:
    """Infotext -> ImportedGeneration (``tool`` overrides the tool the parameters name)."""
    return to_generation(parse_infotext(text), container=container, raw=text, tool=tool)


def detect(meta: RawMetadata) -> TextItem | None:
    """The ``parameters`` text (whatever it holds: a broken one is reported, not skipped), else
    the first EXIF / comment text whose last line is an A1111 parameter line."""
    params = meta.first("parameters")
    if params is not None:
        return params
    return meta.first_comment(looks_like_infotext)


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    # Fooocus's "a1111" metadata scheme writes infotext next to a fooocus_scheme chunk.
    scheme = meta.first("fooocus_scheme")
    fooocus = item.key == "parameters" and scheme is not None and scheme.value.strip() == "a1111"
    return read_text(item.value, container=item.container, tool="Fooocus" if fooocus else None)


FOOOCUS_SYNTAX_LOST = ("Fooocus prompt weights: '(word:1.1)' as ComfyUI parses it, but applied relative to the empty "
                       "prompt's encoding and then mean-restored (Fooocus modules/patch_clip.py): neither A1111's "
                       "nor ComfyUI's rule, so no registered prompt syntax")


# ------------------------------------------------------------------ writing

def _fmt_number(v: Any) -> str:
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def format_a1111(gen: ImportedGeneration) -> str:
    """Infotext for ``gen`` that A1111 (and :func:`parse_infotext`) parses back to the same fields.

    Raises ValueError when the record lacks what an infotext needs (the
    parameter line must have at least 3 entries) or a key cannot be written.
    """
    params: dict[str, str] = {}

    def put(key: str, value: Any) -> None:
        if value is None:
            return
        if not re.fullmatch(r"\w[\w \-/]+", key) or key != key.strip():
            raise ValueError(f"parameter key {key!r} cannot be written in A1111 infotext")
        if isinstance(value, (dict, list)):
            value = json.dumps(value, ensure_ascii=False)
        params[key] = quote(_fmt_number(value))

    put("Steps", gen.steps)
    put("Sampler", gen.sampler)
    put("Schedule type", gen.schedule)
    put("CFG scale", gen.cfg_scale)
    put("Seed", gen.seed)
    if gen.width is not None and gen.height is not None:
        params["Size"] = f"{gen.width}x{gen.height}"
    put("Model hash", gen.model_hash)
    put("Model", gen.model_name)
    put("VAE", gen.vae)
    if gen.denoise is not None and not gen.hires:
        put("Denoising strength", gen.denoise)
    put("Clip skip", gen.clip_skip)
    put("ENSD", gen.eta_noise_seed_delta)
    put("RNG", gen.rng)
    for key, value in (gen.hires or {}).items():
        put(key, value)
    for key, value in gen.extra.items():
        if key not in params and key != "Version":
            put(key, value)
    put("Version", gen.source_version if gen.source_version is not None else gen.extra.get("Version"))
    if len(params) < 3:
        raise ValueError("A1111 infotext needs at least 3 parameters (e.g. Steps, Sampler, Seed)")
    line = ", ".join(f"{k}: {v}" for k, v in params.items())
    prompt = gen.prompt or ""
    negative = gen.negative_prompt or ""
    text = prompt + (f"\n{NEGATIVE_PREFIX} {negative}" if negative else "") + "\n" + line
    return text


def a1111_representable(prompt: str, negative: str = "") -> bool:
    """True when ``prompt`` / ``negative`` read back unchanged after A1111's per-line strip()."""
    for text in (prompt, negative):
        lines = text.split("\n")
        if any(line != line.strip() for line in lines):
            return False
        if any(line.startswith(NEGATIVE_PREFIX) for line in lines):
            return False
        if text and lines[0] == "":
            return False   # a leading empty line is dropped
    return True
