"""The conformance runner against hostile decoders (conformance/CONTRACT.md §2.8).

Each decoder here is built in the test (a shell script) and does one thing a
decoder must not: never exits, leaves a detached child holding its stdout,
kills the runner's wrapper, floods stdout or stderr with gigabytes, writes a
sparse, bomb, FIFO or symlinked OUT.png, prints malformed or deeply nested
JSON. Every vector must end *failed* — never a hang, a dead run or a
survivor — and the runner, measured in a child process, must stay within
its memory and time bounds.
"""
import json
import os
import random
import stat
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import pytest

from aigif import codec, jsonform
from aigif.conformance import png
from aigif.conformance.decoder import GRACE_S, STDERR_LIMIT
from aigif.conformance.runner import stdout_limit
from aigif.conformance.suite import Vector, load_suite
from aigif.png import SIGNATURE, chunk
from aigif.registry import load
from conftest import ROOT

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="containment is tested where /proc and prctl exist")

SUITE = load_suite(ROOT / "vectors")
PARSE = SUITE.by_id("parse/paper-example")
TIMEOUT = 1.0
MEM_BOUND_MIB = 32       # runner peak RSS above a run with a well-behaved decoder
TIME_SLACK_S = 8.0       # process start-up on a loaded 2-core CI machine

DRIVER = textwrap.dedent("""\
    import json, sys, time
    from pathlib import Path
    from aigif.conformance import CommandDecoder, Options, run
    from aigif.conformance.suite import Vector
    spec = json.loads(sys.argv[1])
    vs = [Vector(v["id"], v["cls"], v["id"].split("/")[1], "", {k: Path(p) for k, p in v["files"].items()})
          for v in spec["vectors"]]
    t = spec["timeout"]
    opts = Options(timeouts={"parse": t, "reject": t, "noise": t, "regen": t}, jobs=spec["jobs"],
                   workdir=spec["workdir"], device_class="cpu")
    t0 = time.monotonic()
    rep = run(CommandDecoder(spec["decoder"]), vs, opts)
    print(json.dumps({"results": [r.to_json() for r in rep.results], "seconds": time.monotonic() - t0,
                      # VmHWM: this process's own peak (ru_maxrss would include the parent's at fork)
                      "maxrss_mib": int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024,
                      "lines": rep.lines()}))
""")


def _vec(v: Vector) -> dict:
    return {"id": v.id, "cls": v.cls, "files": {k: str(p) for k, p in v.files.items()}}


def regen_vector(tmp_path) -> Vector:
    """A synthetic 8x8 regen vector (expected image and a loose tolerance)."""
    rgb = bytes((x * 29 + y * 13 + c * 50) & 0xFF for y in range(8) for x in range(8) for c in range(3))
    reg = load()
    (tmp_path / "v.aigif").write_bytes(codec.write(jsonform.new("sd-1.5", reg, height=8, width=8, seed=1, prompt="p"), reg))
    (tmp_path / "v.png").write_bytes(png.write_png(8, 8, rgb))
    (tmp_path / "v.json").write_text(json.dumps({"description": "synthetic", "tolerance": {"*": {"psnr_min": 0.0}}}))
    return Vector("regen/synthetic", "regen", "synthetic", "",
                  {"input": tmp_path / "v.aigif", "expected": tmp_path / "v.png", "meta": tmp_path / "v.json"})


def decoder(tmp_path, name: str, body: str) -> str:
    p = tmp_path / f"{name}.sh"
    p.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    p.chmod(0o755)
    return str(p)


def run_runner(tmp_path, dec: str, vectors: list[Vector], jobs: int = 1, timeout: float = TIMEOUT) -> dict:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    spec = {"decoder": dec, "vectors": [_vec(v) for v in vectors], "timeout": timeout, "jobs": jobs,
            "workdir": str(work)}
    t0 = time.monotonic()
    p = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(spec)], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert p.returncode == 0, p.stderr[-3000:]
    out = json.loads(p.stdout)
    out["wall"] = time.monotonic() - t0
    return out


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """The runner's peak RSS with a decoder that answers at once."""
    tmp = tmp_path_factory.mktemp("baseline")
    out = run_runner(tmp, decoder(tmp, "quick", 'echo E_CHECKSUM: no >&2; exit 1\n'), [PARSE, regen_vector(tmp)])
    return out["maxrss_mib"]


def survivors(marker: str) -> list[int]:
    found = []
    for n in os.listdir("/proc"):
        if n.isdigit():
            try:
                with open(f"/proc/{n}/cmdline", "rb") as f:
                    if marker.encode() in f.read():
                        found.append(int(n))
            except OSError:
                pass
    return found


def check_bounds(out: dict, baseline: float, what: str, max_seconds: float) -> None:
    print(f"\n{what}: runner peak RSS {out['maxrss_mib']:.1f} MiB (well-behaved decoder: {baseline:.1f} MiB), "
          f"{out['seconds']:.2f} s in run(), {out['wall']:.2f} s wall")
    assert out["maxrss_mib"] - baseline < MEM_BOUND_MIB, out
    assert out["seconds"] < max_seconds, out
    for r in out["results"]:
        assert r["status"] == "fail", r


