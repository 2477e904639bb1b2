"""mkdocs hooks of the AIGIF website (mkdocs.yml: ``hooks: [tools/docs_hooks.py]``).

Every page other than docs/index.md and docs/changelog.md is generated here at build
time from its single source, so the site cannot drift from the repository:

- spec.md                    <- SPEC.md; its own #anchor links work because the toc uses
                                GitHub's slug rule (mkdocs.yml)
- registry/index.md, <t>.md  <- registry/*.json, one page per table: every entry with its ID,
                                its wire bytes (exp-code hex, u(4) bits, uvarint tag) and fields
- conformance/guide.md       <- conformance/GUIDE.md    (a "Not yet written" stub if absent)
- conformance/contract.md    <- conformance/CONTRACT.md (likewise)
- cli.md                     <- the argparse help of every [project.scripts] program and of
                                each `aigif` subcommand (a note where a module cannot import)
- api/<module>.md            <- signatures and docstrings of aigif.* (inspect; no mkdocstrings)
- benchmarks.md              <- benchmarks/RESULTS.md (a placeholder if absent)
- assets/paper-example.aigif <- the paper's example, written by aigif.codec.write (home page)
- assets/regenerated.png     <- a PNG under vectors/ if there is one, else `aigif demo` run
                                once into the temp dir (cached by model hash; skipped when
                                AIGIF_DOCS_DEMO=0 or vectors/models/tiny-sd1 is absent), else
                                the home page says there is none

Included Markdown (SPEC.md, GUIDE.md, CONTRACT.md, RESULTS.md) keeps its text. Two things
are adapted at build time: links to other repository files point to the page made from that
file, or become plain text for files the site does not publish (images are copied in); and a
bullet list that directly follows a numbered one starts a new list, as in CommonMark.
Links to #anchors that SPEC.md does not define are left as text (tests/test_docs.py reports them).
"""
from __future__ import annotations

import argparse
import ast
import contextlib
import dataclasses
import hashlib
import html
import importlib
import importlib.util
import inspect
import io
import json
import logging
import os
import posixpath
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.aigif")

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT / "registry"
sys.path.insert(0, str(ROOT / "reference"))  # the source checkout, also without `pip install -e .`

# Registry tables in the order the site lists them; tables not named here follow alphabetically.
TABLE_ORDER = ["models", "families", "schedulers", "devices", "gpus", "cuda_versions", "dtypes",
               "noise_sources", "text_coders", "pixel_codecs", "model_compressors", "extensions"]
TABLE_LABELS = {"models": "Models", "families": "Families", "schedulers": "Schedulers", "devices": "Devices",
                "gpus": "GPUs", "cuda_versions": "CUDA versions", "dtypes": "Data types",
                "noise_sources": "Noise sources", "text_coders": "Text coders", "pixel_codecs": "Pixel codecs",
                "model_compressors": "Model compressors", "extensions": "Extensions"}

API_MODULES = ["aigif", "aigif.codec", "aigif.jsonform", "aigif.file", "aigif.errors", "aigif.registry"]
# Functions documented from source (ast), without importing their module's heavy dependencies.
API_FROM_SOURCE = {"aigif": [("aigif.regen.encode", "record")]}

# The paper's example (Gao et al., Table II), as tests/test_codec.py builds it.
PAPER_EXAMPLE = dict(model="sd-1.5", height=1024, width=1024, seed=829557441, prompt="A cute cat",
                     negative_prompt="worst quality", fields={"scheduler": "ddim", "steps": 50, "guidance": 7.5},
                     device="cuda", platform={"gpu": "gtx-1080-ti", "cuda": "cu121"}, dtype="float16",
                     noise="torch-cuda")
PAPER_SIZES = {"paper": 215, "png": 1_907_472, "jxl": 1_291_602}  # bytes, the paper's Table II

# Repository files that are published as pages: repo path -> page (src_uri).
INCLUDED_PAGES = {
    "SPEC.md": "spec.md",
    "conformance/GUIDE.md": "conformance/guide.md",
    "conformance/CONTRACT.md": "conformance/contract.md",
    "benchmarks/RESULTS.md": "benchmarks.md",
    "README.md": "index.md",
}

_state: dict = {}  # per build: what on_files learnt, for the later events


# --------------------------------------------------------------------------- small helpers

def e(text) -> str:
    """HTML-escape any value as text."""
    return html.escape(str(text), quote=True)


def code(text) -> str:
    return f"<code>{e(text)}</code>"


