"""The inspector page's scripts and data in the built site (docs/inspector.md).

The page runs the JavaScript implementation of js/ in the browser. Its modules are not kept in
docs/: after each build, ``js/tools/build_inspector.mjs`` writes them into the site, so js/src/ and
registry/ stay their only homes:

- ``site/assets/inspector/aigif/``: js/src/ without node.js, with a registry_data.js generated from
  registry/*.json for this build;
- ``site/assets/inspector/prompt_model.bin``: registry/prompt_model.bin, which the page fetches for
  files whose text coder is ``prompt``.

Node.js (>= 18) is needed to build the site; without it the build fails and says so.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "js" / "tools" / "build_inspector.mjs"
DEST = Path("assets") / "inspector"  # in the site; docs/assets/inspector/ holds the page's own inspector.js and .css


def build(site_dir: str | Path) -> Path:
    """Write the inspector's modules and the prompt model into ``site_dir``; returns the folder."""
    node = shutil.which("node")
    if node is None:
        raise PluginError("node (>= 18) is not on PATH: the inspector page's modules (js/src) cannot be put into "
                          "the site (Debian: apt-get install nodejs)")
    dest = Path(site_dir) / DEST
    r = subprocess.run([node, str(SCRIPT), str(dest)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if r.returncode:
        raise PluginError(f"{SCRIPT.relative_to(ROOT)} failed ({r.returncode}):\n{r.stdout}{r.stderr}")
    return dest
