"""The registry pages: registry/index.md and one page per table of registry/*.json.

Every entry is shown with its ID, its key (also its anchor: registry/models.html#sd-1.5), its bytes
on the wire (SPEC.md §3, as aigif.wire writes them) and its fields. Tables are HTML, since Markdown
tables cannot carry row anchors; "SPEC.md §n" in the JSON becomes a link to that section.
"""
from __future__ import annotations

import json
import logging
import posixpath
import re
from html import escape
from pathlib import Path

from aigif import wire

log = logging.getLogger("mkdocs.hooks.aigif.registry")

# Tables in the order of the navigation; tables not named here follow alphabetically.
LABELS = {"models": "Models", "families": "Families", "schedulers": "Schedulers", "devices": "Devices",
          "gpus": "GPUs", "cuda_versions": "CUDA versions", "dtypes": "Data types", "noise_sources": "Noise sources",
          "text_coders": "Text coders", "pixel_codecs": "Pixel codecs", "model_compressors": "Model compressors",
          "extensions": "Extensions"}
WORDS = {"media_type": "media type", "torch_device": "torch device", "torch_dtype": "torch dtype", "runs_on": "runs on",
         "device_names": "<code>get_device_name()</code> strings", "model_sha256": "model SHA-256",
         "spec": "specified in", "a1111_hashes": "AUTOMATIC1111 hashes", "file_names": "checkpoint file names",
         "pipeline_defaults": "pipeline defaults", "invokeai": "InvokeAI", "k_diffusion": "k-diffusion",
         "a1111": "AUTOMATIC1111", "comfyui": "ComfyUI (sampler + scheduler)", "pairs": "(solver, schedule) pairs"}
DIM_NONE = '<span class="aigif-dim">none</span>'
DASH = '<span class="aigif-dim">—</span>'


# --------------------------------------------------------------------------- wire codes (SPEC.md §3)
# exp-code (§3.3) and uvarint (§3.2) bytes are the reference implementation's own; ue bits are shown
# as a bit string, which aigif writes only into a bit stream.

def ue_bits(n: int) -> str:
    """§3.4: order-0 Exp-Golomb, as bits."""
    return "0" * ((n + 1).bit_length() - 1) + format(n + 1, "b")


def hexbytes(b: bytes) -> str:
    return b.hex(" ").upper()


def coding(table: dict) -> str:
    """u4, exp, ue, uvarint or none, from the table's ``coded_as``."""
    c = re.sub(r"[()]", "", str(table.get("coded_as", "")).lower())
    return "ue" if c == "ue" else next((k for k in ("u4", "exp", "uvarint") if c.startswith(k)), "none")


CODING_LABELS = {"u4": "u(4)", "exp": "exp-code", "ue": "ue (Exp-Golomb)", "uvarint": "uvarint tag",
                 "none": "by key (no wire code)"}
WIRE = {"u4": ("id", "u(4): the 4-bit value", lambda i: f"{i:04b}"),
        "exp": ("id", "exp-code units (SPEC §3.3)", lambda i: hexbytes(wire.expcode_bytes(i))),
        "ue": ("id", "ue: Exp-Golomb bits (SPEC §3.4)", ue_bits),
        "uvarint": ("tag", "uvarint tag (SPEC §3.2)", lambda i: hexbytes(wire.uvarint(i)))}


def wire_cell(table: dict, entry: dict) -> str:
    field, title, show = WIRE.get(coding(table), (None, "", None))
    if field and isinstance(entry.get(field), int):
        return f'<code class="aigif-wire" title="{title}">{show(entry[field])}</code>'
    return "—"


# --------------------------------------------------------------------------- HTML pieces

def code(text) -> str:
    return f"<code>{escape(str(text))}</code>"