def expcode(n: int) -> bytes:
    """SPEC §3.3: floor(ID / 255) escape units 0xFF, then ID mod 255."""
    return b"\xff" * (n // 255) + bytes([n % 255])


def uvarint(n: int) -> bytes:
    """SPEC §3.2: unsigned LEB128."""
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def hexbytes(b: bytes) -> str:
    return " ".join(f"{x:02X}" for x in b)


def relurl(from_uri: str, to_uri: str) -> str:
    """Relative Markdown link between two docs pages (src URIs); mkdocs turns .md into .html."""
    target, _, frag = to_uri.partition("#")
    rel = posixpath.relpath(target, posixpath.dirname(from_uri) or ".") if target else ""
    return rel + (f"#{frag}" if frag else "")


def htmlurl(from_uri: str, to_uri: str) -> str:
    """The same link for raw HTML, which mkdocs leaves alone: the page's .html (use_directory_urls: false)."""
    target, _, frag = to_uri.partition("#")
    if target.endswith(".md"):
        target = target[:-3] + ".html"
    return relurl(from_uri.removesuffix(".md") + ".html", target + (f"#{frag}" if frag else ""))


def slug(text: str) -> str:
    """The anchor the site's toc gives a heading (mkdocs.yml: pymdownx.slugs.slugify, case=lower)."""
    from pymdownx.slugs import slugify
    return slugify(case="lower")(re.sub(r"[`*]", "", text), "-")


def spec_anchors() -> dict[str, str]:
    """SPEC.md headings: {"3.3": slug, "Appendix F": slug, slug: slug, ...}."""
    if "spec_anchors" in _state:
        return _state["spec_anchors"]
    out: dict[str, str] = {}
    path = ROOT / "SPEC.md"
    if path.exists():
        fence = False
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith(("```", "~~~")):
                fence = not fence
            m = None if fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
            if not m:
                continue
            s = slug(m.group(1))
            out[s] = s
            num = re.match(r"^(\d+(?:\.\d+)*)\.?\s", m.group(1))
            app = re.match(r"^(Appendix [A-Z])\b", m.group(1))
            sub = re.match(r"^([A-Z]\.\d+)\s", m.group(1))
            for k in (num, app, sub):
                if k:
                    out.setdefault(k.group(1), s)
    _state["spec_anchors"] = out
    return out


def spec_link(from_uri: str, ref: str, text: str | None = None) -> str:
    """HTML link to a SPEC.md section ("3.3", "Appendix F", "C.1"), or plain text if it has no heading."""
    a = spec_anchors().get(ref)
    label = e(text or (ref if ref.startswith("Appendix") else f"§{ref}"))
    return f'<a href="{e(htmlurl(from_uri, "spec.md#" + a))}">{label}</a>' if a else label


def linkify_spec_refs(from_uri: str, text: str) -> str:
    """Escape ``text`` and link its "SPEC.md §7.2" / "SPEC.md Appendix F" references."""
    out, pos = [], 0
    for m in re.finditer(r"SPEC\.md\s+(?:§\s*(\d+(?:\.\d+)*)|(Appendix [A-Z]))", text):
        out.append(e(text[pos:m.start()]))
        ref = m.group(1) or m.group(2)
        out.append(spec_link(from_uri, ref, m.group(0)))
        pos = m.end()
    out.append(e(text[pos:]))
    return "".join(out)


def add_page(files: Files, config, uri: str, content: str | bytes) -> None:
    old = files.get_file_from_path(uri)
    if old is not None:  # a generated page wins over a hand-written file of the same name
        log.info("docs_hooks: %s is generated; ignoring docs/%s", uri, uri)
        files.remove(old)
    files.append(File.generated(config, uri, content=content))


# --------------------------------------------------------------------------- included Markdown

_LINK = re.compile(r"(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]+)>?(\s+\"[^\"]*\")?\s*\)")
_REFDEF = re.compile(r"^( {0,3}\[[^\]]+\]:\s*)(\S+)(.*)$")


def _split_code(text: str):
    """Yield (is_code, chunk): fenced blocks and inline code spans are code."""
    parts = re.split(r"(^[ \t]*(```|~~~)[^\n]*\n.*?^[ \t]*\2[^\n]*$)", text, flags=re.M | re.S)
    i = 0
    while i < len(parts):
        chunk = parts[i]
        if i % 3 == 1:  # a fenced block (its fence marker follows as parts[i+1])
            yield True, chunk
            i += 2
            continue
        for j, piece in enumerate(re.split(r"((`+)(?:(?!\2).)+?\2)", chunk, flags=re.S)):
            if j % 3 == 0:
                yield False, piece
            elif j % 3 == 1:
                yield True, piece
        i += 1


_ITEM = re.compile(r"^( {0,3})(?:([-*+])|(\d{1,9})[.)])[ \t]+\S")


def split_mixed_lists(text: str) -> str:
    """CommonMark starts a new list when the marker type changes (``1.`` -> ``-``); Python-Markdown
    continues the old one. A blank line between the two items gives CommonMark's reading (with
    sane_lists), e.g. SPEC.md's contents: numbered sections, then bulleted appendices."""
    lines = text.split("\n")
    out = []
    for i, line in enumerate(lines):
        m, prev = _ITEM.match(line), _ITEM.match(lines[i - 1]) if i else None
        if m and prev and m.group(1) == prev.group(1) and (m.group(2) or "1") != (prev.group(2) or "1"):
            out.append("")
        out.append(line)
    return "\n".join(out)


def include_markdown(rel_source: str, page_uri: str, files: Files, config) -> str:
    """The text of repository file ``rel_source`` for page ``page_uri``, links rewritten."""
    src = ROOT / rel_source
    text = src.read_text(encoding="utf-8")
    base = posixpath.dirname(rel_source)
    missing_anchors: list[str] = []

    def target(raw: str, is_image: bool):
        """New link target, or None to drop the link (keep its text)."""
        if re.match(r"^[a-z][a-z0-9+.-]*:", raw, re.I) or raw.startswith("//"):
            return raw  # http:, mailto:, ...
        path, _, frag = raw.partition("#")
        if not path:  # an anchor of this very document
            if rel_source == "SPEC.md" and frag not in spec_anchors():
                missing_anchors.append(frag)
                return None
            return raw
        repo = posixpath.normpath(posixpath.join(base, path)).lstrip("/")
        if repo.startswith(".."):
            return None
        if repo in INCLUDED_PAGES:
            if INCLUDED_PAGES[repo] == "spec.md" and frag and frag not in spec_anchors():
                missing_anchors.append(frag)
                frag = ""
            return relurl(page_uri, INCLUDED_PAGES[repo] + (f"#{frag}" if frag else ""))
        m = re.match(r"^registry/([a-z0-9_]+)\.json$", repo)
        if m and (REGISTRY / f"{m.group(1)}.json").exists():
            return relurl(page_uri, f"registry/{m.group(1)}.md")
        if repo.rstrip("/") == "registry":
            return relurl(page_uri, "registry/index.md")
        f = ROOT / repo
        if is_image and f.is_file():
            uri = f"repo/{repo}"
            if files.get_file_from_path(uri) is None:
                files.append(File.generated(config, uri, abs_src_path=str(f)))
            return relurl(page_uri, uri)
        return None  # a repository file the site does not publish

    def fix_link(m: re.Match) -> str:
        bang, label, raw, title = m.group(1), m.group(2), m.group(3), m.group(4) or ""
        new = target(raw, bool(bang))
        if new is not None:
            return f"{bang}[{label}]({new}{title})"
        if bang:
            return f"*[image: {label or raw}]*"
        return label or f"`{raw}`"

    out = []
    for is_code, chunk in _split_code(text):
        if is_code:
            out.append(chunk)
            continue
        chunk = _LINK.sub(fix_link, chunk)
        chunk = split_mixed_lists(chunk)
        lines = []
        for line in chunk.split("\n"):
            m = _REFDEF.match(line)
            if m:
                new = target(m.group(2), False)
                line = f"{m.group(1)}{new if new is not None else '#'}{m.group(3)}"
            lines.append(line)
        out.append("\n".join(lines))
    if missing_anchors:
        # Left as text, not as a broken link; tests/test_docs.py reports them as a SPEC.md defect.
        log.info("docs_hooks: %s links to anchors it does not define: %s", rel_source,
                 ", ".join(f"#{a}" for a in sorted(set(missing_anchors))))
    _state.setdefault("missing_anchors", {})[rel_source] = sorted(set(missing_anchors))
    return "".join(out)


def front_matter(*hide: str) -> str:
    return "---\nhide:\n" + "".join(f"  - {h}\n" for h in hide) + "---\n\n"


def page_spec(files, config) -> str:
    src = ROOT / "SPEC.md"
    if not src.exists():
        return "# Specification\n\n!!! warning \"SPEC.md is missing from this checkout.\"\n"
    # a single page in its tab: the left navigation would be empty, the right one holds the sections
    return front_matter("navigation") + include_markdown("SPEC.md", "spec.md", files, config)


def page_included(rel: str, uri: str, title: str, absent: str, files, config) -> str:
    if (ROOT / rel).exists():
        return include_markdown(rel, uri, files, config)
    return (f"# {title}\n\n!!! note \"Not yet written\"\n\n    This page includes `{rel}` from the repository "
            f"when the build finds it; this checkout does not have it yet.\n\n{absent}\n")


# --------------------------------------------------------------------------- registry pages

def load_tables() -> dict[str, dict]:
    tables = {}
    for p in sorted(REGISTRY.glob("*.json")):
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as err:
            log.warning("docs_hooks: registry/%s is not valid JSON: %s", p.name, err)
            continue
        if isinstance(d, dict) and isinstance(d.get("entries"), list):
            tables[d.get("table") or p.stem] = {**d, "_file": p.name, "_stem": p.stem}
    order = [t for t in TABLE_ORDER if t in tables] + sorted(t for t in tables if t not in TABLE_ORDER)
    return {t: tables[t] for t in order}


def coding_kind(table: dict) -> str:
    c = str(table.get("coded_as", "")).lower().replace("(", "").replace(")", "")
    if c.startswith("u4"):
        return "u4"
    if c.startswith("exp"):
        return "exp"
    if c == "ue":
        return "ue"
    if c.startswith("uvarint"):
        return "uvarint"
    return "none"


def coding_label(table: dict) -> str:
    return {"u4": "u(4)", "exp": "exp-code", "ue": "ue (Exp-Golomb)", "uvarint": "uvarint tag", "none": "by key (no wire code)"}[coding_kind(table)]


def ue_bits(value: int) -> str:
    """Order-0 Exp-Golomb code of ``value`` (SPEC.md §3.4) as a bit string."""
    z = (value + 1).bit_length() - 1
    return "0" * z + format(value + 1, "b")


def wire_cell(table: dict, entry: dict) -> str:
    kind = coding_kind(table)
    if kind == "u4" and isinstance(entry.get("id"), int):
        i = entry["id"]
        return f'<code class="aigif-wire" title="u(4): the 4-bit value">{i:04b}</code>'
    if kind == "exp" and isinstance(entry.get("id"), int):
        return f'<code class="aigif-wire" title="exp-code units (SPEC §3.3)">{hexbytes(expcode(entry["id"]))}</code>'
    if kind == "ue" and isinstance(entry.get("id"), int):
        return f'<code class="aigif-wire" title="ue: Exp-Golomb bits (SPEC §3.4)">{ue_bits(entry["id"])}</code>'
    if kind == "uvarint" and isinstance(entry.get("tag"), int):
        return f'<code class="aigif-wire" title="uvarint tag (SPEC §3.2)">{hexbytes(uvarint(entry["tag"]))}</code>'
    return "—"


def key_cell(entry: dict, link: bool = False) -> str:
    c = f'<code class="aigif-key"><strong>{e(entry.get("key"))}</strong></code>'
    return f'<a href="#{e(entry.get("key"))}">{c}</a>' if link else c


class Reg:
    """Link helpers for registry pages."""

    def __init__(self, tables: dict, page_uri: str):
        self.tables, self.uri = tables, page_uri

    def ref(self, table: str, key, label=None) -> str:
        """A link to entry ``key`` of ``table`` (text only if there is no such entry)."""
        if key is None:
            return "—"
        t = self.tables.get(table)
        if t and any(x.get("key") == key for x in t["entries"]):
            href = htmlurl(self.uri, f"registry/{t['_stem']}.md#{key}")
            return f'<a href="{e(href)}"><code class="aigif-key">{e(label or key)}</code></a>'
        return f'<code class="aigif-key">{e(label or key)}</code>'

    def table_link(self, table: str) -> str:
        t = self.tables.get(table)
        if not t:
            return code(table)
        href = htmlurl(self.uri, f"registry/{t['_stem']}.md")
        return f'<a href="{e(href)}"><code>{e(table)}</code></a>'


def value_html(v, reg: Reg | None = None) -> str:
    """Any JSON value as compact HTML."""
    if v is None:
        return '<span class="aigif-dim">—</span>'
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, float)):
        return code(json.dumps(v))
    if isinstance(v, str):
        return linkify_spec_refs(reg.uri, v) if reg else e(v)
    if isinstance(v, list):
        if not v:
            return '<span class="aigif-dim">none</span>'
        if all(isinstance(x, str) for x in v):
            return ", ".join(code(x) for x in v)
        return "<br>".join(value_html(x, reg) for x in v)
    if isinstance(v, dict):
        if not v:
            return '<span class="aigif-dim">none</span>'
        return "<br>".join(f"{code(k)}: {value_html(x, reg)}" for k, x in v.items())
    return e(v)


