"""Run a decoder against the vectors and judge each answer
(conformance/CONTRACT.md §6), against what each vector's own files expect.

One :class:`VectorResult` per vector: ``pass``, ``fail`` (with a one-line
reason), ``skip`` (the decoder said "cannot here" with exit status 3, or the
vector states no tolerance for the device class) or ``unsupported`` (a pixel
codec's vector, and the decoder said with exit status 3 and ``E_UNSUPPORTED``
that it does not implement that codec: neither a pass nor a failure).
"""
from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from ..safetext import printable
from . import compare, png
from .decoder import STDOUT_LIMIT
from .suite import LEVELS, PIXEL_LEVELS, Suite, SuiteError, Vector

DEFAULT_TIMEOUTS = {"parse": 10.0, "reject": 10.0, "noise": 60.0, "regen": 600.0, "diffc": 600.0}
CANNOT_CODES = {
    "noise": ("E_NOISE_UNAVAILABLE",),
    "regen": ("E_MODEL_UNAVAILABLE", "E_NOISE_UNAVAILABLE", "E_REGEN_UNSUPPORTED"),
    "diffc": ("E_MODEL_UNAVAILABLE", "E_REGEN_UNSUPPORTED"),
}
#: exit 3 with this code on a pixel level: the decoder does not implement the payload's codec (CONTRACT.md §5a)
UNSUPPORTED_CODE = "E_UNSUPPORTED"
STATUSES = ("pass", "fail", "skip", "unsupported")
EXIT_OK, EXIT_INVALID, EXIT_CANNOT = 0, 1, 3


@dataclass
class VectorResult:
    id: str
    cls: str
    status: str                   # "pass" | "fail" | "skip" | "unsupported"
    reason: str = ""
    seconds: float = 0.0
    exit: int | None = None
    detail: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        d = asdict(self)
        d["class"] = d.pop("cls")
        return d


@dataclass
class Options:
    timeouts: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    device_class: str = "cpu"
    jobs: int = 1
    workdir: str | None = None    # where render outputs go (a fresh temporary directory if None)
    measure: bool = False         # regen: render and record the PSNR of every vector, ignoring tolerances
    platform: str = ""            # a label for the machine the decoder ran on (recorded in the results)


@dataclass
class Report:
    decoder: str
    options: Options
    results: list[VectorResult]
    seconds: float
    suite: Suite | None = None
    levels: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> list[VectorResult]:
        return [r for r in self.results if r.status == "fail"]

    @property
    def skipped(self) -> list[VectorResult]:
        return [r for r in self.results if r.status == "skip"]

    @property
    def unsupported(self) -> list[VectorResult]:
        return [r for r in self.results if r.status == "unsupported"]

    def summary(self) -> str:
        s = f"{self.count('pass')} passed, {self.count('fail')} failed"
        s += f", {self.count('skip')} skipped" if self.count("skip") else ""
        return s + (f", {self.count('unsupported')} unsupported" if self.count("unsupported") else "")

    def lines(self, verbose: bool = False) -> list[str]:
        out = []
        # Reasons quote the decoder's stderr and output: escaped, so it cannot forge lines or drive the terminal.
        if verbose:
            out += [f"pass {r.id}" for r in self.results if r.status == "pass"]
        out += [f"FAIL {r.id}: {printable(r.reason)}" for r in self.failed]
        if self.skipped:
            out.append("skipped (the decoder cannot run these here; not failures):")
            out += [f"  skip {r.id}: {printable(r.reason)}" for r in self.skipped]
        if self.unsupported:
            out.append("unsupported (the decoder does not implement these; not failures, not passes):")
            out += [f"  unsupported {r.id}: {printable(r.reason)}" for r in self.unsupported]
        out.append(self.summary())
        return out

    def to_json(self) -> dict:
        m = self.suite.manifest if self.suite else {}
        manifest_sha = None
        if self.suite is not None and (self.suite.root / "manifest.json").is_file():
            manifest_sha = hashlib.sha256((self.suite.root / "manifest.json").read_bytes()).hexdigest()
        return {
            "format": "aigif-conformance-results",
            "version": 1,
            "decoder": self.decoder,
            "suite": {"vectors": str(self.suite.root) if self.suite else None, "manifest_sha256": manifest_sha,
                      "spec_version": m.get("spec_version"), "registry_sha256": m.get("registry", {}).get("sha256")},
            "levels": self.levels,
            "device_class": self.options.device_class,
            "platform": self.options.platform,
            "measure": self.options.measure,
            "timeouts": self.options.timeouts,
            "seconds": round(self.seconds, 3),
            "summary": {"passed": self.count("pass"), "failed": self.count("fail"), "skipped": self.count("skip"),
                        "unsupported": self.count("unsupported")},
            "results": [r.to_json() for r in self.results],
        }


