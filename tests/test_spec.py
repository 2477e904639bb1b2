"""SPEC.md and the reference map onto each other: each chapter that the
reference implements names its module, and every module SPEC.md names exists."""
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = (ROOT / "SPEC.md").read_text(encoding="utf-8")
NAMED = sorted(set(re.findall(r"`((?:reference|tools|registry|conformance|vectors|schemas)/[A-Za-z0-9_./-]+)`", SPEC)))

#: chapters a reader looks up in the code: each says where it is implemented
IMPLEMENTED_CHAPTERS = ("3", "4", "5", "6", "7", "8", "9", "10", "12", "13", "17")


def chapter(number: str) -> str:
    m = re.search(rf"^## {number}\. .*?(?=^## )", SPEC, re.M | re.S)
    assert m, f"SPEC.md has no chapter {number}"
    return m.group(0)


def test_spec_names_paths():
    assert len(NAMED) >= 12


@pytest.mark.parametrize("path", NAMED)
def test_every_path_spec_names_exists(path):
    assert (ROOT / path).exists(), f"SPEC.md names {path}, which does not exist"


@pytest.mark.parametrize("number", IMPLEMENTED_CHAPTERS)
def test_every_chapter_names_its_module(number):
    m = re.search(r"Implemented in `(reference/aigif/[^`]+)`", chapter(number))
    assert m, f"SPEC.md §{number} does not say which module implements it"
    assert (ROOT / m.group(1)).exists()


def test_no_draft_is_called_normative():
    """Drafts are proposals; what is normative is SPEC.md (the drafts say so themselves)."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        path = ROOT / name
        if path.suffix in (".md", ".py", ".json") and path.is_file() and path.stat().st_size < 2_000_000:
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                if "spec-drafts/" in line:
                    assert "normative" not in line.lower(), f"{name}: {line.strip()[:120]}"
    for draft in (ROOT / "spec-drafts").glob("*.md"):
        assert re.search(r"^Status: ", draft.read_text(encoding="utf-8"), re.M), f"{draft.name} has no status line"