def marker() -> str:
    return f"{random.randint(100000, 999999)}.{random.randint(1, 9)}"   # a unique `sleep` argument to look for


# ------------------------------------------------------------------ time and containment
def test_never_exiting_decoder_times_out(tmp_path, baseline):
    m = marker()
    out = run_runner(tmp_path, decoder(tmp_path, "never", f"exec sleep {m}\n"), [PARSE, regen_vector(tmp_path)])
    check_bounds(out, baseline, "never exits", 2 * (TIMEOUT + GRACE_S) + TIME_SLACK_S)
    assert [r["reason"] for r in out["results"]] == [f"timed out after {TIMEOUT:g} s"] * 2
    assert not survivors(m)


@pytest.mark.parametrize("how", ["holds-stdout", "holds-nothing", "kills-wrapper", "closes-streams"])
def test_detached_children_do_not_hang_the_run_or_survive_it(tmp_path, baseline, how):
    """`setsid sleep &` used to hang the runner forever (the pipes were read again
    with no timeout after the kill) and to outlive the run."""
    m = marker()
    body = {
        # answers, exits 0, leaves a child in a session of its own holding stdout and stderr
        "holds-stdout": f"setsid sleep {m} &\necho '{{}}'\n",
        # the same child with no stream at all: only the subreaper can find it
        "holds-nothing": f"setsid sleep {m} </dev/null >/dev/null 2>&1 &\necho '{{}}'\n",
        # kills the wrapper the runner contains it with, then leaves a child holding stdout
        "kills-wrapper": f"setsid sleep {m} &\nkill -9 $PPID\necho '{{}}'\n",
        # closes its streams and runs on past the time limit
        "closes-streams": f"exec >&- 2>&-\nsetsid sleep {m} &\nexec sleep {m}\n",
    }[how]
    out = run_runner(tmp_path, decoder(tmp_path, how, body), [PARSE])
    check_bounds(out, baseline, f"detached child ({how})", TIMEOUT + 3 * GRACE_S + TIME_SLACK_S)
    assert not survivors(m), f"{how}: the decoder's children outlived the run"


# ------------------------------------------------------------------ output caps
@pytest.mark.parametrize("stream", ["stdout", "stderr"])
@pytest.mark.parametrize("jobs", [1, 4])
def test_gigabytes_of_output_are_capped(tmp_path, baseline, stream, jobs):
    """1.5 GB on stdout used to be buffered whole (3.3 GB RSS, times --jobs)."""
    redirect = "" if stream == "stdout" else " >&2"
    dec = decoder(tmp_path, "flood", f"head -c 1500000000 /dev/zero{redirect}\necho '{{}}'\n")
    out = run_runner(tmp_path, dec, [PARSE] * 4, jobs=jobs, timeout=30)
    check_bounds(out, baseline, f"1.5 GB on {stream}, --jobs {jobs}", 30 + TIME_SLACK_S)
    limit = stdout_limit(PARSE) if stream == "stdout" else STDERR_LIMIT
    for r in out["results"]:
        assert r["reason"] == f"wrote more than the {limit:,} bytes allowed on {stream} (killed)"


def test_stderr_is_kept_head_and_tail_and_escaped(tmp_path, baseline):
    """The code comes from the head of stderr; what is printed for people has no raw ESC or newline."""
    dec = decoder(tmp_path, "noisy", "printf 'E_WHATEVER: \\033[2J\\033]0;pwned\\007\\nFAIL fake/vector: forged\\n' >&2\n"
                                     "head -c 3000000 /dev/zero | tr '\\0' 'x' >&2\nexit 1\n")
    out = run_runner(tmp_path, dec, [SUITE.by_id("reject/checksum-crc32c")])
    check_bounds(out, baseline, "noisy stderr", TIMEOUT + TIME_SLACK_S)
    assert out["results"][0]["reason"] == "reported E_WHATEVER, expected E_CHECKSUM"
    out = run_runner(tmp_path, decoder(tmp_path, "noisy2", "printf 'oops \\033[2J\\nFAIL fake/vector: forged\\n' >&2\nexit 1\n"),
                     [SUITE.by_id("reject/checksum-crc32c")])
    text = "\n".join(out["lines"])
    assert "\x1b" not in text and "\nFAIL fake/vector" not in text and "\\x1b[2J" in text