# ------------------------------------------------------------------ helpers
def _common_failure(v: Vector, o, timeout: float) -> str | None:
    if o.overflow:
        return f"wrote more than the {_limit_of(v, o.overflow):,} bytes allowed on {o.overflow} (killed)"
    if o.error and o.rc is None and not o.timed_out:
        return o.error
    if o.timed_out:
        return f"timed out after {timeout:g} s"
    return None


def stdout_limit(v: Vector) -> int:
    """Bytes of stdout a vector's answer may take (CONTRACT.md §2.8): 1 MiB plus
    16 times the expected result's file for parse and noise (any whitespace
    and number spelling fits), 1 MiB where stdout should be empty."""
    if v.cls in ("parse", "noise"):
        try:
            size = os.stat(v.files["expected"]).st_size
        except OSError:
            size = 0
        return min(STDOUT_LIMIT, (1 << 20) + 16 * size)
    return 1 << 20


def _limit_of(v: Vector, stream: str) -> int:
    from .decoder import STDERR_LIMIT
    return stdout_limit(v) if stream == "stdout" else STDERR_LIMIT


def _stdout_json(o):
    try:
        text = o.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"stdout is not UTF-8 ({exc.reason} at byte {exc.start})"
    if text.startswith("\ufeff"):
        return None, "stdout starts with a byte-order mark"
    if not text.strip():
        return None, "exit 0 but nothing on stdout"
    try:
        return compare.loads_strict(text), None
    except compare.BadJSON as exc:
        return None, f"stdout is not one JSON value ({exc})"


# ------------------------------------------------------------------ per class
def check_parse(decoder, v: Vector, opts: Options) -> VectorResult:
    t = opts.timeouts["parse"]
    o = decoder.call(["parse", str(v.files["input"])], t, stdout_limit=stdout_limit(v))
    r = VectorResult(v.id, v.cls, "fail", seconds=round(o.seconds, 3), exit=o.rc)
    why = _common_failure(v, o, t)
    if why:
        r.reason = why
    elif o.rc == EXIT_INVALID:
        r.reason = f"rejected a valid file: {o.first_token() or '(no code on stderr)'}"
        r.detail["error"] = o.first_token()
    elif o.rc != EXIT_OK:
        r.reason = f"exit status {o.rc} for a valid file" + (f": {o.stderr_tail()}" if o.stderr else "")
    else:
        diff = _judge_stdout(r, o, lambda actual: compare.first_difference(v.expected_json(), actual))
        if diff:
            r.detail["field"] = diff.split(":", 1)[0]
    return r


def _judge_stdout(r: VectorResult, o, difference) -> str | None:
    """Exit 0: stdout must be one JSON value, and ``difference(value)`` must find
    nothing; returns that difference, if any."""
    actual, why = _stdout_json(o)
    if why:
        r.reason = why
        return None
    diff = difference(actual)
    if diff:
        r.reason = diff
    else:
        r.status = "pass"
    return diff


def _expect_code(r: VectorResult, o, want: str) -> None:
    """A vector whose answer is exit 1 with ``want`` first on stderr (CONTRACT.md §6): pass, or why not."""
    if o.rc != EXIT_INVALID:
        r.reason = f"exit status {o.rc}, expected 1 with {want}" + (f": {o.stderr_tail()}" if o.stderr else "")
        return
    got = o.first_token()
    r.detail["error"] = got
    if got == want:
        r.status = "pass"
    elif not got or not got.startswith("E_"):
        r.reason = f"exit 1 but stderr does not start with an error code (expected {want}): {o.stderr_tail()}"
    else:
        r.reason = f"reported {got}, expected {want}"


def check_reject(decoder, v: Vector, opts: Options) -> VectorResult:
    t = opts.timeouts["reject"]
    want = v.expected_json()["error"]
    o = decoder.call(["parse", str(v.files["input"])], t, stdout_limit=stdout_limit(v))
    r = VectorResult(v.id, v.cls, "fail", seconds=round(o.seconds, 3), exit=o.rc, detail={"expected_error": want})
    why = _common_failure(v, o, t)
    if why:
        r.reason = f"{why} (expected {want})"
    elif o.rc == EXIT_OK:
        r.reason = f"accepted an invalid file (expected {want})"
    else:
        _expect_code(r, o, want)
    return r


