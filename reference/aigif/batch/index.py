"""The driver's working set, on disk: one SQLite file beside the results
(``RESULTS.index.sqlite``, made fresh by each run and removed at its end),
so that what the driver holds in memory does not grow with the number of
files (SQLite's page cache is bounded: ``CACHE_KIB``).

It holds

- ``plan``: each input, its output, its relative name and its collision key
  (UNIQUE: two inputs that would share an output are found as the second one
  is inserted, whatever the order of the inputs); whether this run does it,
  its model group (decode, verify) and the SHA-256 the results last recorded
  for its output (the output this batch may replace);
- ``raw``: convert's inputs before they are named (an output name depends on
  the other inputs beside it with the same stem);
- ``excluded``: files a directory walk left out, with why;
- ``latest``: for each input of the results log, the byte offset of its
  latest row in ``RESULTS.jsonl`` (the row itself is read back from the log
  when needed): the resume index, built by reading the log as a stream;
- ``todo``: the work of this run, ordered by model group then plan order;
- ``odirs``: the output directories (temporaries of killed writers are
  cleaned there at the end).

Paths are stored as UTF-8 with surrogates passed through (a file name that
is not UTF-8 decodes to lone surrogates), so any name the OS gives is stored
and comes back as it was; BLOB order is then code-point order.
"""
from __future__ import annotations

import json
import json.decoder
import os
import sqlite3
from collections.abc import Iterator
from typing import BinaryIO

from ..errors import AigifError

CACHE_KIB = 8192   # SQLite page cache: the index's share of the driver's memory
PAGE = 2000        # rows per query when reading a table back in order
COMMIT_EVERY = 20000


def enc(s: str) -> bytes:
    return s.encode("utf-8", "surrogatepass")


def dec(b: bytes) -> str:
    return bytes(b).decode("utf-8", "surrogatepass")


def enc_opt(s: str | None) -> bytes | None:
    return None if s is None else enc(s)


def dec_opt(b: bytes | None) -> str | None:
    return None if b is None else dec(b)


