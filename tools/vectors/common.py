"""What every part of the vector builder shares: the registry, the vectors
built so far, and how a vector's files are written."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from aigif.registry import load

ROOT = Path(__file__).resolve().parents[2]
REG = load()
CLASSES = ("parse", "reject", "noise", "regen", "diffc")
TEXT_LIMIT = 65536
MAX_SIDE = 16384


class BuildError(Exception):
    """A vector the builder cannot make, or one the reference disagrees with:
    the build stops (a vector never silently goes missing)."""


def table(name):
    return REG.table(name)


def ident(tbl: str, key: str) -> int:
    return table(tbl).by_key[key]["id"]


def next_id(tbl: str) -> int:
    """The first ID above every registered one."""
    return max(table(tbl).by_id) + 1


def dumps(obj) -> bytes:
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@dataclass
class Built:
    id: str
    cls: str
    description: str
    files: dict          # role -> (file name, bytes)


class Vectors:
    """The vectors built so far, in build order; IDs are checked as they come."""

    def __init__(self):
        self.vectors: list[Built] = []
        self._ids: set[str] = set()

    def add(self, cls: str, name: str, description: str, files: dict) -> None:
        vid = f"{cls}/{name}"
        if vid in self._ids:
            raise BuildError(f"duplicate vector ID {vid}")
        if not all(c.isascii() and (c.isalnum() or c in "-._") for c in name):
            raise BuildError(f"vector name {vid!r} has characters outside [A-Za-z0-9-._]")
        self._ids.add(vid)
        self.vectors.append(Built(vid, cls, description, files))
