"""Links from the site's pages to repository files outside docs/.

mkdocs-include-markdown-plugin includes SPEC.md, conformance/GUIDE.md, ... into docs/ pages and
rewrites their relative links to stay relative to the including page, so a link in GUIDE.md to
``CONTRACT.md`` becomes ``../../conformance/CONTRACT.md`` on docs/conformance/guide.md: a file outside
docs/. This Markdown extension (added by the hook) points such links to the page made from that
file (the page that includes it, a registry table's page), or, for a file the site does not publish,
keeps the link's text without the link. Links inside docs/ and external URLs are left alone, and
mkdocs' own link validation still checks the result.
"""
from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

INCLUDE = re.compile(r"""\{%\s*include-markdown\s+["']([^"']+)["']""")


def included_sources(files, docs_dir: str) -> dict[str, str]:
    """{repository path: src_uri} of every docs page that includes a repository file
    (``{% include-markdown "../SPEC.md" %}`` in docs/spec.md: {"SPEC.md": "spec.md"})."""
    out = {}
    for f in files.documentation_pages():
        for src in INCLUDE.findall(f.content_string):
            repo = posixpath.normpath(posixpath.join(docs_dir, posixpath.dirname(f.src_uri), src))
            out.setdefault(repo, f.src_uri)
    return out


class RepoLinks(Extension):
    """``pages``: {repository path: src_uri}; ``docs_dir``: docs/ relative to the repository root.
    The hook sets ``page`` (the src_uri being rendered) before each page is rendered."""

    def __init__(self, docs_dir: str = "docs"):
        super().__init__()
        self.docs_dir = docs_dir.strip("/")
        self.pages: dict[str, str] = {}
        self.page: str = ""

    def extendMarkdown(self, md) -> None:  # Python-Markdown's name
        # after "inline" (20), which makes the <a> elements, before mkdocs' "relpath" (0), which checks them
        md.treeprocessors.register(_Rewrite(md, self), "aigif_repo_links", 5)

    def target(self, href: str) -> str | None:
        """The new href for a link to a repository file outside docs/; "" to drop the link;
        None to leave it as it is."""
        url = urlsplit(href)
        if url.scheme or url.netloc or not url.path or url.path.startswith("/"):
            return None
        here = posixpath.dirname(self.page)
        repo = posixpath.normpath(posixpath.join(self.docs_dir, here, url.path))
        if repo.startswith(("../", self.docs_dir + "/")) or repo == "..":
            return None
        if repo not in self.pages:
            return ""
        rel = posixpath.relpath(self.pages[repo], here or ".")
        return rel + (f"#{url.fragment}" if url.fragment else "")


class _Rewrite(Treeprocessor):
    def __init__(self, md, ext: RepoLinks):
        super().__init__(md)
        self.ext = ext

    def run(self, root) -> None:
        for el in root.iter("a"):
            new = self.ext.target(el.get("href", ""))
            if new is None:
                continue
            if new:
                el.set("href", new)
            else:  # an unpublished file: its name stays as text
                el.tag = "span"
                el.attrib.pop("href", None)
                el.attrib.pop("title", None)
