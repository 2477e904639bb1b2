"""The website: `mkdocs build --strict` passes, every registry entry is on it with its wire code,
every internal link and #fragment resolves, SPEC.md and the other documents are included (not
copied), the API pages show the public functions with their docstrings, and (with Chromium) the
pages render.

One strict build into a temp dir serves every test of this module.
"""
from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("material", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed: pip install -e '.[docs]'")

from tools.docs import api_pages, cli_pages, home_page, rd_plot, repo_links  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
INCLUDED = {"SPEC.md": "spec", "conformance/GUIDE.md": "conformance/guide",
            "conformance/CONTRACT.md": "conformance/contract", "benchmarks/RESULTS.md": "benchmarks"}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                       cwd=ROOT, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout}\n{r.stderr}"
    return out


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, value)
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "a" and a.get("name") and a.get("name") != a.get("id"):
            self.ids.append(a["name"])
        for attr in ("href", "src"):
            if a.get(attr) is not None and tag in ("a", "link", "img", "script", "source", "iframe"):
                self.links.append((tag, attr, a[attr]))

    def handle_data(self, data):
        self.text.append(data)


_parsed: dict[Path, _Page] = {}


def parse(path: Path) -> _Page:
    if path not in _parsed:
        p = _Page()
        p.feed(path.read_text(encoding="utf-8"))
        _parsed[path] = p
    return _parsed[path]


def text_of(path: Path) -> str:
    return " ".join("".join(parse(path).text).split())


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html")


def tables() -> dict[str, dict]:
    out = {}
    for p in sorted((ROOT / "registry").glob("*.json")):
        d = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(d, dict) and isinstance(d.get("entries"), list):
            out[p.stem] = d
    return out


def source_of(module: str) -> Path | None:
    """reference/aigif/codec.py, or .../regen/__init__.py; None if the module is not in this checkout."""
    base = ROOT / "reference" / Path(*module.split("."))
    return next((p for p in (base.with_suffix(".py"), base / "__init__.py") if p.is_file()), None)


def test_expected_pages(site):
    expected = ["index.html", "spec.html", "registry/index.html", "conformance/guide.html",
                "conformance/contract.html", "cli.html", "api/index.html", "benchmarks.html", "changelog.html"]
    expected += [f"registry/{t}.html" for t in tables()]
    expected += [f"api/{m}.html" for m in api_pages.PACKAGES if source_of(m)]
    missing = [p for p in expected if not (site / p).is_file()]
    assert not missing, f"pages missing from the built site: {missing}"