def html_table(head: list[str], rows: list[list[str]], ids: list | None = None, cls: str = "aigif-reg") -> str:
    """A table inside <div class=cls> (Material styles only tables without a class of their own)."""
    out = [f'<div class="{cls}"><table><thead><tr>', *(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        rid = ids[i] if ids else None
        out += [f'<tr id="{escape(rid)}">' if rid else "<tr>", *(f"<td>{c}</td>" for c in row), "</tr>"]
    return "".join(out) + "</tbody></table></div>\n"


def words(key: str) -> str:
    return WORDS.get(key, key.replace("_", " "))


def heading(entry: dict, suffix: str = "") -> str:
    name = re.sub(r"([\\`*_{}\[\]<>#|])", r"\\\1", str(entry.get("name", "")))
    title = f"`{entry['key']}` {suffix}" if suffix else f"`{entry['key']}` — {name}"
    anchor = entry["key"] + ("-" + suffix if suffix else "")
    return f'\n## {title} {{#{anchor} data-toc-label="{entry["key"]}"}}\n\n'


class Site:
    """What a page needs to link: the tables, the SPEC.md sections, the page's own src_uri."""

    def __init__(self, tables: dict, sections: dict[str, str], uri: str):
        self.tables, self.sections, self.uri = tables, sections, uri

    def href(self, src_uri: str) -> str:
        """A relative link to another page from raw HTML (mkdocs leaves it alone: .html, not .md)."""
        path, _, frag = src_uri.partition("#")
        rel = posixpath.relpath(path.removesuffix(".md") + ".html", posixpath.dirname(self.uri) or ".")
        return escape(rel + (f"#{frag}" if frag else ""))

    def spec(self, ref: str, text: str | None = None) -> str:
        """A link to SPEC.md section ``ref`` ("3.3", "Appendix F"), or the text alone if it has no heading."""
        label = escape(text or (ref if ref.startswith("Appendix") else f"§{ref}"))
        slug = self.sections.get(ref)
        return f'<a href="{self.href("spec.md#" + slug)}">{label}</a>' if slug else label

    def text(self, s: str) -> str:
        """Escaped text whose "SPEC.md §7.2" / "SPEC.md Appendix F" become links."""
        out, pos = [], 0
        for m in re.finditer(r"SPEC\.md\s+(?:§\s*(\d+(?:\.\d+)*)|(Appendix [A-Z]))", s):
            out += [escape(s[pos:m.start()]), self.spec(m.group(1) or m.group(2), m.group(0))]
            pos = m.end()
        return "".join(out) + escape(s[pos:])

    def ref(self, table: str, key) -> str:
        """Entry ``key`` of ``table``, linked when the table has it."""
        if key is None:
            return "—"
        t = self.tables.get(table)
        c = f'<code class="aigif-key">{escape(str(key))}</code>'
        if t and any(x.get("key") == key for x in t["entries"]):
            return f'<a href="{self.href("registry/" + t["_stem"] + ".md#" + str(key))}">{c}</a>'
        return c

    def table_link(self, table: str) -> str:
        t = self.tables.get(table)
        return f'<a href="{self.href("registry/" + t["_stem"] + ".md")}">{code(table)}</a>' if t else code(table)

    def value(self, v) -> str:
        """Any JSON value as compact HTML."""
        if v is None:
            return DASH
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, (int, float)):
            return code(json.dumps(v))
        if isinstance(v, str):
            return self.text(v)
        if not v:
            return DIM_NONE
        if isinstance(v, list):
            return ", ".join(map(code, v)) if all(isinstance(x, str) for x in v) else "<br>".join(map(self.value, v))
        if isinstance(v, dict):
            return "<br>".join(f"{code(k)}: {self.value(x)}" for k, x in v.items())
        return escape(str(v))

    def field_coding(self, fd: dict, where: str) -> str:
        t, lo, hi = fd.get("type"), escape(str(fd.get("min"))), escape(str(fd.get("max")))
        dim = '<span class="aigif-dim">{}</span>'.format
        if t == "uint":
            return f"uint {lo}–{hi} " + dim(f"ue(value − {escape(str(fd.get('min', 0)))})")
        if t == "dec":
            return f"dec {lo}–{hi}"
        if t == "ref":
            tab = fd.get("table", "?")
            return f"ref {self.table_link(tab)} " + dim(CODING_LABELS[coding(self.tables[tab])] if tab in self.tables else "?")
        if t == "bytes":
            return f"bytes ≤ {escape(str(fd.get('max_len')))} " + dim("ue(len) + bytes")
        if t == "str":
            return "str " + dim("inline UTF-8" if where == "extension" else "in the text block")
        return "bool " + dim("u(1)") if t == "bool" else escape(str(t))

    def fields(self, fields: list[dict], where: str) -> str:
        if not fields:
            return '<p class="aigif-dim">No fields.</p>'
        std = {"name", "type", "min", "max", "table", "max_len", "default", "arg", "description"}
        extra = sorted({k for f in fields for k in f} - std)
        rows = []
        for i, f in enumerate(fields):
            d = f.get("default")
            default = (self.ref(f.get("table", ""), d) if f.get("type") == "ref" and isinstance(d, str)
                       else '<code>""</code>' if d == "" else json_html(d))
            rows.append([str(i + 1), code(f.get("name")), self.field_coding(f, where), default,
                         code(f["arg"]) if f.get("arg") else DASH, escape(f.get("description", ""))]
                        + [self.value(f.get(k)) for k in extra])
        return html_table(["#", "field", "coding", "default", "pipeline argument", "description"] + extra, rows)

    def props(self, rows: list[list[str]], entry: dict, shown: set) -> str:
        """A property table: ``rows``, then every key of ``entry`` not in ``shown``."""
        rows = rows + [[words(k), json_html(v) if isinstance(v, dict) else self.value(v)]
                       for k, v in entry.items() if k not in shown]
        return html_table(["property", "value"], rows, cls="aigif-reg aigif-props")


def json_html(v) -> str:
    return DIM_NONE if v in ({}, None) else code(json.dumps(v, ensure_ascii=False, separators=(", ", ": ")))


def key_cell(entry: dict, link: bool = False) -> str:
    c = f'<code class="aigif-key"><strong>{escape(str(entry.get("key")))}</strong></code>'
    return f'<a href="#{escape(str(entry.get("key")))}">{c}</a>' if link else c


# --------------------------------------------------------------------------- one body per kind of table

def generic_body(t: dict, s: Site) -> str:
    keys = list(dict.fromkeys(k for x in t["entries"] for k in x))
    first = [k for k in ("id", "tag") if k in keys]
    rest = [k for k in keys if k not in first + ["key", "fields"]]
    head = [k.upper() if k == "id" else k for k in first] + ["wire", "key"] + [words(k) for k in rest]
    rows = []
    for x in t["entries"]:
        row = [code(x[k]) if x.get(k) is not None else "—" for k in first] + [wire_cell(t, x), key_cell(x)]
        row += [s.value(x.get(k)) for k in rest]
        if "fields" in keys:
            row.append(", ".join(f"{code(f['name'])} {s.field_coding(f, t['table'])}" for f in x.get("fields") or [])
                       or DIM_NONE)
        rows.append(row)
    return html_table(head + (["fields"] if "fields" in keys else []), rows, [x.get("key") for x in t["entries"]])


def models_body(t: dict, s: Site) -> str:
    rows = [[code(x.get("id")), wire_cell(t, x), key_cell(x, link=True), escape(x.get("name", "")),
             s.ref("families", x.get("family")), escape(x.get("status", ""))] for x in t["entries"]]
    out = ["## All models\n\n", html_table(["ID", "wire", "key", "name", "family", "status"], rows)]
    for x in t["entries"]:
        src = x.get("source")
        if isinstance(src, dict):
            source = "<br>".join(f"hub repo {code(v)}" if k == "hub_repo" else f"local directory {code(v)}"
                                 if k == "local" else f"{escape(words(k))}: {json_html(v) if isinstance(v, dict) else s.value(v)}"
                                 for k, v in src.items() if v is not None) or "—"
        elif x.get("unregistered"):
            source = ('<span class="aigif-dim">none: resolved only through a mapping the user provides (SPEC '
                      + s.spec("5.3") + ")</span>")
        else:
            source = s.value(src)
        rows = [["ID", code(x.get("id"))], [f"wire ({CODING_LABELS[coding(t)]})", wire_cell(t, x)],
                ["family", s.ref("families", x.get("family"))],
                ["default scheduler", s.ref("schedulers", x.get("default_scheduler"))],
                ["status", escape(x.get("status", ""))], ["source", source]]
        out += [heading(x), s.props(rows, x, {"id", "key", "name", "family", "default_scheduler", "status", "fields", "source"})]
        if x.get("fields"):
            out += ["\n**Model fields** (coded after the family fields):\n\n", s.fields(x["fields"], "model")]
    return "".join(out)


def families_body(t: dict, s: Site) -> str:
    out = []
    if t.get("core_strings"):
        out += ["Every file carries these strings (the core strings), before the family's own "
                f"<code>str</code> fields ({s.spec('7.1')}):\n\n", s.fields(t["core_strings"], "family")]
    models = s.tables.get("models", {}).get("entries", [])
    members = {x["key"]: [m["key"] for m in models if m.get("family") == x["key"]] for x in t["entries"]}
    rows = [[key_cell(x, link=True), escape(x.get("name", "")), code(x.get("pipeline")), code(x.get("size_multiple")),
             str(len(members[x["key"]]))] for x in t["entries"]]
    out += ["\n## All families\n\n", html_table(["key", "name", "pipeline", "size multiple", "models"], rows)]
    for x in t["entries"]:
        rows = [["diffusers pipeline", code(x.get("pipeline"))], ["scheduler kind", escape(x.get("scheduler_kind", "—"))],
                ["size multiple <em>g</em>", code(x.get("size_multiple"))
                 + ' <span class="aigif-dim">height and width are multiples of g</span>'],
                ["latent", json_html(x.get("latent"))],
                ["components", "<br>".join(f"{code(k)}: {code(v)}" for k, v in (x.get("components") or {}).items()) or "—"],
                ["models", ", ".join(s.ref("models", m) for m in members[x["key"]]) or "—"]]
        shown = {"key", "name", "pipeline", "fields", "components", "latent", "size_multiple", "scheduler_kind"}
        out += [heading(x), s.props(rows, x, shown),
                f"\n**Fields**, coded in this order after the seed ({s.spec('5')}):\n\n", s.fields(x.get("fields") or [], "family")]
    return "".join(out)


def _names(items) -> str:
    """["a", ["b", "c"]] -> `a`, `b` + `c`."""
    return ", ".join(" + ".join(map(code, i)) if isinstance(i, list) else code(i) for i in items)


def _names_or_value(v, s: Site) -> str:
    return _names(v) if isinstance(v, list) and v and all(isinstance(i, (str, list)) for i in v) else s.value(v)


def _tool_name(table: str, names) -> str:
    """A name as its tool writes it: A1111 (Sampler, Schedule type), ComfyUI (sampler_name, scheduler), others one string."""
    parts = [n for n in (names if isinstance(names, (list, tuple)) else [names]) if n]
    return " + ".join(map(code, parts))


def tool_names_section(t: dict, s: Site) -> str:
    """Every tool's sampler names and the entry each one resolves to (what the importers apply)."""
    from aigif.importers import samplers

    by_table: dict[str, list[tuple[str, str]]] = {}
    for key, tables in samplers.tool_names().items():
        for table, names in tables.items():
            by_table.setdefault(table, []).extend((_tool_name(table, n), key) for n in names)
    tools = t.get("tools", {})
    out = ["\n## Sampler names of other tools\n\n",
           "<p>What each tool writes in its metadata, and the entry the importers map it to "
           "(<code>python -m aigif.importers.samplers</code> prints the same as JSON). A name that is not listed "
           "has no registered equivalent and is reported as lost.</p>\n\n"]
    for table in sorted(by_table):
        used_by = ", ".join(tools.get(table, {}).get("used_by", [])) or table
        rows = [[name, s.ref("schedulers", key)] for name, key in sorted(by_table[table])]
        out += [f"\n### {escape(used_by)}\n\n", html_table(["name as written", "entry"], rows)]
    return "".join(out)


def schedulers_body(t: dict, s: Site) -> str:
    """Class and config first, then a column for each other key (pairs, ...), then notes; then every tool's names."""
    known = {"id", "key", "name", "class", "config", "kind", "requires", "note"}
    columns = list(dict.fromkeys(k for x in t["entries"] for k in x if k not in known))
    shared = shared_notes(t["entries"])
    rows = []
    for x in t["entries"]:
        cls = code(x["class"]) if x.get("class") else '<span class="aigif-dim">the model\'s own</span>'
        cls += "".join(f"<br>{code(k)} = {code(json.dumps(v))}" for k, v in (x.get("config") or {}).items())
        notes = ([f"kind: {escape(x['kind'])}"] if x.get("kind") else []) \
            + (["requires " + ", ".join(map(code, x["requires"]))] if x.get("requires") else []) \
            + ([escape(x["note"])] if x.get("note") and x["note"] not in shared else [])
        rows.append([code(x.get("id")), wire_cell(t, x), f"{key_cell(x)}<br>{escape(x.get('name', ''))}", cls]
                    + [_names_or_value(x[k], s) if x.get(k) not in (None, [], {}, "") else DASH for k in columns]
                    + ["<br>".join(notes) or DASH])
    head = ["ID", "wire", "key / name", "diffusers class<br>+ config overrides"] + [words(k) for k in columns] + ["notes"]
    return ("<p>The <code>scheduler</code> field replaces the pipeline's scheduler with "
            f"<code>Class.from_config(model_scheduler_config, **overrides)</code> ({s.spec('12.3')}); "
            "the importers map the sampler names of other tools to these entries.</p>\n\n"
            + notes_legend(shared)
            + html_table(head, rows, [x["key"] for x in t["entries"]], cls="aigif-reg aigif-schedulers")
            + tool_names_section(t, s))


def shared_notes(entries: list[dict], least: int = 5) -> dict[str, list[int]]:
    """{note: the IDs of its rows} for each note that at least ``least`` rows share: said once above the table."""
    ids: dict[str, list[int]] = {}
    for x in entries:
        if x.get("note"):
            ids.setdefault(x["note"], []).append(x.get("id"))
    return {n: v for n, v in ids.items() if len(v) >= least}  # in the order of the first row of each


def id_ranges(ids: list[int]) -> str:
    """[0, 2, 3, 4, 7] -> "0, 2–4, 7"."""
    out: list[list[int]] = []
    for i in sorted(i for i in ids if isinstance(i, int)):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in out)


