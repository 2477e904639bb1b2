"""Decoders under test: a command (conformance/CONTRACT.md §2) or, for the
runner's own tests, a Python ``main(argv) -> int`` called in this process."""
from __future__ import annotations

import contextlib
import io
import json
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

#: Caps on what the runner keeps of a decoder's streams (CONTRACT.md §2.8). Past a
#: cap the decoder is killed and the vector fails: memory stays bounded per job.
STDOUT_LIMIT = 16 << 20      # the largest expected result is under 100 KB
STDERR_LIMIT = 16 << 20      # free text; logs of a long render fit easily
STDERR_KEEP = 64 << 10       # head and tail of stderr kept for reasons and codes
GRACE_S = 2.0                # after a kill, how long the pipes may take to close
_CONTAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "contain.py")


@dataclass
class Outcome:
    """What one invocation did."""
    rc: int | None          # exit status; None when it timed out or could not start
    stdout: bytes
    stderr: bytes
    seconds: float
    timed_out: bool = False
    error: str | None = None  # could not start / crashed inside the runner's process
    overflow: str | None = None  # "stdout" or "stderr": it wrote past the cap and was killed

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

    def call(self, args: list[str], timeout: float, stdout_limit: int = STDOUT_LIMIT) -> Outcome:
        if os.name != "posix":  # pragma: no cover - no containment wrapper there
            return self._call_plain(args, timeout, stdout_limit)
        t0 = time.monotonic()
        r_status, w_status = os.pipe()
        try:
            p = subprocess.Popen([sys.executable, "-I", "-S", _CONTAIN, str(w_status), str(os.getpid()), "--",
                                  *self.argv, *args],
                                 cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, pass_fds=(w_status,), start_new_session=True)
        except OSError as exc:
            os.close(r_status)
            return Outcome(None, b"", b"", time.monotonic() - t0, error=f"cannot start the runner's wrapper: {exc.strerror or exc}")
        finally:
            os.close(w_status)
        try:
            out, err, timed_out, overflow = _drain(p, t0 + timeout, stdout_limit)
            status = _read_status(r_status)
        finally:
            os.close(r_status)
        seconds = time.monotonic() - t0
        if "error" in status:
            return Outcome(None, b"", err, seconds, error=status["error"])
        rc = None if (timed_out or overflow) else status.get("rc")
        error = None
        if rc is None and not (timed_out or overflow):
            error = "the decoder's process was lost (its containment wrapper was killed)"
        return Outcome(rc, out, err, seconds, timed_out=timed_out, error=error, overflow=overflow)

    def _call_plain(self, args: list[str], timeout: float, stdout_limit: int) -> Outcome:  # pragma: no cover
        t0 = time.monotonic()
        try:
            p = subprocess.Popen(self.argv + args, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            return Outcome(None, b"", b"", time.monotonic() - t0, error=f"cannot start {self.argv[0]!r}: {exc.strerror or exc}")
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return Outcome(None, out[:stdout_limit], err[-STDERR_KEEP:], time.monotonic() - t0, timed_out=True)
        return Outcome(p.returncode, out[:stdout_limit], err[-STDERR_KEEP:], time.monotonic() - t0)


class _Stream:
    """One pipe read incrementally: ``keep`` bytes of its head (and, for
    stderr, of its tail), never more; ``total`` counts everything read."""

    def __init__(self, limit: int, head: int, tail: int = 0):
        self.limit, self.head_cap, self.tail_cap = limit, head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def add(self, chunk: bytes) -> bool:
        """Keep what fits; False once more than ``limit`` bytes were written."""
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if self.tail_cap and chunk:
            self.tail += chunk
            del self.tail[:-self.tail_cap]
        return self.total <= self.limit

    def value(self) -> bytes:
        if not self.tail:
            return bytes(self.head)
        return bytes(self.head) + b"\n[... %d bytes ...]\n" % (self.total - len(self.head) - len(self.tail)) + bytes(self.tail)


def _drain(p: subprocess.Popen, deadline: float, stdout_limit: int) -> tuple[bytes, bytes, bool, str | None]:
    """Read both pipes until they close, the time limit passes, or a cap is
    exceeded; then stop the wrapper (which kills everything the decoder
    started) and stop reading after GRACE_S whatever still holds a pipe."""
    assert p.stdout is not None and p.stderr is not None
    out, err = _Stream(stdout_limit, stdout_limit), _Stream(STDERR_LIMIT, STDERR_KEEP, STDERR_KEEP)
    streams = {p.stdout.fileno(): ("stdout", out), p.stderr.fileno(): ("stderr", err)}
    inodes = {os.fstat(fd).st_ino for fd in streams}
    timed_out, overflow = False, None
    stop_at: float | None = None   # set once the wrapper was told to stop or has exited
    sel = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ)
    try:
        while True:
            now = time.monotonic()
            exited = p.poll() is not None
            if exited and not sel.get_map():
                break
            if stop_at is None and now >= deadline:
                timed_out = True
                stop_at = _stop(p, now)
            if stop_at is None and exited:
                stop_at = now + GRACE_S  # wrapper gone: its kill loop ran, or it was killed
            if stop_at is not None and now >= stop_at:
                break
            wait = max(0.0, min((deadline if stop_at is None else stop_at) - now, 0.25))
            if not sel.get_map():  # the decoder closed its streams but runs on
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(wait)
                continue
            for key, _ in sel.select(wait):
                try:
                    chunk = os.read(key.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fd)
                    continue
                name, s = streams[key.fd]
                if not s.add(chunk) and overflow is None and not timed_out:
                    overflow = name
                    if stop_at is None:
                        stop_at = _stop(p, time.monotonic())
        left_open = bool(sel.get_map())
    finally:
        sel.close()
    lost = p.poll() is None
    if lost:  # the wrapper ignored SIGTERM past the grace period
        p.kill()
        p.wait()
    if lost or left_open:
        # Something escaped the wrapper (which was killed, perhaps by the decoder) or holds a pipe.
        _kill_leftovers(p.pid, inodes)
    p.stdout.close()
    p.stderr.close()
    return out.value(), err.value(), timed_out, overflow


