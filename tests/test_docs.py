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
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("material", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed: pip install -e '.[docs]'")

from tools.docs import api_pages, cli_pages, home_page, repo_links  # noqa: E402

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
