"""The website (issue 6): `mkdocs build --strict` passes, every registry entry is on it, every
internal link and #fragment resolves, and (with Chromium) the pages render.

One strict build into a temp dir serves every test of this module.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install -e '.[docs]'")
pytest.importorskip("material", reason="the docs extra is not installed: pip install -e '.[docs]'")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import docs_hooks  # noqa: E402  (tools/docs_hooks.py: the hex codes and slugs the site uses)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    # AIGIF_DOCS_DEMO=0: no `aigif demo` run at build time (the home page uses a vectors/ PNG, or says none)
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "AIGIF_DOCS_DEMO": "0"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                       cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stdout}\n{r.stderr}"
    return out


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: list[str] = []
        self.links: list[tuple[str, str]] = []  # (attribute, value)
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(a["id"])
        if tag == "a" and a.get("name") and a.get("name") != a.get("id"):
            self.ids.append(a["name"])
        for attr in ("href", "src"):
            if a.get(attr) is not None and tag in ("a", "link", "img", "script", "source", "iframe"):
                self.links.append((attr, a[attr]))

    def handle_data(self, data):
        self.text.append(data)


_parsed: dict[Path, _Page] = {}


def parse(path: Path) -> _Page:
    if path not in _parsed:
        p = _Page()
        p.feed(path.read_text(encoding="utf-8"))
        _parsed[path] = p
    return _parsed[path]


def pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html") if p.name != "404.html")


def tables() -> dict[str, dict]:
    out = {}
    for p in sorted((ROOT / "registry").glob("*.json")):
        d = json.loads(p.read_text(encoding="utf-8"))
        if isinstance(d, dict) and isinstance(d.get("entries"), list):
            out[p.stem] = d
    return out


def test_expected_pages(site):
    expected = ["index.html", "spec.html", "registry/index.html", "conformance/guide.html",
                "conformance/contract.html", "cli.html", "api/index.html", "benchmarks.html", "changelog.html"]
    expected += [f"registry/{t}.html" for t in tables()]
    expected += [f"api/{m}.html" for m in docs_hooks.API_MODULES]
    missing = [p for p in expected if not (site / p).is_file()]
    assert not missing, f"pages missing from the built site: {missing}"


def test_spec_is_included_not_copied(site):
    # One source: docs/ holds no copy of SPEC.md; the page is generated from it at build time.
    spec = (ROOT / "SPEC.md").read_text(encoding="utf-8")
    for p in (ROOT / "docs").rglob("*.md"):
        assert p.read_text(encoding="utf-8").strip() != spec.strip(), f"{p} is a copy of SPEC.md"
    page = parse(site / "spec.html")
    ids = set(page.ids)
    fence = False
    for line in spec.splitlines():
        if line.startswith(("```", "~~~")):
            fence = not fence
        m = None if fence else re.match(r"^#{1,6}\s+(.*?)\s*$", line)
        if m:
            assert docs_hooks.slug(m.group(1)) in ids, f"SPEC.md heading {m.group(1)!r} has no anchor on spec.html"


def test_spec_md_anchor_links_have_headings():
    """SPEC.md's own (#...) links must name headings of SPEC.md (the site drops links that do not)."""
    spec = (ROOT / "SPEC.md").read_text(encoding="utf-8")
    docs_hooks._state.clear()  # read the SPEC.md of now, not a cached one
    anchors = set(docs_hooks.spec_anchors().values())
    links = sorted(set(re.findall(r"\]\(#([^)\s]+)\)", spec)))
    dangling = [a for a in links if a not in anchors]
    assert not dangling, f"SPEC.md links to sections it does not have: {', '.join('#' + a for a in dangling)}"


def test_every_registry_entry_is_on_the_site(site):
    all_text = "\n".join("".join(parse(p).text) for p in pages(site))
    for stem, t in tables().items():
        page = site / "registry" / f"{stem}.html"
        html = page.read_text(encoding="utf-8")
        ids = set(parse(page).ids)
        kind = docs_hooks.coding_kind(t)
        for entry in t["entries"]:
            key = entry["key"]
            assert key in all_text, f"{stem}: key {key!r} is not on the site"
            assert key in ids, f"{stem}: no anchor #{key} on registry/{stem}.html"
            # the entry's wire code is shown next to its anchor
            m = re.search(rf'id="{re.escape(key)}"', html)
            near = html[m.start():m.start() + 4000]
            if kind == "exp":
                want = docs_hooks.hexbytes(docs_hooks.expcode(entry["id"]))
            elif kind == "u4":
                want = f"{entry['id']:04b}"
            elif kind == "uvarint":
                want = docs_hooks.hexbytes(docs_hooks.uvarint(entry["tag"]))
            else:
                continue
            assert f">{want}</code>" in near, f"{stem}: {key} does not show its wire code {want}"


