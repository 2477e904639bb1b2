"""Runs a batch's work on Ray actors: the same code on a laptop (Ray starts in
this process's session, no set-up), a GPU box (one actor per GPU) and a
cluster (``address``).

Why actors and ``ray.wait`` rather than a Ray Data ``map_batches``: a batch
must survive a file that kills or wedges its worker. Ray Data retries a whole
block when its worker dies, so a file that crashes the worker every time
fails the block (or the dataset) again and again; here the engine knows which
file each actor is on, kills only that actor when its file overruns (the
in-actor SIGALRM budget cannot interrupt C code), records the file with a
code, and gives its other files to a fresh actor. The actors are what keep a
model loaded: each holds one :class:`~aigif.batch.work.Worker`, and
decode/verify work is queued by model key so an actor stays on one model
while that model has files left (each actor loads each model at most once).

Memory: the work comes as a stream (from the driver's on-disk index); the
engine holds a window of it (``window`` files; by default four times what
the actors can have in flight, at least 1,024), refilled as calls finish; file
contents are read by the actors, and at most ``depth`` calls per actor are in
flight. Grouped work (decode, verify) comes sorted by model key, so the
window holds the files of one or a few models at a time.
"""
from __future__ import annotations

import itertools
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from ..errors import AigifError
from . import E_BATCH_TIMEOUT, E_BATCH_WORKER_LOST

MODEL_LOAD_GRACE_S = 900.0  # a first call on a model may load gigabytes before its file's budget starts


def start(address: str | None = None, workers: int | None = None) -> None:
    """Join ``address``, or start a local Ray quietly (no dashboard); a session
    this process already has (tests, notebooks) is used as it is."""
    import ray
    if ray.is_initialized():
        return
    quiet: dict[str, Any] = {"logging_level": logging.ERROR, "log_to_driver": False, "configure_logging": True}
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    if address:
        ray.init(address=address, **quiet)
    else:
        ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, **quiet)


class _Actor:
    def __init__(self, op: str, opts: dict):
        from .work import Worker
        self.worker = Worker(op, opts)

    def ready(self) -> bool:
        return True

    def run(self, batch: list[dict]) -> list[dict]:
        return self.worker.run(batch)


