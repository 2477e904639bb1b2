"""The registry (SPEC.md §8): JSON tables loaded once, looked up by ID or key.

Nothing here knows a particular model, scheduler or device: the wire format
(``fields.py``, ``core.py``) and the regenerator read these tables.
"""
from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import AigifError

#: tables with their own layout, not a list of ``id``/``key`` entries coded on the wire
_SPECIAL_TABLES = ("families", "extensions")
#: the largest ID each wire coding can hold (SPEC.md §3.9, §8.4)
MAX_ID = {"u4": 15}


def registry_dir() -> Path:
    """Where the registry JSON lives: $AIGIF_REGISTRY, the source checkout's
    ``registry/``, or the copy packaged into a wheel."""
    env = os.environ.get("AIGIF_REGISTRY")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for cand in (here.parents[1] / "registry", here / "_registry"):
        if (cand / "models.json").is_file():
            return cand
    raise FileNotFoundError("AIGIF registry not found; set AIGIF_REGISTRY")


@dataclass(frozen=True)
class Field:
    """A field descriptor (SPEC.md §8.3)."""
    name: str
    type: str
    min: Any = None
    max: Any = None
    table: str | None = None
    max_len: int | None = None
    default: Any = None
    arg: str | None = None
    description: str = ""

    @classmethod
    def from_json(cls, d: dict) -> Field:
        # name and type are required by the registry schema; the rest are optional
        return cls(d["name"], d["type"], **{k: d.get(k) for k in ("min", "max", "table", "max_len", "default", "arg")},
                   description=d.get("description", ""))


class Table:
    """One registry table: entries by numeric ID and by key."""

    def __init__(self, name: str, entries: list[dict], id_name: str = "id"):
        self.name = name
        self.id_name = id_name
        self.entries = entries
        self.by_id: dict[int, dict] = {}
        self.by_key: dict[str, dict] = {}
        for e in entries:
            if e[id_name] in self.by_id or e["key"] in self.by_key:
                raise ValueError(f"registry table {name}: duplicate id or key in {e}")
            self.by_id[e[id_name]] = e
            self.by_key[e["key"]] = e

    def entry(self, key: str) -> dict:
        e = self.by_key.get(key)
        if e is None:
            raise AigifError("E_UNKNOWN_ID", f"{self.name} has no entry {key!r}")
        return e

    def key_of(self, ident: int) -> str:
        e = self.by_id.get(ident)
        if e is None:
            raise AigifError("E_UNKNOWN_ID", f"{self.name} ID {ident} is not in this decoder's registry")
        return e["key"]

    def id_of(self, key: str) -> int:
        return self.entry(key)[self.id_name]

    def __contains__(self, key: str) -> bool:
        return key in self.by_key


@dataclass
class Family:
    key: str
    raw: dict
    fields: list[Field] = field(default_factory=list)

    @property
    def size_multiple(self) -> int:
        return self.raw["size_multiple"]


class Registry:
    def __init__(self, root: Path):
        self.root = root
        index = self._load("registry")
        self.version: str = index["version"]
        self.table_names: tuple[str, ...] = tuple(t for t in index["tables"] if t not in _SPECIAL_TABLES)
        self.tables: dict[str, Table] = {}
        self._coded_as: dict[str, str] = {}
        for t in self.table_names:
            doc = self._load(t)
            self.tables[t] = Table(t, doc["entries"])
            self._coded_as[t] = doc["coded_as"]
        fam = self._load("families")
        self.core_strings = [Field.from_json(f) for f in fam["core_strings"]]
        self.families = {e["key"]: Family(e["key"], e, [Field.from_json(f) for f in e["fields"]]) for e in fam["entries"]}
        ext = self._load("extensions")
        self.extensions = Table("extensions", ext["entries"], id_name="tag")
        self.private_tags = tuple(ext.get("reserved_private_tags", (64, 127)))
        self._check()

    def _load(self, name: str) -> dict:
        return json.loads((self.root / f"{name}.json").read_text(encoding="utf-8"))

    @functools.cache  # noqa: B019 - a registry lives as long as the process
    def document(self, name: str) -> dict:
        """A table's whole JSON document (for the parts beside its entries,
        e.g. the tool name tables of ``schedulers``). Callers must not modify it."""
        return self._load(name)

    def _check(self) -> None:
        # Invariants the wire format relies on; the JSON Schemas check shapes.
        for t, coded in self._coded_as.items():
            top = MAX_ID.get(coded)
            if top is not None and max(self.tables[t].by_id) > top:
                raise ValueError(f"registry table {t} is coded as {coded} but has an ID above {top}")
        for m in self.tables["models"].entries:
            if m["family"] not in self.families:
                raise ValueError(f"model {m['key']} names unknown family {m['family']}")
        for e in self.extensions.entries:
            if (e["tag"] & 1) != int(e["critical"]):
                raise ValueError(f"extension {e['key']}: bit 0 of the tag must equal its critical flag")

    def table(self, name: str) -> Table:
        return self.tables[name]

    def coded_as(self, table: str) -> str:
        """How the table's IDs are coded on the wire: its JSON's ``coded_as``."""
        return self._coded_as[table]

    def family_of(self, model_key: str) -> Family:
        return self.families[self.tables["models"].by_key[model_key]["family"]]

    def model_fields(self, model_key: str) -> list[Field]:
        return [Field.from_json(f) for f in self.tables["models"].by_key[model_key].get("fields", [])]

    def device_fields(self, device_key: str) -> list[Field]:
        return [Field.from_json(f) for f in self.tables["devices"].by_key[device_key]["fields"]]

    @functools.cache  # noqa: B019 - a registry lives as long as the process
    def string_fields(self, model_key: str) -> tuple[str, ...]:
        """The strings of a file with this model, in text-block order (SPEC.md §7.1)."""
        return tuple(self._string_fields(model_key))

    @functools.cache  # noqa: B019 - a registry lives as long as the process
    def size_multiple(self, model_key: str) -> int:
        return self.family_of(model_key).size_multiple

    def _string_fields(self, model_key: str) -> list[str]:
        names = [f.name for f in self.core_strings]
        names += [f.name for f in self.family_of(model_key).fields if f.type == "str"]
        names += [f.name for f in self.model_fields(model_key) if f.type == "str"]
        return names


@functools.lru_cache(maxsize=4)
def load(root: str | None = None) -> Registry:
    return Registry(Path(root) if root else registry_dir())