def test_wire_codes_follow_the_spec():
    # SPEC.md Appendix B, the boundaries of exp-code; and u(4) shows four bits
    cases = {0: "00", 1: "01", 254: "FE", 255: "FF 00", 256: "FF 01", 509: "FF FE", 510: "FF FF 00",
             764: "FF FF FE", 765: "FF FF FF 00", 4079: " ".join(["FF"] * 15 + ["FE"])}
    for n, hexs in cases.items():
        assert docs_hooks.hexbytes(docs_hooks.expcode(n)) == hexs
    assert docs_hooks.hexbytes(docs_hooks.uvarint(300)) == "AC 02"


def test_internal_links_resolve(site):
    broken = []
    for page in pages(site):
        for attr, raw in parse(page).links:
            url = urlsplit(raw)
            if url.scheme or url.netloc or raw.startswith(("mailto:", "javascript:", "data:")):
                continue
            if url.path:
                target = (page.parent / unquote(url.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if not target.exists():
                    broken.append(f"{page.relative_to(site)}: {attr}={raw} (no such file)")
                    continue
            else:
                target = page
            frag = unquote(url.fragment)
            if frag and target.suffix == ".html" and frag not in parse(target).ids:
                broken.append(f"{page.relative_to(site)}: {attr}={raw} (no id {frag!r} in {target.relative_to(site)})")
    assert not broken, f"{len(broken)} broken internal links:\n" + "\n".join(broken[:50])


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
    n = len(codec.write(jsonform.new(**docs_hooks.PAPER_EXAMPLE)))
    text = "".join(parse(site / "index.html").text)
    for s in (f"{n} bytes", "215 bytes", "1,907,472 bytes", "1,291,602 bytes"):
        assert s in text, f"the home page does not say {s!r}"
    assert (site / "assets" / "paper-example.aigif").read_bytes() == codec.write(jsonform.new(**docs_hooks.PAPER_EXAMPLE))
    html = (site / "index.html").read_text(encoding="utf-8")
    if (site / "assets" / "regenerated.png").exists():
        assert "assets/regenerated.png" in html
    else:
        assert "No regenerated image in this build" in html


def test_cli_page_lists_every_command(site):
    from aigif.cli import main as cli
    page = parse(site / "cli.html")
    ids, text = set(page.ids), "".join(page.text)
    programs = ("aigif", "aigif-validate", "aigif-conformance")
    for name in cli.COMMANDS:
        assert docs_hooks.cli_anchor("aigif", name, programs) in ids, f"cli.html has no section for `aigif {name}`"
        assert f"aigif {name}" in text
    assert "usage: aigif" in text
    for prog in programs:
        assert prog in ids


def test_api_pages_have_signatures(site):
    text = "".join(parse(site / "api" / "aigif.codec.html").text)
    for fn in ("read", "write", "validate"):
        assert f"aigif.codec.{fn}(" in text
    assert "aigif.regen.encode.record(" in "".join(parse(site / "api" / "aigif.html").text)


@pytest.mark.parametrize("src, page", [("conformance/GUIDE.md", "conformance/guide.html"),
                                       ("conformance/CONTRACT.md", "conformance/contract.html"),
                                       ("benchmarks/RESULTS.md", "benchmarks.html")])
def test_included_documents(site, src, page):
    text = " ".join("".join(parse(site / page).text).split())
    path = ROOT / src
    if not path.exists():
        assert "Not yet written" in text or "No results yet" in text
        return
    first = next((line.lstrip("#").strip() for line in path.read_text(encoding="utf-8").splitlines()
                  if line.startswith("#")), None)
    if first:
        plain = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", first)
        assert " ".join(plain.split()) in text, f"{page} does not show {src}"


def test_browser_screenshots(site, tmp_path):
    chromium = shutil.which("chromium")
    if not chromium:
        pytest.skip("chromium is not installed (Debian: apt-get install chromium); the browser check needs it")
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "screenshot_site.py"), "--site", str(site),
                        "--out", str(tmp_path), "--page", "index.html", "--page", "spec.html",
                        "--page", "registry/models.html"],
                       capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stdout + r.stderr