def notes_legend(shared: dict[str, list[int]]) -> str:
    """The shared notes, once, with the IDs they apply to; the notes column then shows only what differs per row."""
    if not shared:
        return ""
    items = "".join(f"<li><strong>IDs {id_ranges(v)}</strong> ({len(v)} entries): {escape(n)}.</li>"
                    for n, v in shared.items())
    return ('<p>Notes shared by many entries, stated once here; the <em>notes</em> column shows only '
            f'what differs per entry:</p>\n<ul class="aigif-shared-notes">{items}</ul>\n\n')


def extensions_body(t: dict, s: Site) -> str:
    rows = [[code(x.get("tag")), wire_cell(t, x), key_cell(x), "yes" if x.get("critical") else "no (ignorable)",
             escape(x.get("name", "")), ", ".join(code(f["name"]) for f in x.get("fields") or []) or "—"]
            for x in t["entries"]]
    out = [html_table(["tag", "wire", "key", "critical", "name", "fields"], rows, [x["key"] for x in t["entries"]])]
    for x in t["entries"]:
        out.append(heading(x, "fields"))
        if set(x) - {"tag", "key", "critical", "name", "fields"}:
            out.append(s.props([], x, {"tag", "key", "critical", "name", "fields"}))
        out.append(s.fields(x.get("fields") or [], "extension"))
    return "".join(out)