# ------------------------------------------------------------------ OUT.png
def _bomb_png(w: int, h: int, raw_bytes: int) -> bytes:
    """A valid-looking PNG of w x h whose IDAT inflates to ``raw_bytes`` of Paeth rows."""
    z = zlib.compressobj(9)
    row = b"\x04" + bytes(w * 3)
    n = raw_bytes // len(row) + 1
    comp = b"".join(z.compress(row * 1024) for _ in range(n // 1024 + 1)) + z.flush()
    return SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", comp) + chunk(b"IEND", b"")


@pytest.mark.parametrize("kind", ["sparse-40G", "paeth-16384", "bomb-at-size", "fifo", "symlink-dev-zero", "directory"])
def test_hostile_out_png(tmp_path, baseline, kind):
    """A sparse 40 GB OUT.png used to be read whole (MemoryError ended the run); a
    1 MB PNG of 16384x16384 took the pure-Python unfilter minutes, after the
    decoder exited, so no timeout applied."""
    blob = tmp_path / "blob.png"
    if kind == "paeth-16384":
        blob.write_bytes(_bomb_png(16384, 16384, 64 << 20))   # 16384^2 declared; a few hundred KB on disk
    elif kind == "bomb-at-size":
        blob.write_bytes(_bomb_png(8, 8, 256 << 20))          # the expected 8x8, inflating to 256 MB
    body = {
        "sparse-40G": 'truncate -s 40G "$3"\n',
        "paeth-16384": f'cp {blob} "$3"\n',
        "bomb-at-size": f'cp {blob} "$3"\n',
        "fifo": 'mkfifo "$3"\n',
        "symlink-dev-zero": 'ln -s /dev/zero "$3"\n',
        "directory": 'mkdir "$3"\n',
    }[kind]
    out = run_runner(tmp_path, decoder(tmp_path, kind, body), [regen_vector(tmp_path)])
    check_bounds(out, baseline, f"OUT.png {kind}", TIMEOUT + TIME_SLACK_S)
    reason = out["results"][0]["reason"]
    want = {"sparse-40G": "OUT.png: 42,949,672,960 bytes is more than a 8x8 PNG may take",
            "paeth-16384": "image is 16384x16384; expected 8x8",
            "bomb-at-size": "OUT.png: image data is 201 bytes; 200 expected",
            "fifo": "OUT.png: not a regular file", "symlink-dev-zero": "OUT.png: not a regular file",
            "directory": "OUT.png: not a regular file"}[kind]
    assert reason.startswith(want), reason


def test_out_png_bound_is_checked_before_reading(tmp_path):
    """read_png_file refuses by size and IHDR before reading the rest or inflating."""
    p = tmp_path / "x.png"
    with open(p, "wb") as f:
        f.truncate(png.max_png_bytes(8, 8) + 1)
    with pytest.raises(png.PNGError, match="more than a 8x8 PNG may take"):
        png.read_png_file(str(p), (8, 8))
    p.write_bytes(_bomb_png(16384, 16384, 1 << 20))
    t0 = time.monotonic()
    with pytest.raises(png.SizeMismatch):
        png.read_png_file(str(p), (8, 8))
    assert time.monotonic() - t0 < 1
    os.mkfifo(tmp_path / "fifo.png")
    with pytest.raises(png.PNGError, match="not a regular file"):
        png.read_png_file(str(tmp_path / "fifo.png"), (8, 8))
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo.png").st_mode)


# ------------------------------------------------------------------ JSON
@pytest.mark.parametrize("kind", ["malformed", "nested-1e6", "nested-valid-1e5", "numbers-flood", "not-utf8"])
def test_hostile_json_on_stdout(tmp_path, baseline, kind):
    body = {
        "malformed": "printf '{\"model\": '\n",
        "nested-1e6": "head -c 1000000 /dev/zero | tr '\\0' '['\n",
        "nested-valid-1e5": "head -c 100000 /dev/zero | tr '\\0' '['; head -c 100000 /dev/zero | tr '\\0' ']'\n",
        # as many small numbers as the cap allows: parsed, the list must stay within the bound
        "numbers-flood": "printf '['; yes '0,' | head -c 900000 | tr -d '\\n'; printf '0]'\n",
        "not-utf8": "printf '\\377\\376{}'\n",
    }[kind]
    out = run_runner(tmp_path, decoder(tmp_path, kind, body), [PARSE])
    check_bounds(out, baseline, f"stdout JSON {kind}", TIMEOUT + TIME_SLACK_S)
    reason = out["results"][0]["reason"]
    assert reason.startswith(("stdout is not one JSON value", "stdout is not UTF-8", "(top level): expected object")), reason


# ------------------------------------------------------------------ one bad answer, one failed vector
def test_an_error_while_judging_fails_the_vector_not_the_run(monkeypatch):
    """Anything the runner meets judging an answer (here MemoryError) is that vector's failure."""
    from aigif.conformance import InProcessDecoder, Options, compare, run

    def boom(*a, **k):
        raise MemoryError("judging")

    def decoder_main(argv):
        print("{}")
        return 0

    monkeypatch.setattr(compare, "first_difference", boom)
    rep = run(InProcessDecoder(decoder_main), [PARSE, SUITE.by_id("reject/checksum-crc32c")], Options())
    first, second = rep.results
    assert first.status == "fail" and first.reason == "the runner could not judge the answer (MemoryError: judging)"
    assert second.status == "fail" and second.reason.startswith("accepted an invalid file")


def test_results_path_that_cannot_be_written_is_a_usage_error(tmp_path):
    p = subprocess.run([sys.executable, "-m", "aigif.cli.conformance", "run", "--decoder", "true", "--only", PARSE.id,
                        "--results", str(tmp_path / "no" / "such" / "r.json")], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "does not exist" in p.stderr and "Traceback" not in p.stderr