def _stop(p: subprocess.Popen, now: float) -> float:
    """Ask the wrapper to kill everything the decoder started; when to give up reading."""
    try:
        p.send_signal(signal.SIGTERM)
    except OSError:
        pass
    return now + GRACE_S


def _kill_leftovers(sid: int, inodes: set[int]) -> None:
    """Last resort, when the wrapper could not do its job: SIGKILL every process
    still in the decoder's session and any process holding one of its pipes
    (a ``setsid`` child), found through /proc."""
    want = {f"pipe:[{i}]" for i in inodes}
    me = os.getpid()
    try:
        pids = [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) != me]
    except OSError:
        return
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read()
            # "pid (comm) state ppid pgrp session ...": comm may hold spaces and parentheses
            if int(stat[stat.rfind(b")") + 2:].split()[3]) == sid:
                os.kill(pid, signal.SIGKILL)
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in want:
                    os.kill(pid, signal.SIGKILL)
                    break
        except (OSError, ValueError, IndexError):
            continue


def _read_status(fd: int) -> dict:
    """The wrapper's one JSON line (empty when it was killed before writing it)."""
    os.set_blocking(fd, False)
    data = b""
    try:
        while len(data) < 4096:
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            data += chunk
    except BlockingIOError:
        pass
    try:
        status = json.loads(data.decode("utf-8", "replace").splitlines()[0]) if data else {}
    except (ValueError, IndexError):
        status = {}
    return status if isinstance(status, dict) else {}


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

    def call(self, args: list[str], timeout: float, stdout_limit: int = STDOUT_LIMIT) -> Outcome:
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
        stdout = out.getvalue().encode("utf-8", "surrogateescape")
        overflow = "stdout" if len(stdout) > stdout_limit else None  # the same verdict as a command
        kept = _Stream(1 << 62, STDERR_KEEP, STDERR_KEEP)  # the same head and tail a command's stderr keeps
        kept.add(err.getvalue().encode("utf-8", "surrogateescape"))
        return Outcome(None if overflow else rc, stdout[:stdout_limit], kept.value(), time.monotonic() - t0,
                       error=error, overflow=overflow)
