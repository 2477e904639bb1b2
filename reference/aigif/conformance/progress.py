"""The runner's progress line (issue 16): on a terminal, one line on stderr
redrawn in place as the vectors are judged, then left as a last line with the
totals and the time; off when stderr is not a terminal (logs, CI), unless
forced (``aigif-conformance run --progress``).

    [conformance] 412/711  58%  pass 410  fail 1  skip 1  14.2/s  ETA 0:21  reject/deflate-bomb

Only counts and vector IDs are shown (IDs are the manifest's, checked names);
nothing the decoder wrote reaches the terminal from here.
"""
from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

from ..safetext import printable

LABELS = (("pass", "pass"), ("fail", "fail"), ("skip", "skip"), ("unsupported", "unsupported"))


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """A callable for :func:`aigif.conformance.runner.run`'s ``progress``:
    thread-safe, redraws at most every ``interval`` seconds (and always for the
    last vector); :meth:`close` ends the line."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool | None = None,
                 interval: float = 0.1, width: int | None = None, clock: Callable[[], float] = time.monotonic):
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.total = total
        self.interval = interval
        self.width = width
        self.clock = clock
        self.t0 = clock()
        self.shown_at: float | None = None
        self.counts = {k: 0 for k, _ in LABELS}
        self.done = 0
        self.last_id = ""
        self._drawn = 0          # length of the line on screen (to blank what a shorter one leaves)
        self._lock = threading.Lock()
        self._closed = False

    def __call__(self, result) -> None:
        with self._lock:
            self.done += 1
            self.counts[result.status] = self.counts.get(result.status, 0) + 1
            self.last_id = result.id
            now = self.clock()
            if self.enabled and (self.shown_at is None or now - self.shown_at >= self.interval or self.done >= self.total):
                self.shown_at = now
                self._draw(self.line(now))

    def line(self, now: float | None = None, final: bool = False) -> str:
        now = self.clock() if now is None else now
        elapsed = max(now - self.t0, 1e-9)
        pct = 100 * self.done // self.total if self.total else 100
        parts = [f"[conformance] {self.done}/{self.total}", f"{pct}%"]
        parts += [f"{label} {self.counts[k]}" for k, label in LABELS if self.counts.get(k) or k in ("pass", "fail")]
        if final:
            parts.append(f"in {_clock(elapsed)}")
        else:
            rate = self.done / elapsed
            parts.append(f"{rate:.1f}/s")
            if 0 < self.done < self.total:
                parts.append(f"ETA {_clock((self.total - self.done) / rate)}")
            if self.last_id:
                parts.append(printable(self.last_id))
        return "  ".join(parts)

    def _columns(self) -> int:
        if self.width:
            return self.width
        return max(20, shutil.get_terminal_size((80, 24)).columns)

    def _draw(self, text: str) -> None:
        text = text[:self._columns() - 1]
        pad = " " * max(0, self._drawn - len(text))
        try:
            self.stream.write("\r" + text + pad)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken terminal never stops the run
            self.enabled = False
        self._drawn = len(text)

    def close(self) -> None:
        """Redraw the line once more as the run's totals and end it with a newline."""
        with self._lock:
            if self._closed or not self.enabled:
                self._closed = True
                return
            self._closed = True
            self._draw(self.line(final=True))
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