def json_html(v) -> str:
    if v in ({}, None):
        return '<span class="aigif-dim">none</span>'
    return code(json.dumps(v, ensure_ascii=False, separators=(", ", ": ")))


def field_coding(fd: dict, reg: Reg, where: str) -> str:
    t = fd.get("type")
    if t == "uint":
        return f"uint {e(fd.get('min'))}–{e(fd.get('max'))} <span class=\"aigif-dim\">ue(value − {e(fd.get('min', 0))})</span>"
    if t == "dec":
        return f"dec {e(fd.get('min'))}–{e(fd.get('max'))}"
    if t == "ref":
        tab = fd.get("table", "?")
        kind = coding_label(reg.tables[tab]) if tab in reg.tables else "?"
        return f"ref {reg.table_link(tab)} <span class=\"aigif-dim\">{e(kind)}</span>"
    if t == "bytes":
        return f"bytes ≤ {e(fd.get('max_len'))} <span class=\"aigif-dim\">ue(len) + bytes</span>"
    if t == "str":
        return "str <span class=\"aigif-dim\">" + ("inline UTF-8" if where == "extension" else "in the text block") + "</span>"
    if t == "bool":
        return "bool <span class=\"aigif-dim\">u(1)</span>"
    return e(t)


def fields_table(fields: list[dict], reg: Reg, where: str) -> str:
    if not fields:
        return '<p class="aigif-dim">No fields.</p>'
    extra = sorted({k for f in fields for k in f} - {"name", "type", "min", "max", "table", "max_len", "default", "arg", "description"})
    head = ["#", "field", "coding", "default", "pipeline argument", "description"] + extra
    rows = []
    for i, f in enumerate(fields):
        default = f.get("default")
        if f.get("type") == "ref" and isinstance(default, str):
            dcell = reg.ref(f.get("table", ""), default)
        else:
            dcell = json_html(default) if default != "" else '<code>""</code>'
        rows.append([str(i + 1), code(f.get("name")), field_coding(f, reg, where), dcell,
                     code(f["arg"]) if f.get("arg") else '<span class="aigif-dim">—</span>',
                     e(f.get("description", ""))] + [value_html(f.get(k), reg) for k in extra])
    return html_table(head, rows)


def html_table(head: list[str], rows: list[list[str]], row_ids: list[str | None] | None = None, cls: str = "aigif-reg") -> str:
    # Material styles only tables without a class: a class goes on a wrapping <div>
    out = [f'<div class="{cls}"">' if cls else "", "<table>", "<thead><tr>"]
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for i, r in enumerate(rows):
        rid = row_ids[i] if row_ids else None
        out.append(f'<tr id="{e(rid)}">' if rid else "<tr>")
        out += [f"<td>{c}</td>" for c in r]
        out.append("</tr>")
    out.append("</tbody></table>" + ("</div>" if cls else ""))
    return "".join(out) + "\n"


def humanize(k: str) -> str:
    special = {"media_type": "media type", "torch_device": "torch device", "torch_dtype": "torch dtype",
               "runs_on": "runs on", "device_names": "<code>get_device_name()</code> strings",
               "model_sha256": "model SHA-256", "spec": "specified in", "a1111": "AUTOMATIC1111",
               "comfyui": "ComfyUI (sampler, scheduler)", "class": "diffusers class", "config": "config overrides"}
    return special.get(k, k.replace("_", " "))


def table_intro(t: dict, reg: Reg) -> str:
    name = t.get("table") or t["_stem"]
    kind = coding_kind(t)
    how = {
        "u4": f"Coded as <strong>u(4)</strong>: the 4-bit value is the ID, so this table holds at most 16 entries "
              f"({spec_link(reg.uri, '3.9')}). The <em>wire</em> column shows the 4 bits.",
        "exp": f"Coded as an <strong>exp-code</strong> ({spec_link(reg.uri, '3.3')}): ID = 255·k + t is written as "
               f"k bytes <code>FF</code> then the byte t. The <em>wire</em> column shows those bytes in hex.",
        "ue": f"Coded as <strong>ue</strong>, an order-0 Exp-Golomb code ({spec_link(reg.uri, '3.4')}, {spec_link(reg.uri, '3.9')}): "
              f"small IDs, the common entries, take few bits. The <em>wire</em> column shows the bits.",
        "uvarint": f"Each extension record starts with its <strong>tag</strong>, a uvarint ({spec_link(reg.uri, '3.2')}); "
                   f"bit 0 of the tag is the critical bit ({spec_link(reg.uri, '6.2')}). The <em>wire</em> column shows the tag's bytes.",
        "none": "Families have no wire code of their own: a model entry names its family, and the family's "
                f"<code>fields</code> give the syntax of the model-dependent part of the core ({spec_link(reg.uri, '5.2')}).",
    }[kind]
    n = len(t["entries"])
    return (f'<p>Table <code>{e(name)}</code>, from <code>registry/{e(t["_file"])}</code> '
            f'(schema <code>registry/schema/{e(t["_stem"])}.schema.json</code>): {n} entr{"y" if n == 1 else "ies"}. '
            f"{how}</p>\n")


