"""aigif list WHAT: the registry's entries, key and name, one a line."""
from __future__ import annotations

from ..registry import load

#: what -> registry table (None: not a plain table); every table of the registry index is listable
WHAT: dict[str, str | None] = {**{t.replace("_", "-"): t for t in load().table_names}, "extensions": None, "families": None}


def add_arguments(p):
    p.add_argument("what", choices=list(WHAT), help="which registry table to list")


def rows(what: str) -> list[tuple[str, str]]:
    reg = load()
    if what == "extensions":
        return [(e["key"], e.get("name", "")) for e in reg.extensions.entries]
    if what == "families":
        return [(k, f.raw.get("name", "")) for k, f in reg.families.items()]
    table = WHAT[what]
    assert table is not None
    return [(e["key"], e.get("name", "")) for e in reg.table(table).entries]


def run(args) -> int:
    got = rows(args.what)
    width = max((len(k) for k, _ in got), default=0)
    for key, name in got:
        print(f"{key:<{width}}  {name}")
    return 0
