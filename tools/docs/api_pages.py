"""The Python API pages: api/index.md and one page per documented package, rendered by mkdocstrings.

Each page is a stub holding mkdocstrings' ``::: name`` directive; mkdocstrings (the Python handler,
griffe) reads signatures and docstrings from the source, so a package's submodules are documented
as they exist when the site is built. ``PACKAGES`` is the one list of what the site documents.
"""
from __future__ import annotations

import ast
import importlib.util
import logging
from pathlib import Path

log = logging.getLogger("mkdocs.hooks.aigif.api")

# The documented packages and modules, in the order of the navigation. Listed here only; the
# index page, the navigation and tests/test_docs.py all read this tuple.
PACKAGES = ("aigif.codec", "aigif.file", "aigif.registry", "aigif.errors", "aigif.text", "aigif.regen",
            "aigif.noise", "aigif.importers", "aigif.conformance")

INDEX = """# Python API

The public Python API of the reference implementation (`reference/aigif/`), rendered at build time
from its signatures and docstrings by mkdocstrings. `aigif.codec` reads, writes and validates files
and needs only the core dependencies; `aigif.record` regenerates with torch and diffusers (the
`regen` extra).

| module | what it holds |
|---|---|
{rows}

## The `aigif` package

::: aigif
    options:
      show_submodules: false
      show_root_heading: false
"""

PAGE = """::: {name}
    options:
      show_root_heading: true
      heading_level: 1
"""


def documented() -> list[str]:
    """The names of ``PACKAGES`` that exist in this checkout (a package being moved is left out)."""
    out = []
    for name in PACKAGES:
        try:
            found = importlib.util.find_spec(name) is not None
        except ImportError:  # its parent package is gone
            found = False
        if found:
            out.append(name)
        else:
            log.info("api_pages: %s does not exist in this checkout; it has no page", name)
    return out


def summary(name: str) -> str:
    """The first paragraph of a module's docstring, on one line, for the index table."""
    spec = importlib.util.find_spec(name)
    try:
        doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""
    except (OSError, SyntaxError, TypeError):  # the module's own page reports what cannot be read
        doc = ""
    return " ".join(doc.split("\n\n")[0].split()).replace("|", "&#124;")


def pages() -> dict[str, str]:
    """{src_uri: Markdown}: the index and one stub page per documented package."""
    names = documented()
    rows = "\n".join(f"| [`{n}`]({n}.md) | {summary(n)} |" for n in names)
    out = {"api/index.md": INDEX.format(rows=rows)}
    out.update({f"api/{n}.md": PAGE.format(name=n) for n in names})
    return out


def nav() -> list[tuple[str, str]]:
    """(title, src_uri) of each module page, for the navigation under api/index.md."""
    return [(n, f"api/{n}.md") for n in documented()]