def generic_table(t: dict, reg: Reg) -> str:
    entries = t["entries"]
    keys: list[str] = []
    for x in entries:
        keys += [k for k in x if k not in keys]
    first = [k for k in ("id", "tag") if k in keys]
    rest = [k for k in keys if k not in first + ["key", "fields"]]
    head = [k.upper() if k == "id" else k for k in first] + ["wire", "key"] + [humanize(k) for k in rest]
    if "fields" in keys:
        head.append("fields")
    rows, ids = [], []
    for x in entries:
        r = [code(x.get(k)) if x.get(k) is not None else "—" for k in first] + [wire_cell(t, x), key_cell(x)]
        r += [value_html(x.get(k), reg) for k in rest]
        if "fields" in keys:
            fl = x.get("fields") or []
            r.append(", ".join(f"{code(f['name'])} {field_coding(f, reg, t.get('table'))}" for f in fl)
                     or '<span class="aigif-dim">none</span>')
        rows.append(r)
        ids.append(x.get("key"))
    return html_table(head, rows, ids)


def page_table(t: dict, tables: dict) -> str:
    name = t.get("table") or t["_stem"]
    uri = f"registry/{t['_stem']}.md"
    reg = Reg(tables, uri)
    title = t.get("title") or TABLE_LABELS.get(name, name)
    sections = name in ("models", "families", "extensions")  # pages with per-entry sections keep their toc
    out = ["" if sections else front_matter("toc"), f"# {title}\n\n", table_intro(t, reg), "\n"]
    renderer = {"models": models_body, "families": families_body, "schedulers": schedulers_body,
                "extensions": extensions_body}.get(name)
    out.append(renderer(t, reg) if renderer else generic_table(t, reg))
    other = {k: v for k, v in t.items() if k not in ("$schema", "table", "title", "coded_as", "entries") and not k.startswith("_")}
    if other:
        out.append("\n## Table properties\n\n")
        out.append(html_table(["property", "value"], [[code(k), value_html(v, reg)] for k, v in other.items()]))
    return "".join(out)


def models_body(t: dict, reg: Reg) -> str:
    head = ["ID", "wire", "key", "name", "family", "status"]
    rows = []
    for x in t["entries"]:
        rows.append([code(x.get("id")), wire_cell(t, x), key_cell(x, link=True),
                     e(x.get("name", "")), reg.ref("families", x.get("family")), e(x.get("status", ""))])
    out = ["## All models\n\n", html_table(head, rows), "\n"]
    shown = {"id", "key", "name", "family", "default_scheduler", "status", "fields"}
    for x in t["entries"]:
        out.append(f"\n## `{x['key']}` — {md_text(x.get('name', ''))} {{#{x['key']} data-toc-label=\"{x['key']}\"}}\n\n")
        props = [["ID", code(x.get("id"))], [f"wire ({coding_label(t)})", wire_cell(t, x)],
                 ["family", reg.ref("families", x.get("family"))],
                 ["default scheduler", reg.ref("schedulers", x.get("default_scheduler"))],
                 ["status", e(x.get("status", ""))]]
        src = x.get("source")
        if isinstance(src, dict):
            srows = []
            for k, v in src.items():
                if k == "hub_repo" and v:
                    srows.append(f"hub repo {code(v)}")
                elif k == "local" and v:
                    srows.append(f"local directory {code(v)}")
                elif v is not None:
                    srows.append(f"{e(k.replace('_', ' '))}: {value_html(v, reg) if not isinstance(v, dict) else json_html(v)}")
            props.append(["source", "<br>".join(srows) or "—"])
        else:
            props.append(["source", '<span class="aigif-dim">none: resolved only through a mapping the user provides (SPEC ' + spec_link(reg.uri, "5.3") + ")</span>"
                          if x.get("unregistered") else value_html(src, reg)])
        for k, v in x.items():
            if k in shown or k == "source":
                continue
            label = {"a1111_hashes": "AUTOMATIC1111 hashes", "file_names": "checkpoint file names",
                     "pipeline_defaults": "pipeline defaults", "unregistered": "unregistered"}.get(k, humanize(k))
            props.append([e(label), json_html(v) if isinstance(v, dict) else value_html(v, reg)])
        out.append(html_table(["property", "value"], props, cls="aigif-reg aigif-props"))
        if x.get("fields"):
            out.append("\n**Model fields** (coded after the family fields):\n\n")
            out.append(fields_table(x["fields"], reg, "model"))
    return "".join(out)


def md_text(s: str) -> str:
    """Plain text safe inside a Markdown heading."""
    return re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", str(s))


def families_body(t: dict, reg: Reg) -> str:
    out = []
    core = t.get("core_strings")
    if core:
        out.append("Every file carries these strings (the core strings), before the family's own "
                   f"<code>str</code> fields ({spec_link(reg.uri, '7.1')}):\n\n")
        out.append(fields_table(core, reg, "family"))
    models = reg.tables.get("models", {}).get("entries", [])
    head = ["key", "name", "pipeline", "size multiple", "models"]
    rows = []
    for x in t["entries"]:
        ms = [m["key"] for m in models if m.get("family") == x["key"]]
        rows.append([key_cell(x, link=True), e(x.get("name", "")),
                     code(x.get("pipeline")), code(x.get("size_multiple")), str(len(ms))])
    out += ["\n## All families\n\n", html_table(head, rows)]
    shown = {"key", "name", "pipeline", "fields", "components", "latent", "size_multiple", "scheduler_kind"}
    for x in t["entries"]:
        out.append(f"\n## `{x['key']}` — {md_text(x.get('name', ''))} {{#{x['key']} data-toc-label=\"{x['key']}\"}}\n\n")
        props = [["diffusers pipeline", code(x.get("pipeline"))],
                 ["scheduler kind", e(x.get("scheduler_kind", "—"))],
                 ["size multiple <em>g</em>", code(x.get("size_multiple")) + " <span class=\"aigif-dim\">height and width are multiples of g</span>"],
                 ["latent", json_html(x.get("latent"))],
                 ["components", "<br>".join(f"{code(k)}: {code(v)}" for k, v in (x.get("components") or {}).items()) or "—"]]
        for k, v in x.items():
            if k not in shown:
                props.append([e(humanize(k)), json_html(v) if isinstance(v, dict) else value_html(v, reg)])
        ms = [m for m in models if m.get("family") == x["key"]]
        props.append(["models", ", ".join(reg.ref("models", m["key"]) for m in ms) or "—"])
        out.append(html_table(["property", "value"], props, cls="aigif-reg aigif-props"))
        out.append(f"\n**Fields**, coded in this order after the seed ({spec_link(reg.uri, '5')}):\n\n")
        out.append(fields_table(x.get("fields") or [], reg, "family"))
    return "".join(out)


SCHEDULER_TOOLS = {"invokeai": "InvokeAI", "k_diffusion": "k-diffusion", "fooocus": "Fooocus", "novelai": "NovelAI"}