SECTIONED = {"models", "families", "extensions"}
BODIES = {"models": models_body, "families": families_body, "schedulers": schedulers_body, "extensions": extensions_body}
HOW = {"u4": "Coded as <strong>u(4)</strong>: the 4-bit value is the ID, so this table holds at most 16 entries ({3.9}). "
             "The <em>wire</em> column shows the 4 bits.",
       "exp": "Coded as an <strong>exp-code</strong> ({3.3}): ID = 255·k + t is written as k bytes <code>FF</code> then "
              "the byte t. The <em>wire</em> column shows those bytes in hex.",
       "ue": "Coded as <strong>ue</strong>, an order-0 Exp-Golomb code ({3.4}, {3.9}): small IDs, the common entries, "
             "take few bits. The <em>wire</em> column shows the bits.",
       "uvarint": "Each extension record starts with its <strong>tag</strong>, a uvarint ({3.2}); bit 0 of the tag is "
                  "the critical bit ({6.2}). The <em>wire</em> column shows the tag's bytes.",
       "none": "Families have no wire code of their own: a model entry names its family, and the family's "
               "<code>fields</code> give the syntax of the model-dependent part of the core ({5.2})."}


def table_page(t: dict, s: Site) -> str:
    name, n = t["table"], len(t["entries"])
    how = re.sub(r"\{([\d.]+)\}", lambda m: s.spec(m.group(1)), HOW[coding(t)])
    out = ["" if name in SECTIONED else "---\nhide:\n  - toc\n---\n\n",  # a page with sections keeps its toc
           f"# {t.get('title') or LABELS.get(name, name)}\n\n",
           f'<p>Table <code>{escape(name)}</code>, from <code>registry/{t["_stem"]}.json</code> (schema '
           f'<code>registry/schema/{t["_stem"]}.schema.json</code>): {n} entr{"y" if n == 1 else "ies"}. {how}</p>\n\n',
           BODIES.get(name, generic_body)(t, s)]
    other = {k: v for k, v in t.items() if k not in ("$schema", "table", "title", "coded_as", "entries") and k[0] != "_"}
    if other:  # the data behind the entries (e.g. the schedulers' solver and schedule model): shown folded
        out += ["\n## Table properties\n\n"]
        for k, v in other.items():
            out.append(f"<details><summary><code>{escape(k)}</code></summary>\n\n"
                       + html_table(["property", "value"], [[code(k), s.value(v)]]) + "\n</details>\n")
    return "".join(out)


