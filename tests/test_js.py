"""The JavaScript implementation (js/, npm package `aigif`): its own unit tests,
the conformance suite with it as the decoder, and a differential fuzz against
the reference (same verdict, same error code, same fields, exact writer).

node must be on PATH: without it these tests fail (a second implementation
that is not tested is not a second reading of the spec). js/src/registry_data.js
is a build product (git ignores it): the tests generate it from registry/*.json
first, as `npm test` does, so a fresh clone needs no manual step."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "js"


def node() -> str:
    path = shutil.which("node")
    if path is None:
        pytest.fail("node (>= 18) is not on PATH: the JavaScript implementation in js/ cannot be tested")
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    version = re.match(r"v(\d+)", out)
    assert version, f"node --version printed {out!r}"
    major = int(version.group(1))
    if major < 18:
        pytest.fail(f"node {out.strip()} is older than the 18 that js/package.json requires")
    return path


def gen_registry() -> Path:
    """Run js/tools/gen_registry.mjs (npm run gen-registry): writes js/src/registry_data.js when it is
    missing or out of date with registry/*.json."""
    r = subprocess.run([node(), str(JS / "tools" / "gen_registry.mjs")], cwd=JS, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, f"npm run gen-registry failed:\n{r.stdout}{r.stderr}"
    return JS / "src" / "registry_data.js"


@pytest.fixture(scope="module", autouse=True)
def registry_module() -> Path:
    return gen_registry()


def test_registry_module_is_generated_not_kept(registry_module):
    """The generated module is ignored by git, so it cannot drift from registry/*.json in a commit."""
    assert registry_module.is_file()
    if shutil.which("git") and (ROOT / ".git").exists():
        r = subprocess.run(["git", "check-ignore", "-q", str(registry_module)], cwd=ROOT)
        assert r.returncode == 0, "js/src/registry_data.js is not ignored by git (.gitignore)"
    for path in ((ROOT / "docs" / "assets" / "inspector" / "aigif"), (JS / "tools" / "sync_inspector.mjs")):
        assert not path.exists(), f"{path.relative_to(ROOT)}: a copy of js/src; the site build writes it (tools/docs)"


def test_node_unit_tests():
    r = subprocess.run([node(), "--test", "test/"], cwd=JS, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert re.search(r"^# fail 0$", r.stdout, re.M), r.stdout[-2000:]


@pytest.mark.parametrize("level", ["parse", "reject", "noise"])
def test_conformance_with_js_decoder(level, tmp_path):
    decoder = f"{node()} {JS / 'bin' / 'aigif.js'}"
    beside = Path(sys.executable).parent / "aigif-conformance"
    runner = str(beside) if beside.exists() else shutil.which("aigif-conformance")
    assert runner, "aigif-conformance (the reference package's runner) is not installed"
    r = subprocess.run(
        [runner, "run", "--decoder", decoder, "--level", level, "--jobs", "2"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    m = re.search(r"^(\d+) passed, (\d+) failed", r.stdout, re.M)
    assert m, f"no summary line in the runner's output:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    passed, failed = int(m.group(1)), int(m.group(2))
    assert failed == 0, r.stdout[-6000:]
    assert passed > 0


def test_differential_fuzz():
    node()
    sys.path.insert(0, str(JS / "tools"))
    try:
        import difffuzz
    finally:
        sys.path.pop(0)
    stats = difffuzz.run(count=15000, seed=20261204, batch=1000)
    assert stats["count"] == 15000
    assert stats["valid"] > 1000, "the generator should reach valid files too"
    assert len(stats["codes"]) > 12, stats["codes"]
    assert not stats["failures"], stats["failures"][:3]