def schedulers_body(t: dict, reg: Reg) -> str:
    known = {"id", "key", "name", "class", "config", "a1111", "comfyui", "kind", "requires", "note"}
    head = ["ID", "wire", "key / name", "diffusers class<br>+ config overrides", "AUTOMATIC1111",
            "ComfyUI<br>(sampler + scheduler)", "other tools", "notes"]
    none = '<span class="aigif-dim">—</span>'
    rows, ids = [], []
    for x in t["entries"]:
        cls = code(x["class"]) if x.get("class") else '<span class="aigif-dim">the model\'s own</span>'
        cfg = "".join(f"<br>{code(k)} = {code(json.dumps(v))}" for k, v in (x.get("config") or {}).items())
        comfy = "<br>".join(" + ".join(code(p) for p in pair) if isinstance(pair, list) else code(pair)
                            for pair in x.get("comfyui") or []) or none
        a1111 = "<br>".join(code(n) for n in x.get("a1111") or []) or none
        other = []
        notes = []
        if x.get("kind"):
            notes.append(f"kind: {e(x['kind'])}")
        if x.get("requires"):
            notes.append("requires " + ", ".join(code(r) for r in x["requires"]))
        if x.get("note"):
            notes.append(e(x["note"]))
        for k, v in x.items():
            if k in known or v in (None, [], {}, ""):
                continue
            label = SCHEDULER_TOOLS.get(k, humanize(k))
            if isinstance(v, list) and all(isinstance(i, (str, list)) for i in v):
                other.append(f"{e(label)}: " + ", ".join(" + ".join(code(p) for p in i) if isinstance(i, list) else code(i) for i in v))
            else:
                notes.append(f"{e(label)}: {value_html(v, reg)}")
        rows.append([code(x.get("id")), wire_cell(t, x), f"{key_cell(x)}<br>{e(x.get('name', ''))}",
                     cls + cfg, a1111, comfy, "<br>".join(other) or none, "<br>".join(notes) or none])
        ids.append(x["key"])
    return (f"<p>The <code>scheduler</code> field replaces the pipeline's scheduler with "
            f"<code>Class.from_config(model_scheduler_config, **overrides)</code> ({spec_link(reg.uri, '12.3')}); "
            "the importers map the sampler names of other tools to these entries.</p>\n\n"
            + html_table(head, rows, ids))


def extensions_body(t: dict, reg: Reg) -> str:
    head = ["tag", "wire", "key", "critical", "name", "fields"]
    rows, ids = [], []
    for x in t["entries"]:
        fl = x.get("fields") or []
        rows.append([code(x.get("tag")), wire_cell(t, x), key_cell(x),
                     "yes" if x.get("critical") else "no (ignorable)", e(x.get("name", "")),
                     ", ".join(code(f["name"]) for f in fl) or "—"])
        ids.append(x["key"])
    out = [html_table(head, rows, ids)]
    for x in t["entries"]:
        out.append(f"\n## `{x['key']}` fields {{#{x['key']}-fields data-toc-label=\"{x['key']}\"}}\n\n")
        extra = {k: v for k, v in x.items() if k not in {"tag", "key", "critical", "name", "fields"}}
        if extra:
            out.append(html_table(["property", "value"], [[e(humanize(k)), value_html(v, reg)] for k, v in extra.items()], cls="aigif-reg aigif-props"))
        out.append(fields_table(x.get("fields") or [], reg, "extension"))
    return "".join(out)


def page_registry_index(tables: dict) -> str:
    reg = Reg(tables, "registry/index.md")
    rows = []
    for name, t in tables.items():
        href = f"{t['_stem']}.html"
        rows.append([f'<a href="{e(href)}"><strong>{e(TABLE_LABELS.get(name, name))}</strong></a>', code(name),
                     e(coding_label(t)), str(len(t["entries"])), e(t.get("title", ""))])
    return ("# The registry\n\n"
            f"<p>The registry ({spec_link(reg.uri, '8')}) is machine-readable JSON in <code>registry/</code>, one file per "
            "table, each with a JSON Schema in <code>registry/schema/</code>. Decoders use it to learn names, the syntax "
            "of model families, devices and extensions, and how to build pipelines. These pages are generated from the "
            "JSON at build time.</p>\n\n"
            + html_table(["table", "name", "coded as", "entries", "title"], rows)
            + "\n## Reading the wire column\n\n"
            "<p>Every entry has a numeric ID (its code on the wire) and a key (its name in JSON); within a table both are "
            f"unique and never reused ({spec_link(reg.uri, '8.4')}).</p>\n\n"
            + html_table(["coded as", "wire", "examples"], [
                ["u(4)", "the 4 bits of the ID", "ID 1 → <code>0001</code>"],
                [f"exp-code ({spec_link(reg.uri, '3.3')})", "k bytes <code>FF</code>, then t, where ID = 255·k + t",
                 "0 → <code>00</code>, 254 → <code>FE</code>, 255 → <code>FF 00</code>, 510 → <code>FF FF 00</code>"],
                [f"uvarint tag ({spec_link(reg.uri, '3.2')})", "the extension tag as LEB128; bit 0 = critical",
                 "2 → <code>02</code>, 300 → <code>AC 02</code>"]]))


# --------------------------------------------------------------------------- CLI reference

class _Captured(Exception):
    def __init__(self, parser):
        self.parser = parser


@contextlib.contextmanager
def _capture_parsers():
    """Make parse_args raise with its parser instead of parsing, so help is read, not printed."""
    orig = argparse.ArgumentParser.parse_args

    def grab(self, *a, **k):
        raise _Captured(self)

    argparse.ArgumentParser.parse_args = grab
    env = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR", "PYTHON_COLORS")}
    os.environ.update(COLUMNS="90", NO_COLOR="1", PYTHON_COLORS="0")
    try:
        yield
    finally:
        argparse.ArgumentParser.parse_args = orig
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _parser_of(fn, argv) -> tuple[argparse.ArgumentParser | None, str]:
    err = io.StringIO()
    with _capture_parsers(), contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            fn(argv)
        except _Captured as c:
            return c.parser, ""
        except SystemExit:
            pass
        except Exception as exc:  # noqa: BLE001 - any failure is reported on the page
            return None, f"{type(exc).__name__}: {exc}"
    return None, err.getvalue().strip() or "the command did not build its argument parser"


def _subparser_action(p: argparse.ArgumentParser):
    for a in p._actions:  # noqa: SLF001 - argparse has no public accessor
        if isinstance(a, argparse._SubParsersAction):  # noqa: SLF001
            return a
    return None