def index_page(tables: dict, s: Site) -> str:
    rows = [[f'<a href="{t["_stem"]}.html"><strong>{escape(LABELS.get(n, n))}</strong></a>', code(n),
             escape(CODING_LABELS[coding(t)]), str(len(t["entries"])), escape(t.get("title", ""))] for n, t in tables.items()]
    wire = [["u(4)", "the 4 bits of the ID", "ID 1 → <code>0001</code>"],
            [f"exp-code ({s.spec('3.3')})", "k bytes <code>FF</code>, then t, where ID = 255·k + t",
             "0 → <code>00</code>, 254 → <code>FE</code>, 255 → <code>FF 00</code>, 510 → <code>FF FF 00</code>"],
            [f"ue ({s.spec('3.4')})", "order-0 Exp-Golomb: the bits of ID + 1 after as many zeros less one",
             "0 → <code>1</code>, 1 → <code>010</code>, 4 → <code>00101</code>"],
            [f"uvarint tag ({s.spec('3.2')})", "the extension tag as LEB128; bit 0 = critical",
             "2 → <code>02</code>, 300 → <code>AC 02</code>"]]
    return ("# The registry\n\n"
            f"<p>The registry ({s.spec('8')}) is machine-readable JSON in <code>registry/</code>, one file per table, "
            "each with a JSON Schema in <code>registry/schema/</code>. Decoders use it to learn names, the syntax of "
            "model families, devices and extensions, and how to build pipelines. These pages are generated from the "
            "JSON at build time.</p>\n\n" + html_table(["table", "name", "coded as", "entries", "title"], rows)
            + "\n## Reading the wire column\n\n<p>Every entry has a numeric ID (its code on the wire) and a key (its "
            f"name in JSON); within a table both are unique and never reused ({s.spec('8.4')}).</p>\n\n"
            + html_table(["coded as", "wire", "examples"], wire))


