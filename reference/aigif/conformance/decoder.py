"""Decoders under test: a command (conformance/CONTRACT.md §2) or, for the
runner's own tests, a Python ``main(argv) -> int`` called in this process."""
from __future__ import annotations

import contextlib
import io
import os
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

OUTPUT_LIMIT = 256 << 20  # bytes of stdout kept; a parse result is far smaller


@dataclass
class Outcome:
    """What one invocation did."""
    rc: int | None          # exit status; None when it timed out or could not start
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool = False
    error: str | None = None  # could not start / crashed inside the runner's process

    def stderr_text(self) -> str:
        return self.stderr.decode("utf-8", "replace")

    def first_token(self) -> str | None:
        """The first whitespace-separated token of stderr, a trailing ':' removed."""
        parts = self.stderr_text().split(None, 1)
        return parts[0].rstrip(":") if parts else None

    def stderr_head(self, n: int = 200) -> str:
        s = " ".join(self.stderr_text().split())
        return s if len(s) <= n else s[:n - 3] + "..."

    def stderr_tail(self, n: int = 200) -> str:
        s = " ".join(self.stderr_text().split())
        return s if len(s) <= n else "..." + s[-n:]


def contract_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a decoder runs in (CONTRACT.md §2.4)."""
    env = dict(os.environ if base is None else base)
    env.update({"AIGIF_CONFORMANCE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                "PYTHONIOENCODING": "utf-8", "PYTHONDONTWRITEBYTECODE": "1"})
    return env


class CommandDecoder:
    """A decoder given as a command line: split with shlex, never run through
    a shell; arguments of the contract are appended."""

    parallel_safe = True

    def __init__(self, command: str | list[str], cwd: str | None = None, env: dict[str, str] | None = None):
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise ValueError("empty decoder command")
        self.name = command if isinstance(command, str) else shlex.join(command)
        self.cwd = cwd or os.getcwd()
        self.env = contract_env(env)

    def call(self, args: list[str], timeout: float) -> Outcome:
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(self.argv + args, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 start_new_session=(os.name == "posix"))
        except OSError as exc:
            return Outcome(None, b"", b"", time.monotonic() - t0, error=f"cannot start {self.argv[0]!r}: {exc.strerror or exc}")
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._kill(p)
            out, err = p.communicate()
            return Outcome(None, out[:OUTPUT_LIMIT], err[-65536:], time.monotonic() - t0, timed_out=True)
        return Outcome(p.returncode, out[:OUTPUT_LIMIT], err[-65536:], time.monotonic() - t0)

    @staticmethod
    def _kill(p: subprocess.Popen) -> None:
        """Kill the decoder and everything it started (its own session)."""
        try:
            if os.name == "posix":
                os.killpg(p.pid, signal.SIGKILL)
            else:  # pragma: no cover
                p.kill()
        except (ProcessLookupError, PermissionError):
            p.kill()


class InProcessDecoder:
    """``main(argv) -> int`` run in this process with stdout/stderr captured.
    Timeouts are not enforced; use it for decoders known to terminate (the
    reference decoder, the runner's tests)."""

    parallel_safe = False

    def __init__(self, main: Callable[[list[str]], int], name: str = "in-process"):
        self.main = main
        self.name = name

    @classmethod
    def from_script(cls, path: str) -> InProcessDecoder:
        """A decoder script that defines ``main(argv) -> int`` (and runs it only
        under ``if __name__ == "__main__"``)."""
        import runpy

        ns = runpy.run_path(str(path), run_name="aigif_conformance_decoder")
        return cls(ns["main"], name=f"{path} (in-process)")

    @classmethod
    def reference(cls) -> InProcessDecoder:
        from .. import refdecoder

        return cls(refdecoder.main, name="aigif.refdecoder (in-process)")

    def call(self, args: list[str], timeout: float) -> Outcome:
        out, err = io.StringIO(), io.StringIO()
        t0 = time.monotonic()
        rc: int | None
        error = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = self.main(list(args))
                rc = 0 if rc is None else rc
            except SystemExit as exc:
                rc = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except Exception:  # a crash, reported like a process that died
                rc = None
                error = "crashed: " + traceback.format_exc(limit=-3).strip().splitlines()[-1]
                sys.stderr.write(traceback.format_exc())
        return Outcome(rc, out.getvalue().encode("utf-8", "surrogateescape"),
                       err.getvalue().encode("utf-8", "surrogateescape"), time.monotonic() - t0, error=error)