def _subparsers(p: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    a = _subparser_action(p)
    return dict(a.choices) if a else {}


def cli_anchor(prog: str, command: str, programs) -> str:
    """cli.html#aigif-info; a subcommand named like another program gets a suffix
    (`aigif conformance` -> #aigif-conformance-command, `aigif-conformance` keeps #aigif-conformance)."""
    a = f"{prog}-{command}"
    return f"{a}-command" if a in programs else a


def _help_block(text: str) -> str:
    return "```text\n" + text.rstrip() + "\n```\n"


def project_scripts() -> dict[str, str]:
    """[project.scripts] of pyproject.toml (tomllib is Python 3.11+; the project supports 3.10)."""
    try:
        text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return {}
    try:
        import tomllib
        return dict(tomllib.loads(text).get("project", {}).get("scripts", {}))
    except ImportError:
        m = re.search(r"^\[project\.scripts\]\s*$(.*?)(?=^\[|\Z)", text, re.M | re.S)
        return dict(re.findall(r'^\s*"?([\w.-]+)"?\s*=\s*"([^"]+)"', m.group(1), re.M)) if m else {}
    except ValueError:
        return {}


def page_cli() -> str:
    scripts = project_scripts() or {"aigif": "aigif.cli.main:main"}
    out = [front_matter("navigation"), "# Command-line reference\n\n",
           "Generated at build time from the programs' own `--help` (argparse), so it matches the installed "
           "reference implementation. Commands whose module could not be imported in the build environment are "
           "listed with the reason.\n\n"]
    for prog, target in scripts.items():
        mod_name, _, fn_name = target.partition(":")
        out.append(f"## `{prog}` {{#{prog}}}\n\n")
        try:
            fn = getattr(importlib.import_module(mod_name), fn_name)
        except Exception as exc:  # noqa: BLE001
            out.append(f"!!! warning \"Not available in this build\"\n\n    `{mod_name}` could not be imported: "
                       f"`{type(exc).__name__}: {exc}`\n\n")
            continue
        parser, why = _parser_of(fn, [])
        if parser is None:
            out.append(f"!!! warning \"No help available\"\n\n    {why}\n\n")
            continue
        out.append(_help_block(parser.format_help()))
        subs = _subparsers(parser)
        commands = getattr(importlib.import_module(mod_name), "COMMANDS", None)
        helps = {a.dest: a.help for a in _subparser_action(parser)._choices_actions} if subs else {}  # noqa: SLF001
        for name, sp in subs.items():
            anchor = cli_anchor(prog, name, scripts)
            out.append(f"\n### `{prog} {name}` {{#{anchor}}}\n\n")
            if helps.get(name):
                out.append(f"{helps[name][:1].upper() + helps[name][1:]}.\n\n")
            if commands is not None and name in commands:
                # aigif's main imports a subcommand's module only when that command is chosen
                sub_parser, why = _parser_of(fn, [name])
                if sub_parser is None:
                    mod = commands[name][0] if isinstance(commands[name], tuple) else name
                    out.append(f"!!! warning \"Not available in this build\"\n\n    The module `aigif.cli.{mod}` "
                               f"could not be imported here: `{why.splitlines()[-1] if why else 'unknown error'}`\n\n")
                    continue
                sp = _subparsers(sub_parser).get(name, sp)
            out.append(_help_block(sp.format_help()))
    return "".join(out)


# --------------------------------------------------------------------------- Python API reference

def _ann(a) -> str:
    if a is inspect.Parameter.empty:
        return ""
    if isinstance(a, str):
        return a
    return inspect.formatannotation(a)


def _signature(obj) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return "(...)"
    if inspect.isclass(obj):  # a constructor returns its instance, not the `-> None` of __init__
        sig = sig.replace(return_annotation=inspect.Signature.empty)
    parts, kwonly_mark = [], False
    params = list(sig.parameters.values())
    for i, p in enumerate(params):
        if p.kind is p.KEYWORD_ONLY and not kwonly_mark:
            parts.append("*")
            kwonly_mark = True
        if p.kind is p.VAR_POSITIONAL:
            kwonly_mark = True
        s = {p.VAR_POSITIONAL: "*", p.VAR_KEYWORD: "**"}.get(p.kind, "") + p.name
        if p.annotation is not p.empty:
            s += f": {_ann(p.annotation)}"
        if p.default is not p.empty:
            d = p.default
            dr = "<factory>" if repr(d).startswith("<dataclasses._HAS_DEFAULT_FACTORY") else repr(d)
            s += f" = {dr}" if p.annotation is not p.empty else f"={dr}"
        parts.append(s)
        if p.kind is p.POSITIONAL_ONLY and (i + 1 == len(params) or params[i + 1].kind is not p.POSITIONAL_ONLY):
            parts.append("/")
    ret = f" -> {_ann(sig.return_annotation)}" if sig.return_annotation is not sig.empty else ""
    one = "(" + ", ".join(parts) + ")" + ret
    if len(one) <= 72:
        return one
    return "(\n" + "".join(f"    {p},\n" for p in parts) + ")" + ret  # one parameter a line


def _docstring_md(doc: str | None, known: dict[str, str]) -> str:
    """reST-flavoured docstring -> Markdown: ``x`` -> `x`; :func:`x` -> a link when x is documented here.

    ``known`` maps each documented qualified name to the module page that documents it."""
    if not doc:
        return ""

    def role(m: re.Match) -> str:
        name = m.group(1).lstrip("~.")
        cands = [name] if name in known else sorted(k for k in known if k.endswith("." + name))
        if cands:
            return f"[`{name}`](API_LINK::{known[cands[0]]}#{cands[0]})"
        return f"`{name}`"

    text = re.sub(r":(?:func|class|data|meth|attr|mod|exc|obj):`([^`]+)`", role, doc)
    text = re.sub(r"``([^`]+)``", r"`\1`", text)
    return text.strip() + "\n"


def _members(mod):
    out = []
    for name, obj in vars(mod).items():
        if name.startswith("_"):
            continue
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", None) == mod.__name__:
            try:
                line = inspect.getsourcelines(obj)[1]
            except (OSError, TypeError):
                line = 10 ** 9
            out.append((line, name, obj))
    return [(n, o) for _, n, o in sorted(out, key=lambda t: (t[0], t[1]))]


def _constants(mod):
    out = []
    for name, obj in vars(mod).items():
        if name.isupper() and not name.startswith("_") and isinstance(obj, (str, int, float, tuple, frozenset, set, list, dict)):
            out.append((name, obj))
    return out


def _const_repr(v) -> str:
    if isinstance(v, (set, frozenset)):
        r = "{" + ", ".join(repr(x) for x in sorted(v, key=repr)) + "}"
    else:
        r = repr(v)
    return r if len(r) <= 600 else f"{type(v).__name__} of {len(v)} items" if hasattr(v, "__len__") else r[:600] + "…"


def _class_doc(cls) -> str | None:
    doc = cls.__dict__.get("__doc__")
    if dataclasses.is_dataclass(cls) and doc and re.match(rf"^{re.escape(cls.__name__)}\(.*\)$", doc.strip(), re.S):
        return None  # the text dataclasses generates: the signature already says it
    return inspect.cleandoc(doc) if doc else None


def _from_source(modname: str, fn: str):
    """(signature, docstring) of function ``fn`` in module ``modname`` read with ast (no import)."""
    spec = importlib.util.find_spec(modname.rsplit(".", 1)[0])
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / (modname.rsplit(".", 1)[1] + ".py")
    if not path.exists():
        return None
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == fn:
            args = ast.unparse(node.args)
            ret = f" -> {ast.unparse(node.returns)}" if node.returns else ""
            return f"({args}){ret}", ast.get_docstring(node)
    return None


def api_pages() -> dict[str, str]:
    """{src_uri: markdown} for api/index.md and one page per module."""
    mods, failed = {}, {}
    for name in API_MODULES:
        try:
            mods[name] = importlib.import_module(name)
        except Exception as exc:  # noqa: BLE001
            failed[name] = f"{type(exc).__name__}: {exc}"
    known: dict[str, str] = {name: name for name in mods}
    for name, mod in mods.items():
        for n, o in _members(mod):
            known[f"{name}.{n}"] = name
            if inspect.isclass(o):
                known.update({f"{name}.{n}.{m}": name for m in vars(o) if not m.startswith("_")})
        known.update({f"{name}.{n}": name for n, _ in _constants(mod)})
    for name, extra in API_FROM_SOURCE.items():
        known.update({f"{m}.{f}": name for m, f in extra})

    pages = {}
    index = ["# Python API\n\n",
             "The public Python API of the reference implementation (`reference/aigif/`), generated at build time from "
             "its signatures and docstrings. `aigif.codec` reads, writes and validates files and needs only the core "
             "dependencies; `aigif.record` regenerates with torch and diffusers (the `regen` extra).\n\n",
             '<div class="aigif-reg" markdown>\n\n| module | summary |\n|---|---|\n']
    for name in API_MODULES:
        if name in failed:
            index.append(f"| `{name}` | not importable in this build: `{failed[name]}` |\n")
            pages[f"api/{name}.md"] = f"# `{name}` {{#{name}}}\n\n!!! warning \"Not importable in this build\"\n\n    `{failed[name]}`\n"
            log.warning("docs_hooks: cannot import %s for the API reference: %s", name, failed[name])
            continue
        mod = mods[name]
        summary = (inspect.getdoc(mod) or "").strip().split("\n\n")[0].replace("\n", " ")
        index.append(f"| [`{name}`]({name}.md) | {_docstring_md(summary, known).strip().replace('|', '&#124;')} |\n")
        md = [f"# `{name}` {{#{name}}}\n\n", _docstring_md(inspect.getdoc(mod), known), "\n"]
        consts = _constants(mod)
        if consts:
            md.append("## Constants\n\n")
            for n, v in consts:
                md.append(f"### `{n}` {{#{name}.{n} data-toc-label=\"{n}\"}}\n\n```python\n{n} = {_const_repr(v)}\n```\n\n")
        members = _members(mod)
        for n, o in members:
            kind = "class" if inspect.isclass(o) else "def"
            md.append(f"## `{n}` {{#{name}.{n} data-toc-label=\"{n}\"}}\n\n")
            md.append(f"```python\n{kind} {name}.{n}{_signature(o)}\n```\n\n")
            doc = _class_doc(o) if inspect.isclass(o) else inspect.getdoc(o)
            md.append(_docstring_md(doc, known) + "\n")
            if inspect.isclass(o):
                for mn, mo in vars(o).items():
                    if mn.startswith("_"):
                        continue
                    fn = mo.__func__ if isinstance(mo, (staticmethod, classmethod)) else mo
                    deco = "@classmethod\n" if isinstance(mo, classmethod) else "@staticmethod\n" if isinstance(mo, staticmethod) else ""
                    if isinstance(mo, property):
                        md.append(f"### `{n}.{mn}` {{#{name}.{n}.{mn} data-toc-label=\"{mn}\"}}\n\n*property*\n\n")
                        md.append(_docstring_md(inspect.getdoc(mo), known) + "\n")
                    elif inspect.isfunction(fn):
                        md.append(f"### `{n}.{mn}` {{#{name}.{n}.{mn} data-toc-label=\"{mn}\"}}\n\n")
                        md.append(f"```python\n{deco}def {mn}{_signature(fn)}\n```\n\n")
                        md.append(_docstring_md(inspect.getdoc(fn), known) + "\n")
        for srcmod, fn in API_FROM_SOURCE.get(name, []):
            got = _from_source(srcmod, fn)
            if got:
                sig, doc = got
                md.append(f"## `{srcmod}.{fn}` {{#{srcmod}.{fn} data-toc-label=\"{srcmod}.{fn}\"}}\n\n"
                          f"```python\ndef {srcmod}.{fn}{sig}\n```\n\n{_docstring_md(doc, known)}\n"
                          f"*Read from the source: importing `{srcmod}` needs the `regen` extra.*\n\n")
        pages[f"api/{name}.md"] = "".join(md)
    index.append("\n</div>\n")
    pages["api/index.md"] = "".join(index)
    # resolve cross-references now that every page is known
    for uri, text in pages.items():
        pages[uri] = re.sub(r"API_LINK::([\w.]+)#([\w.]+)",
                            lambda m, uri=uri: relurl(uri, f"api/{m.group(1)}.md#{m.group(2)}"), text)
    return pages


# --------------------------------------------------------------------------- home page pieces

def paper_example() -> tuple[bytes, dict]:
    from aigif import codec, jsonform
    f = jsonform.new(**PAPER_EXAMPLE)
    data = codec.write(f)
    return data, jsonform.to_json(codec.read(data))


def hexdump(data: bytes) -> str:
    lines = []
    for off in range(0, len(data), 16):
        chunk = data[off:off + 16]
        asc = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
        lines.append(f"{off:04x}  {' '.join(f'{b:02x}' for b in chunk):<47}  {asc}")
    return "\n".join(lines)


def paper_example_md() -> str:
    try:
        data, info = paper_example()
    except Exception as exc:  # noqa: BLE001 - a broken codec must not pass unnoticed
        log.warning("docs_hooks: cannot build the paper's example with aigif.codec: %s: %s", type(exc).__name__, exc)
        return "!!! failure \"The reference implementation could not write the example in this build.\"\n"
    _state["paper_bytes"] = data
    n = len(data)
    rows = [("AIGIF (this specification)", n, True), ("the paper's own layout (Table II)", PAPER_SIZES["paper"], False),
            ("JPEG XL, lossless (Table II)", PAPER_SIZES["jxl"], False), ("PNG (Table II)", PAPER_SIZES["png"], False)]
    import math
    top = math.log10(max(r[1] for r in rows))
    bars = ['<div class="aigif-bars">']
    for label, size, ours in rows:
        width = max(2.0, 100 * math.log10(size) / top)
        bars.append(f'<div class="aigif-bar-row{" aigif-ours" if ours else ""}"><span class="aigif-bar-label">{e(label)}</span>'
                    f'<span class="aigif-bar" style="width:{width:.1f}%"></span>'
                    f'<span class="aigif-bar-value">{size:,} bytes'
                    + ("" if ours else f' <span class="aigif-dim">({size / n:,.0f}×)</span>') + "</span></div>")
    bars.append('<p class="aigif-dim aigif-bar-note">Bar length on a logarithmic scale.</p></div>')
    appendix_d = spec_anchors().get("Appendix D")
    walk = (f" [Appendix D](spec.md#{appendix_d}) of the specification takes it apart bit by bit." if appendix_d else "")
    md = ["\n".join(bars), "\n\n",
          f"These are all **{n} bytes** of that file ([download it](assets/paper-example.aigif)), written by "
          f"the reference implementation when this site was built.{walk}\n\n",
          "```text\n", hexdump(data), "\n```\n\n",
          "??? example \"Every field in it, as `aigif info` prints them (§17)\"\n\n",
          "    ```json\n", textwrap.indent(json.dumps(info, indent=2, ensure_ascii=False), "    "), "\n    ```\n\n",
          "    The JSON field representation is defined in [§17](spec.md#17-the-json-field-representation); "
          "`aigif pack` turns it back into the same bytes.\n"]
    return "".join(md)


def _vector_png() -> tuple[Path, Path | None] | None:
    vec = ROOT / "vectors"
    if not vec.is_dir():
        return None
    pngs = sorted(p for p in vec.rglob("*.png") if "models" not in p.relative_to(vec).parts)
    if not pngs:
        return None

    def rank(p: Path):
        sib = p.with_suffix(".aigif")
        return (0 if "regen" in str(p.relative_to(vec)) else 1, 0 if sib.exists() else 1, str(p))

    best = sorted(pngs, key=rank)[0]
    sib = best.with_suffix(".aigif")
    return best, sib if sib.exists() else None


def _demo_png() -> tuple[Path, Path | None, str] | None:
    """Run `aigif demo` once (cached in the temp dir) when the conformance model is present."""
    if os.environ.get("AIGIF_DOCS_DEMO", "1") == "0":
        return None
    model = ROOT / "vectors" / "models" / "tiny-sd1"
    if not (model / "model_index.json").exists():
        return None
    h = hashlib.sha256()
    for p in sorted(model.rglob("*.json")) + [ROOT / "reference" / "aigif" / "cli" / "demo.py"]:
        h.update(p.read_bytes())
    out = Path(tempfile.gettempdir()) / f"aigif-docs-demo-{h.hexdigest()[:16]}"
    png, aig = out / "demo-regenerated.png", out / "demo.aigif"
    if not png.exists():
        log.info("docs_hooks: running `aigif demo --out %s` for the home page image", out)
        try:
            r = subprocess.run([sys.executable, "-m", "aigif.cli.main", "demo", "--out", str(out)],
                               capture_output=True, text=True, timeout=600, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT / "reference") + os.pathsep + os.environ.get("PYTHONPATH", "")})
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.info("docs_hooks: aigif demo failed: %s", exc)
            return None
        if r.returncode or not png.exists():
            log.info("docs_hooks: aigif demo failed (%s): %s", r.returncode, (r.stderr or r.stdout).strip()[-500:])
            return None
    return png, aig if aig.exists() else None, "aigif demo"