def run(op: str, todo: Iterable[tuple[dict, Any]], opts: dict, on_rows: Callable[[list[dict]], None], *,
        total: int, grouped: bool = False, workers: int | None = None, chunk: int = 64, depth: int = 2,
        window: int | None = None, gpus_per_worker: float = 1.0, hard_grace_s: float = 30.0) -> dict:
    """Do ``todo`` ((item, key) pairs; an item is a dict with input, output;
    ``total`` of them) on actors and hand each finished row list to ``on_rows``
    as it arrives. ``grouped`` (decode, verify): ``key`` is the file's model
    key, files come sorted by it, are sent one a call, and an actor keeps to
    one key while the window has its files. Returns facts about the run
    (actors, restarts, device)."""
    import ray
    from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

    resources = ray.cluster_resources()
    use_gpu = op in ("decode", "verify") and resources.get("GPU", 0) > 0 and opts.get("device") in (None, "cuda")
    if use_gpu:
        opts = {**opts, "device": "cuda"}
        capacity = int(resources["GPU"] / gpus_per_worker) or 1
        actor_opts: dict[str, Any] = {"num_gpus": gpus_per_worker, "num_cpus": 1}
    else:
        if op in ("decode", "verify"):
            opts = {**opts, "device": opts.get("device") or "cpu"}
        capacity = int(resources.get("CPU", 1)) or 1
        actor_opts = {"num_cpus": 1}
    remote_cls: Any = ray.remote(**actor_opts, max_restarts=0)(_Actor)  # a dead actor is replaced by us, not retried into a crash loop

    # queues of calls, by key; a call is a list of items; filled from the stream up to the window
    per_call = 1 if grouped else max(1, chunk)
    n = max(1, min(workers or capacity, total))
    limit = window or max(1024, 4 * n * depth * per_call)
    queues: dict[Any, deque] = {}
    stream = iter(todo)
    state = {"queued": 0, "exhausted": False}

    def refill() -> None:
        while not state["exhausted"] and state["queued"] < limit:
            if grouped:
                nxt = next(stream, None)
                if nxt is None:
                    state["exhausted"] = True
                    return
                queues.setdefault(nxt[1], deque()).append([nxt[0]])
                state["queued"] += 1
            else:
                call = [item for item, _ in itertools.islice(stream, per_call)]
                if not call:
                    state["exhausted"] = True
                    return
                queues.setdefault(None, deque()).append(call)
                state["queued"] += len(call)

    def requeue(key: Any, calls: list) -> None:
        """Put calls back at the front of their queue (a lost actor's), in their order."""
        queues.setdefault(key, deque()).extendleft(reversed(calls))
        state["queued"] += sum(len(c) for c in calls)

    budget = float(opts.get("budget") or 0)

    class Slot:
        def __init__(self) -> None:
            self.reset()

        def reset(self) -> None:
            self.handle: Any = remote_cls.remote(op, opts)
            self.ready_ref: Any = self.handle.ready.remote()  # deadlines run from here: a start is not a file's time
            self.key: Any = object()  # no model yet
            self.calls: list[tuple[Any, list, Any, float]] = []  # (ref, call, key, allowance) in submission order
            self.deadline: float | None = None

    slots = [Slot() for _ in range(n)]
    facts: dict[str, Any] = {"actors": n, "restarts": 0, "failed_starts": 0, "device": "cuda" if use_gpu else "cpu", "killed_on_timeout": 0}
    owner: dict[Any, Slot] = {}

    def pick(slot: Slot):
        refill()
        if queues.get(slot.key):
            key = slot.key
        else:
            sizes = [(len(v), i, k) for i, (k, v) in enumerate(queues.items()) if v]
            if not sizes:
                return None, None
            key = max(sizes, key=lambda t: (t[0], -t[1]))[2]  # the fullest queue; the first of equals
        q = queues[key]
        call = q.popleft()
        if not q:
            del queues[key]  # the window's keys only: the dict stays small
        state["queued"] -= len(call)
        return call, key

    def submit(slot: Slot) -> bool:
        call, key = pick(slot)
        if call is None:
            return False
        load = MODEL_LOAD_GRACE_S if (grouped and key != slot.key) else 0.0
        allow = load + (budget * len(call) if budget else 3600.0) + hard_grace_s
        if slot.ready_ref is None:  # running: this call starts after those before it
            now = time.monotonic()
            slot.deadline = (max(now, slot.deadline) if slot.calls and slot.deadline else now) + allow
        slot.key = key
        ref = slot.handle.run.remote(call)
        slot.calls.append((ref, call, key, allow))
        owner[ref] = slot
        return True

    def fail(call: list, code: str, message: str) -> None:
        rows = []
        for it in call:
            row = {"input": it["input"], "output": it.get("output"), "status": "failed", "code": code, "message": message, "seconds": None}
            try:  # the input's fingerprint as the driver sees it: a re-run keeps this verdict while the file is unchanged
                st = os.stat(it["input"])
                row.update(in_size=st.st_size, in_mtime_ns=st.st_mtime_ns)
            except OSError:
                pass
            rows.append(row)
        on_rows(rows)

    def lose(slot: Slot, code: str, message: str) -> None:
        """The actor died or overran: its running call is the culprit (an actor
        runs calls in order); a culprit of one file gets the row, a bigger one
        is split into single files to find it; the calls behind it go back as they were."""
        if slot.ready_ref is not None:  # it may have started and died on a file before we saw it start
            started, _ = ray.wait([slot.ready_ref], timeout=0)
            try:
                if started and ray.get(started[0], timeout=1):
                    slot.ready_ref = None
            except (RayActorError, RayTaskError, GetTimeoutError):
                pass
        for ref, *_ in slot.calls:
            owner.pop(ref, None)
        ray.kill(slot.handle, no_restart=True)
        calls = slot.calls
        if slot.ready_ref is None and calls:  # it was running: the first call is the culprit
            (_, culprit, ckey, _), calls = calls[0], calls[1:]
            if len(culprit) == 1:
                fail(culprit, code, message)
            else:
                requeue(ckey, [[it] for it in culprit])
        else:  # it died starting: no file is to blame
            facts["failed_starts"] += 1
            if facts["failed_starts"] > 10 * n:
                raise AigifError("E_IO", f"the batch workers do not start ({message})")
        for _, call, key, _ in reversed(calls):
            requeue(key, [call])
        slot.reset()  # a fresh actor in the same slot
        facts["restarts"] += 1

    while True:
        for slot in slots:
            while len(slot.calls) < depth and submit(slot):
                pass
        starting = {s.ready_ref: s for s in slots if s.ready_ref is not None}
        pending = list(starting) + [ref for s in slots for ref, *_ in s.calls]  # starts first: see lose()
        if not any(s.calls for s in slots):
            break
        running = [s.deadline for s in slots if s.calls and s.deadline is not None]
        wait_s = max(0.01, min(1.0, min(running) - time.monotonic())) if running else 1.0
        done, _ = ray.wait(pending, num_returns=1, timeout=wait_s)
        for ref in done:
            if ref in starting:
                slot = starting[ref]
                try:
                    ray.get(ref, timeout=60)
                except (RayActorError, RayTaskError, GetTimeoutError) as exc:
                    lose(slot, E_BATCH_WORKER_LOST, f"a worker did not start ({type(exc).__name__})")
                    continue
                slot.ready_ref = None
                slot.deadline = time.monotonic() + sum(c[3] for c in slot.calls)
                continue
            if ref not in owner:
                continue
            slot = owner.pop(ref)
            try:
                rows = ray.get(ref, timeout=60)
            except (RayActorError, RayTaskError, GetTimeoutError) as exc:
                owner[ref] = slot  # lose() pops every call of the slot
                lose(slot, E_BATCH_WORKER_LOST, f"the worker process died on this file ({type(exc).__name__})")
                continue
            slot.calls = [c for c in slot.calls if c[0] != ref]
            on_rows(rows)
        now = time.monotonic()
        for slot in slots:
            if slot.calls and slot.deadline is not None and now > slot.deadline:
                facts["killed_on_timeout"] += 1
                lose(slot, E_BATCH_TIMEOUT, f"no answer within the budget ({budget:g} s a file) and {hard_grace_s:g} s more; "
                     "its worker was killed")
    for slot in slots:
        ray.kill(slot.handle, no_restart=True)
    return facts