def _cannot_here(r: VectorResult, o, level: str) -> None:
    """Exit 3 ("cannot here", CONTRACT.md): a skip when stderr starts with one of the
    level's codes; on a pixel level, ``E_UNSUPPORTED`` (the codec is not
    implemented) is "unsupported"; a failure otherwise."""
    code = o.first_token()
    allowed = CANNOT_CODES[level] + ((UNSUPPORTED_CODE,) if level in PIXEL_LEVELS else ())
    if level in PIXEL_LEVELS:
        r.detail["error"] = code
    if code in CANNOT_CODES[level]:
        r.status, r.reason = "skip", o.stderr_head(200)
    elif code in allowed:
        r.status, r.reason = "unsupported", o.stderr_head(200)
    else:
        r.reason = f"exit 3 needs one of {', '.join(allowed)} first on stderr, got {code!r}"


def check_noise(decoder, v: Vector, opts: Options) -> VectorResult:
    t = opts.timeouts["noise"]
    e = v.expected_json()
    c, h, w = e["shape"][1:]
    o = decoder.call(["noise", e["source"], str(e["seed"]), str(e["count"]), str(c), str(h), str(w)], t,
                     stdout_limit=stdout_limit(v))
    r = VectorResult(v.id, v.cls, "fail", seconds=round(o.seconds, 3), exit=o.rc)
    why = _common_failure(v, o, t)
    if why:
        r.reason = why
    elif o.rc == EXIT_CANNOT:
        _cannot_here(r, o, "noise")
    elif o.rc != EXIT_OK:
        r.reason = f"exit status {o.rc}" + (f": {o.stderr_tail()}" if o.stderr else "")
    else:
        _judge_stdout(r, o, lambda actual: compare.noise_difference(e["values"], actual))
    return r


def _timeout(opts: Options, level: str) -> float:
    """The level's limit; a pixel level missing from ``opts.timeouts`` (an
    Options made before it existed) gets regen's, the other slow level."""
    return opts.timeouts.get(level, opts.timeouts.get("regen", DEFAULT_TIMEOUTS.get(level, 600.0)))


def tolerance_for(v: Vector, device_class: str):
    """The vector's tolerance for a device class: "bit-exact", {"psnr_min": x, …},
    or None when it states none. A class may be refined with colons
    ("cuda:h100"): the most specific entry the vector has wins, then "*"."""
    tol = v.meta_json().get("tolerance", {})
    parts = device_class.split(":")
    for i in range(len(parts), 0, -1):
        key = ":".join(parts[:i])
        if key in tol:
            return tol[key]
    return tol.get("*")


def check_regen(decoder, v: Vector, opts: Options, operation: str = "render") -> VectorResult:
    """A regen vector (``render FILE OUT.png``), or a pixel codec's decode
    vector (``decode FILE OUT.png``): the image against the expected PNG."""
    t = _timeout(opts, v.cls)
    tol = {"psnr_min": 0.0} if opts.measure else tolerance_for(v, opts.device_class)
    if tol is None:
        return VectorResult(v.id, v.cls, "skip", f"the vector states no tolerance for device class {opts.device_class!r}")
    tmp = tempfile.mkdtemp(prefix="aigif-conf-", dir=opts.workdir)
    try:
        out_png = os.path.join(tmp, "out.png")
        o = decoder.call([operation, str(v.files["input"]), out_png], t, stdout_limit=stdout_limit(v))
        r = VectorResult(v.id, v.cls, "fail", seconds=round(o.seconds, 3), exit=o.rc)
        why = _common_failure(v, o, t)
        if why:
            r.reason = why
        elif o.rc == EXIT_CANNOT:
            _cannot_here(r, o, v.cls)
        elif o.rc == EXIT_INVALID:
            r.reason = f"rejected a valid file: {o.first_token() or '(no code on stderr)'}"
        elif o.rc != EXIT_OK:
            r.reason = f"exit status {o.rc}" + (f": {o.stderr_tail()}" if o.stderr else "")
        elif not os.path.lexists(out_png):
            r.reason = "exit 0 but OUT.png was not written"
        else:
            _judge_image(r, v, out_png, tol, opts.device_class)
        return r
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _judge_image(r: VectorResult, v: Vector, out_png: str, tol, device_class: str) -> None:
    ew, eh, want = png.read_png(v.files["expected"].read_bytes())  # the suite's own file, SHA-256 checked
    try:
        w, h, got = png.read_png_file(out_png, (ew, eh))
    except png.SizeMismatch as exc:
        r.reason = str(exc)
        return
    except png.PNGError as exc:
        r.reason = f"OUT.png: {exc}"
        return
    p = compare.psnr(want, got)
    r.detail["psnr"] = "inf" if math.isinf(p) else round(p, 3)
    if tol == "bit-exact":
        r.detail["tolerance"] = "bit-exact"
        if math.isinf(p):
            r.status = "pass"
        else:
            r.reason = f"not bit-exact (PSNR {p:.2f} dB); device class {device_class!r} requires bit-exact"
        return
    need = float(tol["psnr_min"])
    r.detail["tolerance"] = {"psnr_min": need}
    if p >= need:
        r.status = "pass"
    else:
        r.reason = f"PSNR {p:.2f} dB is below the minimum {need:g} dB for device class {device_class!r}"