def demo_image_md(files: Files, config) -> str:
    found = _vector_png()
    how = None
    if found:
        png, aig = found
        how = f"the conformance vector {code(png.relative_to(ROOT).as_posix())}"
    else:
        demo = _demo_png()
        if demo:
            png, aig, _ = demo
            how = "<code>aigif demo</code>, run when this site was built"
    if not how:
        return ("!!! info \"No regenerated image in this build\"\n\n"
                "    The site shows a PNG from `vectors/` when the conformance vectors are present, or else runs "
                "`aigif demo` with the bundled conformance model (`vectors/models/tiny-sd1`). This checkout has "
                "neither yet; run `aigif demo` to see the whole loop on your machine.\n")
    add_page(files, config, "assets/regenerated.png", png.read_bytes())
    dims, width = "", 256
    head = png.read_bytes()[:24]
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        w, hgt = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
        dims = f" ({w}×{hgt} pixels{', shown enlarged' if w < 256 else ''})"
        width = max(w, 256) if w <= 512 else 512
    out = ['<div class="aigif-regen" markdown>\n\n', f'<figure class="aigif-figure"><img src="assets/regenerated.png" class="aigif-pixelated" width="{width}" '
           f'alt="An image regenerated from its AIGIF file"><figcaption>An image regenerated from its .aigif file{e(dims)}, '
           f"from {how}.</figcaption></figure>\n\n"]
    if aig is not None:
        add_page(files, config, "assets/regenerated.aigif", aig.read_bytes())
        size_note = (f"Its whole [`.aigif` file](assets/regenerated.aigif) is **{aig.stat().st_size} bytes**; the PNG "
                     f"is {png.stat().st_size:,} bytes.")
        try:
            from aigif import codec, jsonform
            info = jsonform.to_json(codec.read(aig.read_bytes()))
        except Exception:  # noqa: BLE001 - a vector may be made for a newer registry; the image still shows
            info = None
        if info:
            rows = [("model", info.get("model")), ("prompt", info.get("prompt")),
                    ("negative prompt", info.get("negative_prompt")),
                    ("size", f"{info.get('width')}×{info.get('height')}"), ("seed", info.get("seed"))]
            rows += [(k, v) for k, v in (info.get("fields") or {}).items() if not isinstance(v, (dict, list))]
            rows += [("dtype", info.get("dtype")), ("noise source", info.get("noise")), ("device", info.get("device"))]
            out.append('<div class="aigif-reg" markdown>\n\n| what the file stores | |\n|---|---|\n')
            empty = '<span class="aigif-dim">(empty)</span>'
            out += [f"| {e(k)} | {code(v) if v not in ('', None) else empty} |\n" for k, v in rows]
            out.append("\n</div>\n\n")
    out.append("</div>\n\n")
    if aig is not None:
        out.append(size_note)
    out.append("\nThe conformance images come from tiny models that ship with the test suite, so they regenerate "
               "offline in seconds; real models (SD 1.5, SDXL, FLUX, …) work the same way.\n")
    return "".join(out)


