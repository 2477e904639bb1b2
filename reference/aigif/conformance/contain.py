"""Run one decoder invocation contained (conformance/CONTRACT.md §2.8).

    python -I -S contain.py STATUS_FD RUNNER_PID -- DECODER ARGS...

The runner starts this script in a new session; it starts the decoder in a
process group of its own and waits. On Linux it is first made a *child
subreaper* (``PR_SET_CHILD_SUBREAPER``): every process the decoder starts,
even one that calls ``setsid`` and is orphaned, is re-parented here rather
than to init, so it stays findable. When the decoder exits, or when the
runner sends SIGTERM (time limit, output cap), or when the runner dies
(``PR_SET_PDEATHSIG``), every remaining descendant is killed with SIGKILL
and reaped; then one JSON line goes to STATUS_FD: ``{"rc": N}`` (negative N:
killed by signal -N), ``{"rc": null, "stopped": true}`` or ``{"error": ...}``.

Standard library only and run with ``-I -S``: it must start fast and must
not import anything the decoder's environment could shadow.
"""
from __future__ import annotations

import json
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


class _Stop(Exception):
    pass


def _on_term(signum, frame):
    raise _Stop()


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):  # not Linux: process-group containment only
        return False


def _children() -> list[int]:
    """PIDs whose parent is this process (orphans included, thanks to the subreaper)."""
    me = os.getpid()
    out: list[int] = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        fields = stat[stat.rfind(b")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == me:
            out.append(int(name))
    return out


def _kill_all(group: int | None) -> None:
    """SIGKILL the decoder's group and every descendant until none is left."""
    signal.alarm(10)  # never outlive a pathological fork storm by more than this
    while True:
        if group is not None:
            try:
                os.killpg(group, signal.SIGKILL)
            except OSError:
                pass
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:  # pragma: no cover
            continue


def main(argv: list[str]) -> int:
    status_fd, runner_pid = int(argv[1]), int(argv[2])
    cmd = argv[4:]
    os.set_inheritable(status_fd, False)
    signal.signal(signal.SIGTERM, _on_term)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    status: dict = {"rc": None, "stopped": True}
    group = None
    try:
        if os.getppid() != runner_pid:  # the runner died before PDEATHSIG was armed
            raise _Stop()
        try:
            # setsigdef: Python ignores SIGPIPE and SIGXFSZ; the decoder must get the defaults.
            pid = os.posix_spawnp(cmd[0], cmd, os.environ, setpgroup=0,
                                  setsigdef=[s for s in (signal.SIGPIPE, getattr(signal, "SIGXFSZ", None),
                                                         signal.SIGTERM) if s is not None])
        except OSError as exc:
            status = {"error": f"cannot start {cmd[0]!r}: {exc.strerror or exc}"}
        else:
            group = pid
            while True:
                got, st = os.waitpid(-1, 0)
                if got == pid:
                    status = {"rc": os.waitstatus_to_exitcode(st)}
                    break
    except _Stop:
        pass
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _kill_all(group)
    try:
        os.write(status_fd, (json.dumps(status) + "\n").encode())
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