def check_pixels(decoder, v: Vector, opts: Options) -> VectorResult:
    """A pixel codec's vector (``decode FILE OUT.png``, CONTRACT.md §5a): a
    decode vector is judged as an image; a reject vector passes with exit 1
    and its code (the file parses: only decoding the payload finds the fault)."""
    if v.wants_image:
        return check_regen(decoder, v, opts, operation="decode")
    t = _timeout(opts, v.cls)
    want = v.expected_json()["error"]
    tmp = tempfile.mkdtemp(prefix="aigif-conf-", dir=opts.workdir)
    try:
        o = decoder.call(["decode", str(v.files["input"]), os.path.join(tmp, "out.png")], t, stdout_limit=stdout_limit(v))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r = VectorResult(v.id, v.cls, "fail", seconds=round(o.seconds, 3), exit=o.rc, detail={"expected_error": want})
    why = _common_failure(v, o, t)
    if why:
        r.reason = f"{why} (expected {want})"
    elif o.rc == EXIT_CANNOT:
        _cannot_here(r, o, v.cls)
    elif o.rc == EXIT_OK:
        r.reason = f"decoded an invalid payload (expected {want})"
    else:
        _expect_code(r, o, want)
    return r


CHECKS = {"parse": check_parse, "reject": check_reject, "noise": check_noise, "regen": check_regen,
          **{lv: check_pixels for lv in PIXEL_LEVELS}}


def check(decoder, v: Vector, opts: Options) -> VectorResult:
    return CHECKS[v.cls](decoder, v, opts)


def run(decoder, vectors: list[Vector], opts: Options | None = None, suite: Suite | None = None,
        levels: list[str] | None = None, progress=None) -> Report:
    """Judge ``decoder`` on ``vectors`` (in their order). Regen and pixel-codec
    vectors run one at a time (they may need all of a GPU); the rest in
    ``opts.jobs`` threads when the decoder is a separate process.
    ``progress(result)`` is called as each vector is judged (from the worker
    threads: it must be thread-safe, as :class:`.progress.Progress` is)."""
    opts = opts or Options()
    t0 = time.monotonic()
    results: dict[str, VectorResult] = {}

    def one(v):
        try:
            res = check(decoder, v, opts)
        except SuiteError:
            raise  # the vectors are damaged: no verdict on the decoder is possible
        except Exception as exc:  # e.g. MemoryError on an answer: one failed vector, never a dead run
            res = VectorResult(v.id, v.cls, "fail", f"the runner could not judge the answer ({type(exc).__name__}: {exc})")
        if progress:
            progress(res)
        return res

    serial_levels = ("regen", *PIXEL_LEVELS)
    parallel = [v for v in vectors if v.cls not in serial_levels]
    serial = [v for v in vectors if v.cls in serial_levels]
    jobs = max(1, opts.jobs) if getattr(decoder, "parallel_safe", False) else 1
    if jobs > 1 and len(parallel) > 1:
        with ThreadPoolExecutor(jobs) as ex:
            for v, res in zip(parallel, ex.map(one, parallel)):
                results[v.id] = res
    else:
        for v in parallel:
            results[v.id] = one(v)
    for v in serial:
        results[v.id] = one(v)
    ordered = [results[v.id] for v in vectors]
    return Report(decoder.name, opts, ordered, time.monotonic() - t0, suite,
                  levels or [lv for lv in LEVELS if any(v.cls == lv for v in vectors)])