# --------------------------------------------------------------------------- benchmarks

def page_benchmarks(files, config) -> str:
    if (ROOT / "benchmarks" / "RESULTS.md").exists():
        text = include_markdown("benchmarks/RESULTS.md", "benchmarks.md", files, config)
        return text if text.startswith("---") else front_matter("navigation") + text
    scripts = []
    for p in sorted((ROOT / "benchmarks").glob("*.py")):
        try:
            doc = ast.get_docstring(ast.parse(p.read_text(encoding="utf-8"))) or ""
        except SyntaxError:
            doc = ""
        scripts.append(f"| `benchmarks/{p.name}` | {e(doc.strip().splitlines()[0]) if doc.strip() else ''} |")
    table = ("| script | what it measures |\n|---|---|\n" + "\n".join(scripts) + "\n") if scripts else ""
    return (front_matter("navigation") + "# Benchmarks\n\n!!! note \"No results yet\"\n\n    This page includes `benchmarks/RESULTS.md` when the build "
            "finds it; this checkout does not have it yet.\n\n"
            "Sizes quoted elsewhere on this site come from the paper (Table II) and from the reference "
            "implementation at build time.\n\n" + table)


# --------------------------------------------------------------------------- mkdocs events

def _expand_nav(nav, pages: dict[str, list[tuple[str, str]]]):
    """Replace {"Registry": "registry/index.md"} by a section with the generated pages."""
    out = []
    for item in nav or []:
        if isinstance(item, dict) and len(item) == 1:
            (title, value), = item.items()
            if isinstance(value, str) and value in pages:
                out.append({title: [value] + [{t: u} for t, u in pages[value]]})
                continue
            if isinstance(value, list):
                out.append({title: _expand_nav(value, pages)})
                continue
        out.append(item)
    return out


def on_config(config):
    _state.clear()
    tables = load_tables()
    reg_pages = [(TABLE_LABELS.get(n, t.get("title", n)), f"registry/{t['_stem']}.md") for n, t in tables.items()]
    api = [(m, f"api/{m}.md") for m in API_MODULES]
    config["nav"] = _expand_nav(config.get("nav"), {"registry/index.md": reg_pages, "api/index.md": api})
    return config


def on_files(files: Files, config):
    tables = load_tables()
    _state["tables"] = tables
    add_page(files, config, "spec.md", page_spec(files, config))
    add_page(files, config, "registry/index.md", page_registry_index(tables))
    for t in tables.values():
        add_page(files, config, f"registry/{t['_stem']}.md", page_table(t, tables))
    add_page(files, config, "conformance/guide.md", page_included(
        "conformance/GUIDE.md", "conformance/guide.md", "Conformance guide",
        "Meanwhile: the conformance classes and the suite are defined in "
        "[SPEC.md §13](../spec.md#13-conformance); the runner is "
        "[`aigif-conformance run --decoder CMD`](../cli.md#aigif-conformance).", files, config))
    add_page(files, config, "conformance/contract.md", page_included(
        "conformance/CONTRACT.md", "conformance/contract.md", "Decoder contract",
        "Meanwhile: [SPEC.md §13.2](../spec.md#132-the-conformance-suite) says what the suite holds; "
        "a decoder under test is a command that the runner calls for each vector.", files, config))
    add_page(files, config, "cli.md", page_cli())
    for uri, md in api_pages().items():
        add_page(files, config, uri, md)
    add_page(files, config, "benchmarks.md", page_benchmarks(files, config))
    # the home page's pieces (the files must exist before links are validated)
    _state["paper_md"] = paper_example_md()
    if "paper_bytes" in _state:
        add_page(files, config, "assets/paper-example.aigif", _state["paper_bytes"])
    _state["demo_md"] = demo_image_md(files, config)
    return files


def on_page_markdown(markdown: str, page, config, files):
    if page.file.src_uri == "index.md":
        markdown = markdown.replace("<!-- aigif:paper-example -->", _state.get("paper_md", ""))
        markdown = markdown.replace("<!-- aigif:regenerated-image -->", _state.get("demo_md", ""))
    return markdown


def on_serve(server, config, builder):
    """`mkdocs serve`: rebuild when a source of a generated page changes (only those that exist:
    mkdocs.yml's own `watch:` refuses missing paths)."""
    for p in ("SPEC.md", "registry", "reference/aigif", "tools/docs_hooks.py", "conformance", "benchmarks",
              "vectors", "pyproject.toml"):
        if (ROOT / p).exists():
            server.watch(str(ROOT / p))
    return server