class Index:
    def __init__(self, path: str):
        self.path = path
        for p in (path, path + "-journal"):
            try:
                os.unlink(p)  # a killed run's: rebuilt from the log every run
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise AigifError("E_IO", f"cannot remove {p}: {exc.strerror or exc}") from None
        try:
            self.db = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise AigifError("E_IO", f"cannot create {path}: {exc}") from None
        self.db.executescript(f"""
            PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA temp_store=FILE; PRAGMA cache_size=-{CACHE_KIB};
            CREATE TABLE plan(seq INTEGER PRIMARY KEY, input BLOB NOT NULL, output BLOB, rel BLOB NOT NULL,
                              key BLOB NOT NULL UNIQUE, todo INTEGER NOT NULL DEFAULT 0, prev_sha TEXT);
            CREATE TABLE raw(seq INTEGER PRIMARY KEY, src BLOB NOT NULL, rel BLOB NOT NULL, grp BLOB NOT NULL);
            CREATE TABLE excluded(seq INTEGER PRIMARY KEY, path BLOB NOT NULL, why TEXT NOT NULL);
            CREATE TABLE latest(input BLOB PRIMARY KEY, off INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE todo(gkey BLOB NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (gkey, seq)) WITHOUT ROWID;
            CREATE TABLE odirs(d BLOB PRIMARY KEY) WITHOUT ROWID;
        """)
        self.pending = 0
        self.db.execute("BEGIN")

    # -- transactions: one open at a time, committed every COMMIT_EVERY writes (no durability needed) --

    def _wrote(self, n: int = 1) -> None:
        self.pending += n
        if self.pending >= COMMIT_EVERY:
            self.commit()

    def commit(self) -> None:
        self.db.execute("COMMIT")
        self.db.execute("BEGIN")
        self.pending = 0

    def close(self, remove: bool = True) -> None:
        try:
            self.db.execute("COMMIT")
        except sqlite3.Error:
            pass
        self.db.close()
        if remove:
            for p in (self.path, self.path + "-journal"):
                try:
                    os.unlink(p)
                except OSError:
                    pass

    # -- planning --------------------------------------------------------------------

    def add_raw(self, src: str, rel: str, grp: str) -> None:
        self.db.execute("INSERT INTO raw(src, rel, grp) VALUES (?, ?, ?)", (enc(src), enc(rel), enc(grp)))
        self._wrote()

    def raw_named(self) -> Iterator[tuple[str, str, int]]:
        """(src, rel, how many inputs share rel's group), in insertion order."""
        self.db.execute("CREATE INDEX raw_grp ON raw(grp)")
        last = 0
        while True:
            rows = self.db.execute("SELECT r.seq, r.src, r.rel, (SELECT COUNT(*) FROM raw c WHERE c.grp = r.grp) "
                                   "FROM raw r WHERE r.seq > ? ORDER BY r.seq LIMIT ?", (last, PAGE)).fetchall()
            if not rows:
                return
            for _seq, src, rel, n in rows:
                yield dec(src), dec(rel), n
            last = rows[-1][0]

    def add_item(self, key: str, input: str, output: str | None, rel: str) -> str | None:
        """Adds an item; when another item has ``key`` already, adds nothing
        and returns that item's input."""
        try:
            self.db.execute("INSERT INTO plan(input, output, rel, key) VALUES (?, ?, ?, ?)",
                            (enc(input), enc_opt(output), enc(rel), enc(key)))
        except sqlite3.IntegrityError:
            return dec(self.db.execute("SELECT input FROM plan WHERE key = ?", (enc(key),)).fetchone()[0])
        if output is not None:
            self.db.execute("INSERT OR IGNORE INTO odirs VALUES (?)", (enc(os.path.dirname(output)),))
        self._wrote()
        return None

    def add_excluded(self, path: str, why: str) -> None:
        self.db.execute("INSERT INTO excluded(path, why) VALUES (?, ?)", (enc(path), why))
        self._wrote()

    def planned(self) -> None:
        """The plan is complete: index it by input (for the results table)."""
        self.db.execute("CREATE INDEX plan_input ON plan(input)")
        self.commit()

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def excluded_rows(self) -> Iterator[tuple[str, str]]:
        last = 0
        while True:
            rows = self.db.execute("SELECT seq, path, why FROM excluded WHERE seq > ? ORDER BY seq LIMIT ?", (last, PAGE)).fetchall()
            if not rows:
                return
            for _, path, why in rows:
                yield dec(path), why
            last = rows[-1][0]

    def output_dirs(self) -> Iterator[str]:
        last = b""
        while True:
            rows = self.db.execute("SELECT d FROM odirs WHERE d > ? ORDER BY d LIMIT ?", (last, PAGE)).fetchall()
            if not rows:
                return
            for (d,) in rows:
                yield dec(d)
            last = rows[-1][0]

    # -- the resume index --------------------------------------------------------------

    def load_log(self, log: str) -> int:
        """Index the latest row of each input of ``log`` (read as a stream);
        returns the rows read."""
        try:
            fh = open(log, "rb")
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise AigifError("E_IO", f"cannot read {log}: {exc.strerror or exc}") from None
        n, off, batch = 0, 0, []
        with fh:
            for line in fh:
                inp = _input_of(line)
                if inp is not None:
                    batch.append((enc(inp), off))
                    n += 1
                    if len(batch) >= PAGE:
                        self.set_latest(batch)
                        batch = []
                off += len(line)
        self.set_latest(batch)
        return n

    def set_latest(self, pairs: list[tuple[bytes, int]]) -> None:
        if pairs:
            self.db.executemany("INSERT OR REPLACE INTO latest(input, off) VALUES (?, ?)", pairs)
            self._wrote(len(pairs))

    def plan_with_offsets(self) -> Iterator[list[tuple[int, str, str | None, str, int | None]]]:
        """Pages of (seq, input, output, rel, offset of its latest row or None), in plan order."""
        last = 0
        while True:
            rows = self.db.execute("SELECT p.seq, p.input, p.output, p.rel, l.off FROM plan p LEFT JOIN latest l "
                                   "ON l.input = p.input WHERE p.seq > ? ORDER BY p.seq LIMIT ?", (last, PAGE)).fetchall()
            if not rows:
                return
            yield [(seq, dec(i), dec_opt(o), dec(r), off) for seq, i, o, r, off in rows]
            last = rows[-1][0]

    def mark_todo(self, marks: list[tuple[int, str | None, bytes]]) -> None:
        """(seq, SHA-256 of the output the results recorded, group key) of items to do."""
        if marks:
            self.db.executemany("UPDATE plan SET todo = 1, prev_sha = ? WHERE seq = ?", [(sha, seq) for seq, sha, _ in marks])
            self.db.executemany("INSERT INTO todo(gkey, seq) VALUES (?, ?)", [(g, seq) for seq, _, g in marks])
            self._wrote(len(marks))

    def todo_items(self) -> Iterator[tuple[dict, bytes]]:
        """(item, group key) of the work to do, by group then plan order, a page at a time."""
        self.commit()
        last: tuple[bytes, int] = (b"", -1)
        while True:
            rows = self.db.execute("SELECT t.gkey, t.seq, p.input, p.output, p.prev_sha FROM todo t JOIN plan p ON p.seq = t.seq "
                                   "WHERE t.gkey > ? OR (t.gkey = ? AND t.seq > ?) ORDER BY t.gkey, t.seq LIMIT ?",
                                   (last[0], last[0], last[1], PAGE)).fetchall()
            if not rows:
                return
            for gkey, _seq, i, o, sha in rows:
                item = {"input": dec(i), "output": dec_opt(o)}
                if sha:
                    item["prev_sha256"] = sha
                yield item, gkey
            last = (rows[-1][0], rows[-1][1])

    def latest_rows(self) -> Iterator[tuple[str, int, bool]]:
        """(input, offset of its latest row, whether it is in the plan), by input."""
        self.commit()
        last = b""
        while True:
            rows = self.db.execute("SELECT l.input, l.off, EXISTS(SELECT 1 FROM plan p WHERE p.input = l.input) "
                                   "FROM latest l WHERE l.input > ? ORDER BY l.input LIMIT ?", (last, PAGE)).fetchall()
            if not rows:
                return
            for i, off, inplan in rows:
                yield dec(i), off, bool(inplan)
            last = rows[-1][0]