@pytest.mark.parametrize("src, page", INCLUDED.items())
def test_documents_are_included_not_copied(site, src, page):
    """docs/ holds a page that includes the repository file, not a copy of it; the site shows its text."""
    stub = (ROOT / "docs" / f"{page}.md").read_text(encoding="utf-8")
    assert re.search(r'include-markdown\s+"(\.\./)+' + re.escape(src) + '"', stub), f"docs/{page}.md does not include {src}"
    assert len(stub) < 300, f"docs/{page}.md holds more than the include"
    original = (ROOT / src).read_text(encoding="utf-8")
    first = next(line.lstrip("#").strip() for line in original.splitlines() if line.startswith("#"))
    assert " ".join(re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", first).split()) in text_of(site / f"{page}.html")


def test_every_spec_heading_has_its_anchor(site):
    from pymdownx.slugs import slugify

    slug = slugify(case="lower")  # mkdocs.yml's toc: GitHub's rule, so SPEC.md's own #links work
    ids, fence = set(parse(site / "spec.html").ids), False
    for line in (ROOT / "SPEC.md").read_text(encoding="utf-8").splitlines():
        fence ^= line.startswith(("```", "~~~"))
        m = None if fence else re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if m:
            assert slug(re.sub(r"[`*]", "", m.group(1)), "-") in ids, f"SPEC.md heading {m.group(1)!r} has no anchor"


def wire_code(coded_as: str, entry: dict) -> str | None:
    """The entry's bytes on the wire as the registry pages show them (SPEC.md §3.2–§3.4, §3.9)."""
    c = coded_as.lower()
    if c.startswith("u4") or c.startswith("u(4)"):
        return f"{entry['id']:04b}"
    if c.startswith("exp"):
        return " ".join(["FF"] * (entry["id"] // 255) + [f"{entry['id'] % 255:02X}"])
    if c == "ue":
        return "0" * ((entry["id"] + 1).bit_length() - 1) + f"{entry['id'] + 1:b}"
    if c.startswith("uvarint"):
        tag, groups = entry["tag"], []
        while True:
            groups.append(tag & 0x7F | (0x80 if tag >> 7 else 0))
            tag >>= 7
            if not tag:
                return " ".join(f"{g:02X}" for g in groups)
    return None


def test_every_registry_entry_is_on_the_site(site):
    for stem, t in tables().items():
        page = site / "registry" / f"{stem}.html"
        html, ids, text = page.read_text(encoding="utf-8"), set(parse(page).ids), text_of(page)
        for entry in t["entries"]:
            key = entry["key"]
            assert key in text, f"{stem}: key {key!r} is not on its page"
            assert key in ids, f"{stem}: no anchor #{key} on registry/{stem}.html"
            want = wire_code(str(t.get("coded_as", "")), entry)
            if want is not None:
                m = re.search(rf'id="{re.escape(key)}"', html)
                assert f">{want}</code>" in html[m.start():m.start() + 4000], f"{stem}: {key} lacks its wire code {want}"


def test_internal_links_resolve(site):
    broken = []
    for page in pages(site):
        for _tag, attr, raw in parse(page).links:
            url = urlsplit(raw)
            if url.scheme or url.netloc or raw.startswith(("mailto:", "javascript:", "data:")):
                continue
            target = page
            if url.path:
                target = (page.parent / unquote(url.path)).resolve()
                target = target / "index.html" if target.is_dir() else target
                if not target.exists():
                    broken.append(f"{page.relative_to(site)}: {attr}={raw} (no such file)")
                    continue
            frag = unquote(url.fragment)
            if frag and target.suffix == ".html" and frag not in parse(target).ids:
                broken.append(f"{page.relative_to(site)}: {attr}={raw} (no id {frag!r} in {target.relative_to(site)})")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:50])


def test_nothing_is_loaded_from_elsewhere(site):
    """The site works offline: every stylesheet, script and image is its own."""
    external = [f"{p.relative_to(site)}: {raw}" for p in pages(site) for tag, attr, raw in parse(p).links
                if tag != "a" and (urlsplit(raw).scheme or raw.startswith("//"))]
    assert not external, "\n".join(external[:20])


def test_ids_are_unique(site):
    dupes = []
    for page in pages(site):
        seen = set()
        for i in parse(page).ids:
            if i in seen:
                dupes.append(f"{page.relative_to(site)}: #{i}")
            seen.add(i)
    assert not dupes, "duplicate ids:\n" + "\n".join(sorted(set(dupes))[:50])


def test_home_page_sizes(site):
    from aigif import codec, jsonform
    data = codec.write(jsonform.new(**home_page.PAPER_EXAMPLE))
    text = text_of(site / "index.html")
    for s in (f"{len(data)} bytes", "215 bytes", "1,907,472 bytes", "1,291,602 bytes"):
        assert s in text, f"the home page does not say {s!r}"
    assert (site / "assets" / "paper-example.aigif").read_bytes() == data
    html = (site / "index.html").read_text(encoding="utf-8")
    if (site / "assets" / "regenerated.png").exists():
        assert 'src="assets/regenerated.png"' in html
    else:
        assert "No regenerated image in this build" in html


def test_cli_page_lists_every_command(site):
    from aigif.cli import main as cli
    page = parse(site / "cli.html")
    ids, text = set(page.ids), "".join(page.text)
    programs = cli_pages.programs()
    assert {"aigif", "aigif-validate", "aigif-conformance"} <= set(programs)
    for name in cli.COMMANDS:
        assert cli_pages.anchor("aigif", name, programs) in ids, f"cli.html has no section for `aigif {name}`"
        assert f"aigif {name}" in text
    assert "usage: aigif" in text
    assert set(programs) <= ids


def test_cli_command_that_cannot_be_imported_is_listed(monkeypatch):
    from aigif.cli import main as cli
    monkeypatch.setitem(cli.COMMANDS, "frobnicate", ("no_such_module_xyz", "a command whose module is missing"))
    page = cli_pages.page()
    section = page[page.index("### `aigif frobnicate`"):].split("\n### ")[0]
    assert "A command whose module is missing." in section
    assert "Not available in this build" in section and "no_such_module_xyz" in section


def test_cli_examples_name_existing_commands():
    """Each example (tools/docs/cli_pages.py EXAMPLES) is of a program and subcommand the parsers have,
    and its lines start with that command."""
    import importlib
    programs = cli_pages.programs()
    for (prog, command), lines in cli_pages.EXAMPLES.items():
        assert prog in programs, f"example of unknown program {prog}"
        module, _, function = programs[prog].partition(":")
        parser, why = cli_pages.parser_of(getattr(importlib.import_module(module), function), [])
        assert parser is not None, why
        if command is not None:
            assert command in cli_pages.subcommands(parser), f"example of unknown command `{prog} {command}`"
        head = f"{prog} {command}" if command else prog
        assert lines and all(line.startswith(head) or line.startswith(prog) for line in lines), lines
        assert any(line.startswith(head) for line in lines), f"no example line runs `{head}`"


def test_cli_page_shows_examples(site):
    text = text_of(site / "cli.html")
    assert 'aigif encode --model tiny-sd1 --prompt "a red circle" -o x.aigif --png x.png' in text
    assert "aigif-validate FILE..." in text and "aigif list schedulers" in text


def _help_blocks(page: str, kind: str) -> list[str]:
    return re.findall(rf'<div class="aigif-help aigif-help-{kind}"[^>]*>\n\n```text\n(.*?)\n```\n\n</div>', page, re.S)


def test_cli_help_fits_a_phone():
    """Each --help is on the page twice: WIDE and NARROW columns (a phone, 390 px, gets the narrow
    one), with the same text; no line is longer than its width unless it is one part that cannot be
    broken (a choice list such as `aigif list`'s, an option with its values alone on its line)."""
    page = cli_pages.page()
    wide, narrow = _help_blocks(page, "wide"), _help_blocks(page, "narrow")
    assert len(wide) == len(narrow) > 10
    for w, n in zip(wide, narrow):
        assert "".join(w.split()) == "".join(n.split())  # only the line breaks and indents differ
        for text, width in ((w, cli_pages.WIDE), (n, cli_pages.NARROW)):
            for line in text.splitlines():
                part = line.strip()
                whole = len(cli_pages._USAGE_PART.findall(part)) == 1 or (part.startswith("-") and "  " not in part)
                assert len(line) <= width or whole, line
    encode = narrow[[i for i, w in enumerate(wide) if w.startswith("usage: aigif encode")][0]]
    assert "\n    [--negative-prompt NEGATIVE_PROMPT]\n" in encode  # usage: a 4-column hanging indent
    assert "\n  --seed SEED\n      the noise seed" in encode      # each option's help under it


def test_cli_narrow_help_is_not_searched_twice(site):
    """The narrow copy of each --help is left out of the search index (data-search-exclude, which
    Material's search plugin takes out of the page once it has read it)."""
    html = (site / "cli.html").read_text(encoding="utf-8")
    assert html.count('<div class="aigif-help aigif-help-narrow"') == html.count('<div class="aigif-help aigif-help-wide"') > 10
    assert html.count("usage: aigif info") == 2
    index = json.loads((site / "search" / "search_index.json").read_text(encoding="utf-8"))
    text = " ".join(d["text"] for d in index["docs"] if d["location"].startswith("cli.html"))
    assert text.count("usage: aigif info") == 1


def test_scheduler_notes_shared_by_many_rows_are_stated_once(site):
    html = (site / "registry" / "schedulers.html").read_text(encoding="utf-8")
    for note, count in _note_counts().items():
        shown = html.count(note.replace("'", "&#x27;"))
        assert shown == (1 if count >= 5 else count), (note, count, shown)


def _note_counts() -> dict[str, int]:
    out: dict[str, int] = {}
    for x in tables()["schedulers"]["entries"]:
        if x.get("note"):
            out[x["note"]] = out.get(x["note"], 0) + 1
    return out


def test_models_page(site):
    text = text_of(site / "models.html")
    for s in ("--model-dir KEY=DIR", "AIGIF_MODEL_DIR", "name:NAME=", "hash:HEX=", "model_index.json",
              "hf download REPO --revision REV --local-dir DIR", "single-file checkpoints are not supported yet",
              "bit-exact", "within-tolerance"):
        assert s in text, s


def test_home_page_install_section(site):
    text = text_of(site / "index.html")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for cmd in ('pip install -e ".[regen]" && aigif demo', 'pip install -e ".[dev]" && python -m pytest'):
        assert cmd in readme and cmd in text, cmd
    example = re.search(r"```python\n(.*?)```", readme, re.S).group(1)
    assert example.strip() in (ROOT / "docs" / "index.md").read_text(encoding="utf-8")


def _plain(doc: str) -> str:
    """A docstring's first line as the page shows it: without reST roles and Markdown marks."""
    first = doc.strip().split("\n\n")[0]
    first = re.sub(r":\w+:`~?\.?([^`]+)`", r"\1", first)
    return " ".join(re.sub(r"[`*]", "", first).split())[:60]


def test_api_pages_show_public_functions_with_docstrings(site):
    """Every public function and class of every documented module is on its page, with the first line of
    its docstring and its signature."""
    missing = []
    for module in api_pages.PACKAGES:
        src = source_of(module)
        if src is None:
            continue
        text = text_of(site / "api" / f"{module}.html")
        tree = ast.parse(src.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
                if isinstance(node, ast.FunctionDef) and f"{node.name}(" not in text:
                    missing.append(f"{module}.{node.name}: no signature")
                doc = ast.get_docstring(node)
                if doc and _plain(doc) not in text:
                    missing.append(f"{module}.{node.name}: docstring {_plain(doc)!r} not shown")
    assert not missing, "\n".join(missing)
    for page in (site / "api").glob("*.html"):  # the docstrings' reST is rendered, not shown
        html = page.read_text(encoding="utf-8")
        assert not re.search(r":(func|class|mod|meth|data|attr|exc|obj):[`~.\w]", text_of(page)), f"{page.name} shows reST roles"
        assert not re.search(r"<blockquote>\s*<blockquote>", html), f"{page.name} renders a >>> example as quotes"
    codec = text_of(site / "api" / "aigif.codec.html")
    assert all(s in codec for s in ("read(data", "validate(data", "write(f")), "aigif.codec lacks read, validate, write"
    assert "record(pipe" in text_of(site / "api" / "index.html")


def test_signatures_are_whole(site):
    """Long signatures are wrapped onto lines in their code block, not cut or hidden."""
    html = (site / "api" / "aigif.registry.html").read_text(encoding="utf-8")
    blocks = re.findall(r'<div class="doc-signature[^"]*"[^>]*>(.*?)</div>', html, re.S)
    assert blocks, "no signature blocks on the aigif.registry page"
    for block in blocks:
        for line in unescape(re.sub(r"<[^>]+>", "", block)).splitlines():  # as the reader sees it
            assert len(line) <= 100, f"a signature line is {len(line)} characters: {line!r}"


def _render(page: str, md: str, published: dict[str, str]) -> str:
    import markdown

    ext = repo_links.RepoLinks("docs")
    ext.pages, ext.page = published, page
    return markdown.markdown(md, extensions=[ext])


def test_links_to_repository_files_point_to_their_pages():
    published = {"conformance/CONTRACT.md": "conformance/contract.md", "SPEC.md": "spec.md",
                 "registry/models.json": "registry/models.md"}
    html = _render("conformance/guide.md",
                   "[c](../../conformance/CONTRACT.md#exit-codes) [s](../../SPEC.md#13-conformance) "
                   "[m](../../registry/models.json) [v](../../vectors/manifest.json) [d](../spec.md) "
                   "[w](https://example.org/x.md) [a](#here) `[kept](../../SPEC.md)`", published)
    assert 'href="contract.html#exit-codes"' not in html  # mkdocs turns .md into .html later
    assert 'href="contract.md#exit-codes"' in html
    assert 'href="../spec.md#13-conformance"' in html
    assert 'href="../registry/models.md"' in html
    assert "<span>v</span>" in html  # an unpublished file: the text stays, the link goes
    assert 'href="../spec.md"' in html and 'href="https://example.org/x.md"' in html and 'href="#here"' in html
    assert "[kept](../../SPEC.md)" in html


def test_browser_screenshots(site, tmp_path):
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the browser check needs it")
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "screenshot_site.py"), "--site", str(site),
                        "--out", str(tmp_path), "--page", "index.html", "--page", "spec.html",
                        "--page", "registry/schedulers.html", "--page", "api/aigif.codec.html"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


# ----------------------------------------------------------------------------- the inspector in a browser

INSPECTED = ["parse/all-sections.aigif", "parse/text-coder-prompt.aigif", "parse/text-coder-prompt-unicode.aigif"]
INSPECTED_REJECT = ["reject/body-length-0.aigif"]


def _program(name: str) -> str:
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    assert found, f"{name} (the reference package's command) is not installed"
    return found


def _json_leaves(value, path: str = "") -> list[tuple[str, object]]:
    """The inspector's table rows as (path, value): {"a": {"b": [1]}} -> [("a.b[0]", 1)]; {} and [] are leaves."""
    if isinstance(value, dict) and value:
        return [x for k, v in value.items() for x in _json_leaves(v, f"{path}.{k}" if path else k)]
    if isinstance(value, list) and value:
        return [x for i, v in enumerate(value) for x in _json_leaves(v, f"{path}[{i}]")]
    return [(path, value)]


def _inspect(site: Path, rel: str) -> str:
    """The inspector page's DOM after it loaded vectors/REL (inspector.html?file=...) in headless Chromium."""
    from tools import screenshot_site

    chromium = screenshot_site.find_chromium()
    if chromium is None:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the inspector check needs a browser")
    served = site / "_inspected"
    (served / rel).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "vectors" / rel, served / rel)
    server, base, failures, _ = screenshot_site.serve(site)
    try:
        with tempfile.TemporaryDirectory(prefix="aigif-chromium-") as profile:
            r = screenshot_site.run_chromium(chromium, ["--dump-dom", "--virtual-time-budget=15000"],
                                             f"{base}inspector.html?file=_inspected/{rel}", Path(profile))
    finally:
        server.shutdown()
        server.server_close()
    assert r.returncode == 0, r.stderr[-2000:]
    assert not failures, f"requests failed: {failures}"
    errors = screenshot_site.chromium_errors(r.stderr, base)
    assert not errors, errors
    assert 'data-aigif-done="true"' in r.stdout, f"the inspector did not finish with {rel}:\n{r.stdout[-3000:]}"
    return r.stdout