# --------------------------------------------------------------------------- what the hook calls

def load_tables(root: Path) -> dict[str, dict]:
    """{table name: the JSON, with _stem} in navigation order."""
    tables = {}
    for p in sorted((root / "registry").glob("*.json")):
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as err:
            log.warning("registry_pages: registry/%s is not valid JSON: %s", p.name, err)
            continue
        if isinstance(d, dict) and isinstance(d.get("entries"), list):
            tables[d.get("table") or p.stem] = {"table": p.stem, **d, "_stem": p.stem}
    return dict(sorted(tables.items(), key=lambda kv: (list(LABELS).index(kv[0]) if kv[0] in LABELS else len(LABELS), kv[0])))


def spec_sections(root: Path, slugify) -> dict[str, str]:
    """SPEC.md's headings as {"3.3": anchor, "Appendix F": anchor, "C.1": anchor}; ``slugify(text)`` is the
    site's heading slug (mkdocs.yml's toc)."""
    out: dict[str, str] = {}
    path, fence = root / "SPEC.md", False
    for line in path.read_text(encoding="utf-8").splitlines() if path.exists() else []:
        fence ^= line.startswith(("```", "~~~"))
        m = None if fence else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        ref = m and re.match(r"^(\d+(?:\.\d+)*(?=\.?\s)|Appendix [A-Z]\b|[A-Z]\.\d+(?=\s))", m.group(1))
        if ref:
            out.setdefault(ref.group(1), slugify(re.sub(r"[`*]", "", m.group(1))))
    return out


def pages(root: Path, slugify) -> dict[str, str]:
    """{src_uri: Markdown} of every registry page."""
    tables, sections = load_tables(root), spec_sections(root, slugify)
    out = {"registry/index.md": index_page(tables, Site(tables, sections, "registry/index.md"))}
    for t in tables.values():
        uri = f"registry/{t['_stem']}.md"
        out[uri] = table_page(t, Site(tables, sections, uri))
    return out


def nav(root: Path) -> list[tuple[str, str]]:
    return [(LABELS.get(n, t.get("title", n)), f"registry/{t['_stem']}.md") for n, t in load_tables(root).items()]


def sources(root: Path) -> dict[str, str]:
    """{repository path: src_uri}: registry/models.json is published as registry/models.md."""
    return {"registry": "registry/index.md", **{f"registry/{t['_stem']}.json": f"registry/{t['_stem']}.md"
                                                for t in load_tables(root).values()}}