def test_included_documents_are_rewritten(tmp_path):
    """GUIDE.md, CONTRACT.md and RESULTS.md, once they exist, build under --strict: links to repository
    files become links to their pages (or plain text), code is left alone, images are copied."""
    for name in ("mkdocs.yml", "SPEC.md", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("docs", "registry"):
        shutil.copytree(ROOT / name, tmp_path / name)
    (tmp_path / "tools").mkdir()
    shutil.copy(ROOT / "tools" / "docs_hooks.py", tmp_path / "tools")
    (tmp_path / "conformance").mkdir()
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "conformance" / "GUIDE.md").write_text(
        "# Testing your decoder\n\nSee [§13](../SPEC.md#13-conformance), [the contract](CONTRACT.md#exit-codes), "
        "[models](../registry/models.json), [the vectors](../vectors/manifest.json) and ![figure](fig.png).\n\n"
        "```sh\n[kept](../nowhere.md)\n```\n\n1. one\n2. two\n- a bullet\n", encoding="utf-8")
    (tmp_path / "conformance" / "fig.png").write_bytes((ROOT / "docs" / "assets" / "extra.css").read_bytes()[:8])
    (tmp_path / "conformance" / "CONTRACT.md").write_text(
        "# Decoder contract\n\n## Exit codes\n\nSee [the guide](GUIDE.md) and [a lost anchor](../SPEC.md#no-such-heading).\n",
        encoding="utf-8")
    (tmp_path / "benchmarks" / "RESULTS.md").write_text("# Benchmark results\n\nFrom [a script](bench_size.py).\n",
                                                        encoding="utf-8")
    (tmp_path / "vectors" / "regen").mkdir(parents=True)
    (tmp_path / "vectors" / "regen" / "r1.png").write_bytes(_png(8, 8))
    (tmp_path / "vectors" / "regen" / "r1.aigif").write_bytes(b"AIG\x01" + bytes(30))
    out = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "AIGIF_DOCS_DEMO": "0"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
                       cwd=tmp_path, capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    home = (out / "index.html").read_text(encoding="utf-8")
    assert 'src="assets/regenerated.png"' in home and "8×8 pixels" in home and "<strong>34 bytes</strong>" in home
    assert (out / "assets" / "regenerated.png").read_bytes() == _png(8, 8)
    guide = (out / "conformance" / "guide.html").read_text(encoding="utf-8")
    assert 'href="../spec.html#13-conformance"' in guide
    assert 'href="contract.html#exit-codes"' in guide
    assert 'href="../registry/models.html"' in guide
    assert "the vectors" in guide and "manifest.json" not in guide
    assert (out / "repo" / "conformance" / "fig.png").exists()
    assert "[kept](../nowhere.md)" in re.sub(r"<[^>]+>", "", guide)
    assert re.search(r"</ol>\s*<ul>", guide), "a bullet list after a numbered one must start a new list"
    contract = (out / "conformance" / "contract.html").read_text(encoding="utf-8")
    assert 'href="../spec.html">a lost anchor' in contract
    assert "Benchmark results" in (out / "benchmarks.html").read_text(encoding="utf-8")


def _png(w: int, h: int) -> bytes:
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    rows = b"".join(b"\0" + b"".join(bytes((x * 30 % 256, y * 30 % 256, 128)) for x in range(w)) for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_cli_command_that_cannot_be_imported_is_listed(monkeypatch):
    from aigif.cli import main as cli
    monkeypatch.setitem(cli.COMMANDS, "frobnicate", ("no_such_module_xyz", "a command whose module is missing"))
    page = docs_hooks.page_cli()
    section = page[page.index("### `aigif frobnicate`"):]
    assert "A command whose module is missing." in section
    assert "Not available in this build" in section.split("###")[1]
    assert "no_such_module_xyz" in section.split("###")[1]
