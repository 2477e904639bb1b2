"""What the atheris targets here share: ``--replay FILE...`` (a target's
checks on files, without atheris), a target's own commands, and the fuzzing
loop (the ``aigif`` imports instrumented, then libFuzzer's arguments).

A target calls :func:`run` from its ``__main__`` block: run as a script, this
directory is ``sys.path[0]``, so ``from harness import run`` needs no path
edits, and importing a target (tests/test_hostile.py) never imports atheris.
"""
from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path


def run(import_: Callable[[], None], check: Callable[[bytes], str], frame: Callable[[bytes], bytes] = lambda data: data,
        commands: dict[str, Callable[[], None]] | None = None, exclude: tuple[str, ...] = ()) -> None:
    """``import_`` imports what ``check`` uses (instrumented when fuzzing);
    ``frame`` turns a fuzz input into what ``check`` is given. ``exclude``: ``aigif`` modules left
    uninstrumented (no coverage feedback, full speed): hot loops that another target covers, since
    instrumented Python runs up to ~30 times slower."""
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
    with atheris.instrument_imports(include=["aigif"], exclude=_modules(exclude)):
        import_()
    atheris.Setup(sys.argv, lambda data: check(frame(data)))
    atheris.Fuzz()


def _modules(prefixes: tuple[str, ...]) -> list[str]:
    """Every ``aigif`` module named by ``prefixes`` or inside them (atheris' ``exclude`` takes exact
    names), found in the package's files without importing anything."""
    import importlib.util
    spec = importlib.util.find_spec("aigif")
    if not prefixes or spec is None or not spec.submodule_search_locations:
        return list(prefixes)
    root = Path(next(iter(spec.submodule_search_locations)))
    names = {".".join(("aigif",) + p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
             for p in root.rglob("*.py")}
    return sorted(n for n in names if any(n == x or n.startswith(x + ".") for x in prefixes))


class Draw:
    """Structured values drawn from a fuzz input's bytes, front to back (what
    ``atheris.FuzzedDataProvider`` does, in plain Python: ``--replay`` and the
    tests need no atheris, and a corpus file means the same structure whatever
    the atheris version). Past the end of the input every draw is 0 / empty /
    the first choice, so every input is a complete structure and a short
    input a small one. Used by the structure-aware targets
    (``fuzz_importer_struct.py``, ``fuzz_writer.py``)."""

    #: Numbers that sit on a limit or break a type: 0, ±1, the 2^n boundaries of the wire's integers,
    #: SPEC.md §11's limits, floats that JSON cannot hold, and values of the wrong type.
    EDGE_NUMBERS = (0, 1, -1, 2, 7, 8, 9, 12, 13, 63, 64, 100, 101, 127, 128, 255, 256, 1000, 1001, 4095, 4096,
                    16383, 16384, 16385, 65535, 65536, 65537, 2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53, 2**53 + 1,
                    2**63 - 1, 2**63, 2**64 - 1, 2**64, 2**70, -2**63, -2**64, 10**400, 0.0, -0.0, 0.5, 7.5, 1e-7,
                    99.99, 100.0, 100.01, 1e308, float("inf"), float("-inf"), float("nan"), 5e-324, True, False,
                    None, "7", "", "nan", "1e999", "0x10", [], {}, [1, 2])
    #: Characters that break text handling: NUL, controls, the UTF-16 surrogates (lone ones cannot be
    #: encoded as UTF-8), BOM, non-characters, combining marks, line and paragraph separators, astral.
    EDGE_CHARS = ("\x00", "\x01", "\x1f", "\x7f", "\x80", "\x9f", "\t", "\n", "\r", " ", "\u00a0", "\u0301",
                  "\u2028", "\u2029", "\u200b", "\u202e", "\ufeff", "\ufffd", "\ufffe", "\uffff", "\ud800",
                  "\udbff", "\udc00", "\udfff", "\U0001f600", "\U0010ffff", "(", ")", "[", "]", "{", "}", ":",
                  ",", "\\", "\"", "'", "<", ">", "|", "=", "é", "字")

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    def left(self) -> int:
        return len(self.data) - self.pos

    def bytes(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + max(n, 0)]
        self.pos += len(out)
        return out

    def uint(self, nbytes: int = 1) -> int:
        return int.from_bytes(self.bytes(nbytes), "big")

    def below(self, n: int) -> int:
        """0 … n−1 (one byte for n ≤ 256, two above)."""
        return self.uint(1 if n <= 256 else 2) % n if n > 1 else 0

    def pick(self, seq):
        return seq[self.below(len(seq))]

    def chance(self, k: int, n: int = 8) -> bool:
        """True with probability k/n; False past the end of the input (the rare branch is the True one)."""
        return self.below(n) >= n - k

    def length(self, limit: int) -> int:
        """A length up to ``limit``: mostly short; sometimes exactly on or around a limit (``limit`` itself
        is typically one of SPEC.md §11's, plus a little so that one-past is reached)."""
        mode = self.below(64)   # long ones are rare: a pure-Python coder takes milliseconds on 64 KiB
        if mode < 48:
            return self.below(17)
        if mode < 61:
            return self.below(257)
        if mode == 61:
            return self.uint(3) % (limit + 1)
        return max(0, limit - self.below(4)) if mode == 62 else limit + self.below(3)

    def number(self):
        """A value for a numeric field: an edge value, a small int, an arbitrary 64-bit int, a float."""
        mode = self.below(8)
        if mode < 3:
            return self.pick(self.EDGE_NUMBERS)
        if mode < 5:
            return self.below(256)
        if mode == 5:
            v = self.uint(8)
            return v - 2**63 if self.chance(1, 4) else v
        if mode == 6:
            import struct
            return struct.unpack(">d", self.bytes(8).ljust(8, b"\x00"))[0]
        return self.uint(2) / 100

    def text(self, limit: int = 65536) -> str:
        """A string: raw bytes as UTF-8 (undecodable bytes become lone surrogates) or Latin-1, UTF-16
        code units (lone surrogates, NUL, controls: any BMP character and astral pairs), a mix of
        :data:`EDGE_CHARS` and ASCII, or one unit repeated to a length on or near ``limit`` (in UTF-8
        bytes, about). Each mode draws the string in one slice, not a call per character."""
        mode = self.below(8)
        if mode < 2:
            raw = self.bytes(self.length(limit))
            return raw.decode("utf-8", "surrogateescape") if mode == 0 else raw.decode("latin-1")
        if mode < 4:
            raw = self.bytes(2 * min(self.length(limit), 512))
            return raw[:len(raw) & ~1].decode("utf-16-be", "surrogatepass")
        if mode < 6:
            edge, n = self.EDGE_CHARS, len(self.EDGE_CHARS)
            return "".join(edge[b % n] if b >= 0x80 else chr(0x20 + b % 95) for b in self.bytes(self.length(limit)))
        if mode == 6:
            unit = self.pick(self.EDGE_CHARS) + self.bytes(self.below(4)).decode("latin-1")
            n = self.length(limit)
            size = max(len(unit.encode("utf-8", "surrogatepass")), 1)
            return unit * (n // size) + "a" * (n % size if self.chance(1, 2) else 0)
        return self.pick(("", " ", "a", "\x00", "\ud800", "A cute cat", "\U0001f600" * 3))


def hashed_seeds(out: Path, count: int, sizes: tuple[int, ...], check: Callable[[bytes], str],
                 quota: Callable[[str], int], prefix: Callable[[int], bytes] = lambda i: b"",
                 key: Callable[[int, str], str] = lambda i, result: result) -> dict[str, int]:
    """Deterministic pseudo-random seed inputs into ``out``: input ``i`` is ``prefix(i)`` and
    ``sizes[i % len(sizes)] // 32`` SHA-256 blocks of ``"i:j"``; one is kept while its result's
    ``quota`` lasts (counted per ``key``). An input that crashes ``check`` is a finding: printed, not kept."""
    out.mkdir(parents=True, exist_ok=True)
    seen: dict[str, int] = {}
    for i in range(count):
        n = sizes[i % len(sizes)]
        data = prefix(i) + b"".join(hashlib.sha256(f"{i}:{j}".encode()).digest() for j in range(n // 32))
        try:
            result = check(data)
        except Exception as e:
            print(f"seed {i} crashes: {type(e).__name__}: {str(e)[:100]}")
            continue
        k = key(i, result)
        if seen.get(k, 0) < quota(result):
            seen[k] = seen.get(k, 0) + 1
            (out / f"seed-{i:04d}").write_bytes(data)
    return seen
