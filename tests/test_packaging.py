"""A wheel works without the source checkout: it carries the registry and the
tiny conformance models, and the package finds them inside itself."""
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    (whl,) = out.glob("aigif-*.whl")
    return whl


def test_wheel_carries_registry_and_models(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "aigif/_registry/registry.json" in names
    for m in json.loads((ROOT / "registry" / "models.json").read_text())["entries"]:
        local = (m.get("source") or {}).get("local")
        if local:
            name = Path(local).name
            assert f"aigif/_models/{name}/model_index.json" in names
            assert m["files"], f"{m['key']}: a bundled model lists the files that decide its image"
            for w in m["files"]:
                assert f"aigif/_models/{name}/{w['file']}" in names, w["file"]
    assert "aigif/_registry/prompt_model.bin" in names
    assert "aigif/text/prompt_model.bin" not in names  # one home: beside the registry


def test_installed_wheel_finds_its_own_data(wheel, tmp_path):
    site = tmp_path / "site"
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", str(site), str(wheel)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    code = ("import aigif, aigif.registry as r, aigif.regen.loading as l\n"
            "print(aigif.__file__); print(r.registry_dir()); print(l.local_model_dir('vectors/models/tiny-sd1'))")
    env = dict(os.environ, PYTHONPATH=str(site))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    module, registry, model = out.stdout.split("\n")[:3]
    assert all(p.startswith(str(site)) for p in (module, registry, model)), out.stdout


def test_demo_runs_from_an_installed_wheel(wheel, tmp_path):
    """``aigif demo`` outside the checkout: the model comes from the wheel, the output lands in the cwd."""
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(site))
    r = subprocess.run([sys.executable, "-m", "aigif.cli.main", "demo"], capture_output=True, text=True, cwd=work, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "BIT-IDENTICAL" in r.stdout
    assert (work / "aigif-demo" / "demo.aigif").is_file()
    assert "$ aigif encode --model tiny-sd1 --prompt 'a red circle on a blue background'" in r.stdout  # pasteable
