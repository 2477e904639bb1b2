"""The project's own habits, checked with every test run: ruff and mypy with
the settings in pyproject.toml ([tool.ruff], [tool.mypy])."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff():
    exe = shutil.which("ruff")
    assert exe, "ruff is in the test extra: pip install -e '.[dev]'"
    r = run(exe, "check", ".")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]


def test_mypy():
    r = run(sys.executable, "-m", "mypy", "--no-error-summary")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