def test_inspector_assets_in_site(site):
    """The hook put js/src (without node.js), the generated registry module and the prompt model into the site."""
    lib = site / "assets" / "inspector" / "aigif"
    got = sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*.js"))
    want = sorted(p.relative_to(ROOT / "js" / "src").as_posix() for p in (ROOT / "js" / "src").rglob("*.js")
                  if p.name != "node.js") + ["registry_data.js"]
    assert got == sorted(set(want)), got
    assert (site / "assets" / "inspector" / "prompt_model.bin").read_bytes() == (ROOT / "registry" / "prompt_model.bin").read_bytes()
    assert "export default {" in (lib / "registry_data.js").read_text(encoding="utf-8")
    assert not (ROOT / "docs" / "assets" / "inspector" / "aigif").exists(), "docs/ keeps a copy of js/src"


@pytest.mark.parametrize("rel", INSPECTED)
def test_inspector_shows_what_aigif_info_prints(site, rel):
    """A valid file in the page: its JSON block is `aigif info`'s text, its table has every field with its value."""
    dom = _inspect(site, rel)
    info = subprocess.run([_program("aigif"), "info", str(ROOT / "vectors" / rel)], capture_output=True, text=True, check=True).stdout
    assert 'data-valid="true"' in dom, dom[-3000:]
    m = re.search(r'<code id="aigif-json">(.*?)</code>', dom, re.S)
    assert m, "no JSON block on the page"
    assert unescape(m.group(1)) == info.rstrip("\n")
    table = re.search(r'<table id="aigif-fields">.*?<tbody>(.*?)</tbody>', dom, re.S)
    assert table, "no field table on the page"
    body = table.group(1)
    rows = [(unescape(k), unescape(v)) for k, v in re.findall(r"<tr><td><code>(.*?)</code></td><td>(.*?)</td></tr>", body, re.S)]
    want = _json_leaves(json.loads(info))
    assert [k for k, _ in rows] == [k for k, _ in want]
    for (path, text), (_, value) in zip(rows, want):
        full = json.dumps(value, ensure_ascii=False)
        cut = re.fullmatch(r"(.{240})… \((\d+) characters\)", text, re.S)
        if cut:  # a long value: its first 240 characters and its length
            assert full.startswith(cut.group(1)) and int(cut.group(2)) == len(full), path
        else:
            shown = json.loads(text)
            assert shown == value and type(shown) is type(value), f"{path}: the page shows {text}, aigif info {full}"
    if "prompt" in rel:
        assert any(k == "text_coder" and v == '"prompt"' for k, v in rows)


