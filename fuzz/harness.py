"""What the atheris targets here share: ``--replay FILE...`` (a target's
checks on files, without atheris), a target's own commands, and the fuzzing
loop (the ``aigif`` imports instrumented, then libFuzzer's arguments).

A target calls :func:`run` from its ``__main__`` block: run as a script, this
directory is ``sys.path[0]``, so ``from harness import run`` needs no path
edits, and importing a target (tests/test_hostile.py) never imports atheris.
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path


def run(import_: Callable[[], None], check: Callable[[bytes], str], frame: Callable[[bytes], bytes] = lambda data: data,
        commands: dict[str, Callable[[], None]] | None = None) -> None:
    """``import_`` imports what ``check`` uses (instrumented when fuzzing);
    ``frame`` turns a fuzz input into what ``check`` is given."""
    arg = sys.argv[1] if len(sys.argv) > 1 else None
    if arg == "--replay":
        import_()
        for p in sys.argv[2:]:
            print(f"{p}: {check(frame(Path(p).read_bytes()))}")
        return
    if arg in (commands or {}):
        commands[arg]()
        return
    import atheris
    with atheris.instrument_imports(include=["aigif"]):
        import_()
    atheris.Setup(sys.argv, lambda data: check(frame(data)))
    atheris.Fuzz()
