"""The mkdocs hook of the AIGIF website (mkdocs.yml: ``hooks: [tools/docs/hooks.py]``).

Plugins do most of the work: mkdocs-include-markdown-plugin includes SPEC.md, conformance/*.md and
benchmarks/RESULTS.md into their docs/ pages, and mkdocstrings renders the Python API. This hook
adds the pages that are generated from data, each by its own module beside it:

- registry/*.md          <- registry/*.json               (registry_pages)
- cli.md                 <- the argparse parsers of aigif  (cli_pages)
- api/*.md               <- the stubs for mkdocstrings     (api_pages)
- the home page's parts  <- aigif.codec, vectors/          (home_page)
- assets/inspector/aigif/, assets/inspector/prompt_model.bin <- js/src, registry/ (inspector_assets,
  after the build)

and the Markdown extension that points links to repository files at their pages (repo_links).
mkdocs puts this file's folder on sys.path while it loads the hook, so the modules beside it import
by their own names.
"""
from __future__ import annotations

import re
from pathlib import Path

import api_pages
import cli_pages
import home_page
import inspector_assets
import rd_plot
import registry_pages
import repo_links
from markdown.extensions.toc import slugify
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
WATCH = ("SPEC.md", "registry", "reference/aigif", "conformance", "benchmarks", "vectors/regen", "tools/docs", "js/src", "js/tools")
_links = repo_links.RepoLinks()
_home: dict[str, str] = {}


def _expand_nav(nav, sections: dict[str, list[tuple[str, str]]]):
    """{"Registry": "registry/index.md"} -> {"Registry": ["registry/index.md", {"Models": ...}, ...]}."""
    out = []
    for item in nav or []:
        if isinstance(item, dict) and len(item) == 1:
            (title, value), = item.items()
            if isinstance(value, str) and value in sections:
                item = {title: [value] + [{t: uri} for t, uri in sections[value]]}
            elif isinstance(value, list):
                item = {title: _expand_nav(value, sections)}
        out.append(item)
    return out


def on_config(config):
    config.nav = _expand_nav(config.nav, {"registry/index.md": registry_pages.nav(ROOT), "api/index.md": api_pages.nav()})
    _links.docs_dir = Path(config.docs_dir).resolve().relative_to(ROOT).as_posix()
    config.markdown_extensions.append(_links)
    return config


def _add(files: Files, config, uri: str, content: str | bytes) -> None:
    old = files.get_file_from_path(uri)
    if old is not None:  # a generated page wins over a file of the same name in docs/
        files.remove(old)
    files.append(File.generated(config, uri, content=content))


def on_files(files: Files, config):
    toc_slug = config.mdx_configs.get("toc", {}).get("slugify", slugify)  # the headings' anchors (mkdocs.yml)
    pages = registry_pages.pages(ROOT, lambda text: toc_slug(text, "-"))
    pages.update(api_pages.pages())
    pages["cli.md"] = cli_pages.page()
    _home.clear()
    for name, (md, assets) in {"paper-example": home_page.paper_example(),
                               "regenerated-image": home_page.regenerated_image(ROOT)}.items():
        _home[name] = md
        pages.update(assets)
    for uri, content in pages.items():
        _add(files, config, uri, content)
    _links.pages = {**registry_pages.sources(ROOT), **repo_links.included_sources(files, _links.docs_dir)}
    return files


def on_page_markdown(markdown: str, page, config, files):
    _links.page = page.file.src_uri
    if page.file.src_uri == "index.md":
        for name, md in _home.items():
            markdown = markdown.replace(f"<!-- aigif:{name} -->", md)
    return rd_plot.render(markdown)


#: inline code that is a command-line option (`--model-dir KEY=PATH`, `-o`): the browser would break
#: it after its first hyphen on a narrow screen; class aigif-opt (extra.css) keeps it whole
_OPTION_CODE = re.compile(r"<code>(-{1,2}[A-Za-z])")


def on_page_content(html: str, page, config, files):
    return _OPTION_CODE.sub(r'<code class="aigif-opt">\1', html)


def on_post_build(config):
    """The inspector page's modules and model (not kept in docs/), written into the built site."""
    inspector_assets.build(config.site_dir)


def on_serve(server, config, builder):
    """`mkdocs serve` rebuilds when a source of a generated page changes."""
    for p in WATCH:
        if (ROOT / p).exists():
            server.watch(str(ROOT / p))
    return server