@pytest.mark.parametrize("rel", INSPECTED_REJECT)
def test_inspector_shows_the_error_and_its_offset(site, rel):
    dom = _inspect(site, rel)
    r = subprocess.run([_program("aigif-validate"), "--json", str(ROOT / "vectors" / rel)], capture_output=True, text=True)
    err = json.loads(r.stdout)["error"]
    m = re.search(r'<p class="aigif-invalid" id="aigif-verdict" data-valid="false" data-code="([^"]*)" data-offset="([^"]*)">(.*?)</p>', dom, re.S)
    assert m, dom[-3000:]
    assert (m.group(1), int(m.group(2))) == (err["code"], err["offset"])
    text = unescape(re.sub(r"<[^>]+>", "", m.group(3)))
    assert f"{err['code']} at byte {err['offset']}" in text, text
    assert "<mark>" in dom, "the byte at the error is not marked in the hex dump"


def test_the_diffc_plot_is_drawn_from_the_pages_own_table():
    """docs/diffc.md's rate-distortion plot (tools/docs/rd_plot.py) has a point for every diffc budget
    of the table with a finite PSNR, and one per matched size of each lossy codec."""
    md = (ROOT / "docs" / "diffc.md").read_text()
    series = rd_plot.points(md)
    header, rows = rd_plot._rows(md)
    budgets = [r for r in rows if "steps" in r[header.index("codec or diffc budget")]]
    assert len(series["diffc"]) == sum(r[header.index("PSNR dB")] != "∞" for r in budgets) > 0
    assert {"WebP", "JPEG XL", "AVIF"} <= set(series)
    page = rd_plot.render(md)
    assert rd_plot.MARKER not in page and page.count("<circle") >= sum(len(v) for v in series.values())