_HEAD = b'{"input":"'
_scanstring = json.decoder.scanstring  # type: ignore[attr-defined]  # the decoder's own, C when there is one


def _input_of(line: bytes) -> str | None:
    """The ``input`` of a log line; None for a line that is not a complete row
    (the partial last line of a killed run). The rows the batch writes start
    with it (ASCII JSON): only that string is decoded, the rest is checked to
    be the end of an object; any other line is parsed whole."""
    if line.startswith(_HEAD) and line.endswith(b"}\n"):
        try:
            value, _ = _scanstring(line.decode("ascii"), len(_HEAD))
            return value
        except (ValueError, UnicodeDecodeError):
            pass
    try:
        row = json.loads(line)
    except ValueError:
        return None
    return row["input"] if isinstance(row, dict) and isinstance(row.get("input"), str) else None


class LogReader:
    """Reads rows of ``RESULTS.jsonl`` back by offset."""

    def __init__(self, log: str):
        self.fh: BinaryIO | None
        try:
            self.fh = open(log, "rb")
        except FileNotFoundError:
            self.fh = None
        except OSError as exc:
            raise AigifError("E_IO", f"cannot read {log}: {exc.strerror or exc}") from None

    def row(self, off: int | None) -> dict | None:
        if off is None or self.fh is None:
            return None
        self.fh.seek(off)
        try:
            return json.loads(self.fh.readline())
        except ValueError:
            return None

    def close(self) -> None:
        if self.fh is not None:
            self.fh.close()
