"""Hostile files and file systems around the command-line tools (SPEC.md §16).

Every crafted input is built here: FIFOs, devices, sparse files of
gigabytes, headers that disagree with the file size, file names with
newlines, ESC sequences and bytes that are not UTF-8, symlinks out of the
tree, stale temporaries of killed writers. Each must end in a typed,
one-line, escaped message — never a hang, a traceback, a read of gigabytes
or a write outside the output directory.
"""
import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from aigif import codec, jsonform
from aigif.cli.common import HEADER_MAX, read_file
from aigif.errors import AigifError
from aigif.fsutil import TMP_MARK, atomic_write, clean_stale_temporaries, read_regular, temp_name
from aigif.safetext import json_text, printable
from aigif.wire import uvarint
from conftest import ROOT

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, devices and rlimits")
A1111 = ROOT / "tests" / "data" / "realworld" / "sd-parsers" / "parsers" / "AUTOMATIC1111"


def cli(*args, env=None, timeout=60, limit_as=None, cwd=None):
    """Run a command-line tool; ``limit_as`` caps its address space (bytes)."""
    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", *args], capture_output=True, timeout=timeout, cwd=cwd,
                       env={**os.environ, **(env or {})}, preexec_fn=cap if limit_as else None)
    r.seconds = time.monotonic() - t0
    assert b"Traceback" not in r.stderr, r.stderr.decode(errors="replace")
    return r


@pytest.fixture
def good(tmp_path):
    p = tmp_path / "good.aigif"
    p.write_bytes(codec.write(jsonform.new("sd-1.5", height=8, width=8, seed=1, prompt="p")))
    return p


def sparse(path: Path, size: int, head: bytes = b"") -> Path:
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)
    return path


# ================================================================== class 3: bounded reads
@posix_only
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory", "socket"])
def test_non_regular_inputs_are_refused_at_once(tmp_path, kind):
    """A FIFO used to hang forever; /dev/zero cost 4.1 GB of RSS."""
    p = tmp_path / kind
    if kind == "fifo":
        os.mkfifo(p)
    elif kind == "dev-zero":
        p = Path("/dev/zero")
    elif kind == "directory":
        p.mkdir()
    else:
        import socket
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(p))
    with pytest.raises(AigifError) as e:
        read_file(str(p))
    assert e.value.code == "E_IO" and "not a regular file" in e.value.message
    r = cli("aigif.cli.validate", str(p), timeout=20)
    if kind == "directory":  # a directory is searched for *.aigif files
        assert r.returncode == 2 and b"no .aigif file" in r.stderr
    else:
        assert r.returncode == 1 and b"E_IO" in r.stdout and r.seconds < 15


@posix_only
def test_validate_dev_zero_and_a_fifo_under_an_address_space_limit(tmp_path, good):
    """Under an address-space limit below ~4.1 GiB every file, even a valid one,
    used to fail with a MemoryError traceback (read_file allocated 4 GiB first)."""
    os.mkfifo(tmp_path / "fifo")
    r = cli("aigif.cli.validate", str(good), "/dev/zero", str(tmp_path / "fifo"), limit_as=1 << 30, timeout=30)
    out = r.stdout.decode()
    assert r.returncode == 1 and f"{good}: valid" in out and "1 valid, 2 invalid" in out, out


def test_sparse_3gb_file_is_judged_from_its_header(tmp_path):
    """A 3 GB sparse file used to be read whole before the magic was checked."""
    cases = {
        "zeros": (b"", "E_MAGIC"),
        "header-says-100": (b"AIG\x01" + uvarint(100), "E_TRAILING_DATA"),
        "header-says-4GiB": (b"AIG\x01" + uvarint((1 << 32) - 1), "E_TRUNCATED"),
    }
    for name, (head, code) in cases.items():
        p = sparse(tmp_path / name, 3 << 30, head)
        t0 = time.monotonic()
        with pytest.raises(AigifError) as e:
            codec.read(read_file(str(p)))
        assert e.value.code == code and time.monotonic() - t0 < 1, (name, e.value)
    r = cli("aigif.cli.validate", *(str(tmp_path / n) for n in cases), limit_as=1 << 30)
    assert r.returncode == 1 and r.stdout.decode().count("INVALID") == 3 and r.seconds < 20


def _key(e):
    return None if e is None else (e.code, e.message, e.offset)


def test_read_file_reports_what_the_parser_reports(good):
    """The bounded reader decides some errors from the header alone: they must be
    the parser's own errors (code, message, offset) on the whole file."""
    data = good.read_bytes()
    crafted = {
        "empty": b"", "short-magic": b"AI", "bad-magic": b"PNG\x01\x05" + bytes(20), "version-2": b"AIG\x02" + data[4:],
        "cut-uvarint": b"AIG\x01\x80", "overlong-uvarint": b"AIG\x01" + b"\x80" * 11, "zero-length": b"AIG\x01\x00" + bytes(8),
        "len-0-padded": b"AIG\x01\x80\x00", "too-long": b"AIG\x01" + uvarint(1 << 32) + bytes(4),
        "truncated": data[:-1], "trailing": data + b"\x00", "trailing-many": data + bytes(5000), "valid": data,
        "bad-crc": data[:-1] + bytes([data[-1] ^ 1]), "header-only": data[:HEADER_MAX],
    }
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        for name, blob in crafted.items():
            p = Path(d) / name
            p.write_bytes(blob)
            want = codec.validate(blob)
            try:
                got = codec.validate(read_file(str(p)))
            except AigifError as err:
                got = err
            assert _key(got) == _key(want), name


def test_read_regular_checks_size_before_reading(tmp_path):
    p = sparse(tmp_path / "big.json", (1 << 30) + 1)
    t0 = time.monotonic()
    with pytest.raises(AigifError, match="more than a fields JSON file may be"):
        read_regular(p, 1 << 30, "fields JSON file")
    assert time.monotonic() - t0 < 1


@posix_only
def test_pack_reads_no_fifo_no_device_and_no_deep_json(tmp_path):
    os.mkfifo(tmp_path / "f.json")
    for src in ("/dev/zero", str(tmp_path / "f.json")):
        r = cli("aigif.cli.main", "pack", src, "-o", str(tmp_path / "x.aigif"), timeout=20)
        assert r.returncode == 1 and b"E_IO" in r.stderr and r.seconds < 15
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    r = cli("aigif.cli.main", "pack", str(tmp_path / "deep.json"), "-o", str(tmp_path / "x.aigif"))
    assert r.returncode == 1 and b"E_FIELDS" in r.stderr and b"nests too deeply" in r.stderr
    r = cli("aigif.cli.main", "pack", "-", "-o", str(tmp_path / "x.aigif"))  # empty stdin: typed
    assert r.returncode == 1 and b"E_FIELDS" in r.stderr


@posix_only
@pytest.mark.parametrize("kind", ["fifo", "symlink-dev-zero", "sparse-3g"])
def test_convert_existing_output_is_read_bounded(tmp_path, kind):
    """convert checks an existing output before replacing it: a FIFO or a link to
    /dev/zero in OUTDIR used to hang it or exhaust memory."""
    src = A1111 / "automatic1111_stealth.png"
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "automatic1111_stealth.aigif"
    if kind == "fifo":
        os.mkfifo(dest)
    elif kind == "symlink-dev-zero":
        dest.symlink_to("/dev/zero")
    else:
        sparse(dest, 3 << 30)
    r = cli("aigif.cli.main", "convert", str(src), "-o", str(out), "--json", limit_as=2 << 30, timeout=60)
    rep = json.loads(r.stdout.splitlines()[0])
    assert r.returncode == 1 and rep["status"] == "failed" and "--force" in rep["error"]["message"]
    if kind == "symlink-dev-zero":  # --force replaces the link itself, never writes to /dev/zero
        r = cli("aigif.cli.main", "convert", str(src), "-o", str(out), "--force")
        assert r.returncode == 0 and not dest.is_symlink() and codec.validate(dest.read_bytes()) is None


# ================================================================== class 10: outputs
def test_output_errors_are_typed(tmp_path, good):
    info = cli("aigif.cli.main", "info", str(good)).stdout
    (tmp_path / "f.json").write_bytes(info)
    missing = tmp_path / "no" / "such" / "dir" / "x.aigif"
    r = cli("aigif.cli.main", "pack", str(tmp_path / "f.json"), "-o", str(missing))
    assert r.returncode == 2 and b"does not exist" in r.stderr and not missing.parent.exists()
    (tmp_path / "file").write_text("")
    r = cli("aigif.cli.main", "pack", str(tmp_path / "f.json"), "-o", str(tmp_path / "file" / "x.aigif"))
    assert r.returncode == 2 and b"is not a directory" in r.stderr
    r = cli("aigif.cli.main", "pack", str(tmp_path / "f.json"), "-o", str(good))
    assert r.returncode == 2 and b"--force" in r.stderr
    r = cli("aigif.cli.main", "pack", str(tmp_path / "f.json"), "-o", str(tmp_path / "f.json"), "--force")
    assert r.returncode == 2 and b"it is an input" in r.stderr


def test_decode_refuses_its_own_input_and_name_clashes(tmp_path, good):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copy(good, tmp_path / "a" / "x.aigif")
    shutil.copy(good, tmp_path / "b" / "x.aigif")
    r = cli("aigif.cli.main", "decode", str(tmp_path / "a" / "x.aigif"), str(tmp_path / "b" / "x.aigif"), "-o", str(tmp_path / "out"))
    assert r.returncode == 2 and b"would both be written" in r.stderr and not (tmp_path / "out").exists()
    own = tmp_path / "own.png"
    own.write_bytes(good.read_bytes())
    r = cli("aigif.cli.main", "decode", str(own), "-o", str(own), "--force")
    assert r.returncode == 2 and b"it is an input" in r.stderr and own.read_bytes() == good.read_bytes()
    (tmp_path / "plain").write_text("")
    r = cli("aigif.cli.main", "decode", str(good), "-o", str(tmp_path / "plain" / "sub" / "x.png"))
    assert r.returncode == 2 and b"is not a directory" in r.stderr


@posix_only
def test_undecodable_file_names_under_strict_utf8(tmp_path, good):
    """A name that is not UTF-8 used to raise UnicodeEncodeError under PYTHONIOENCODING=utf-8:strict."""
    name = os.fsencode(str(tmp_path)) + b"/bad-\xff\xfe.aigif"
    with open(name, "wb") as f:
        f.write(good.read_bytes())
    env = {"PYTHONIOENCODING": "utf-8:strict"}
    r = cli("aigif.cli.validate", str(tmp_path), env=env)
    assert r.returncode == 0 and b"bad-\\xff\\xfe.aigif: valid" in r.stdout
    r = cli("aigif.cli.validate", "--json", str(tmp_path), env=env)
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 0 and any(x["file"].endswith("bad-\udcff\udcfe.aigif") for x in rows)
    r = cli("aigif.cli.main", "info", str(tmp_path), env=env)
    assert r.returncode == 0 and "bad-\\udcff\\udcfe.aigif" in r.stdout.decode()


# ================================================================== class 13: modes, temporaries
@posix_only
@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_outputs_follow_the_umask_and_replacements_keep_their_mode(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        atomic_write(tmp_path / "new.aigif", b"x")
        assert stat.S_IMODE(os.stat(tmp_path / "new.aigif").st_mode) == mode
        (tmp_path / "kept.aigif").write_bytes(b"old")
        os.chmod(tmp_path / "kept.aigif", 0o640)
        atomic_write(tmp_path / "kept.aigif", b"new")
        assert stat.S_IMODE(os.stat(tmp_path / "kept.aigif").st_mode) == 0o640
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.aigif", "new.aigif"]


@posix_only
def test_a_killed_writers_temporary_is_removed_by_the_next_write(tmp_path):
    """``kill -9`` during a write left hidden temporaries that were never cleaned up."""
    code = ("import os, signal, sys; from pathlib import Path; from aigif.fsutil import temp_name\n"
            "t = temp_name(Path(sys.argv[1]) / 'x.aigif'); fd = os.open(t, os.O_WRONLY | os.O_CREAT, 0o600)\n"
            "os.write(fd, b'half'); print(t, flush=True); os.kill(os.getpid(), signal.SIGKILL)\n")
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=30)
    assert p.returncode == -signal.SIGKILL
    dead = Path(p.stdout.strip())
    assert dead.exists() and TMP_MARK in dead.name and dead.name.startswith(".x.aigif")
    live = temp_name(tmp_path / "y.aigif")  # this process's: still writing, must be kept
    live.write_bytes(b"busy")
    unrelated = tmp_path / ".notes.aigif-tmp-x"
    unrelated.write_bytes(b"not ours")
    atomic_write(tmp_path / "z.aigif", b"z")
    assert not dead.exists() and live.exists() and unrelated.exists()
    assert clean_stale_temporaries(tmp_path) == []  # once per directory and process


# ================================================================== class 14: escaping
def test_printable_escapes_every_control_and_keeps_text():
    assert printable("a\nb\tc\rd\x1b[2J\x9b31m\x7f\u202eevil\u2028") == "a\\nb\\tc\\rd\\x1b[2J\\x9b31m\\x7f\\u202eevil\\u2028"
    assert printable("bad-\udcff.aigif") == "bad-\\xff.aigif"
    assert printable("café ☕ 猫 👩‍💻") == "café ☕ 猫 👩‍💻"
    assert printable("line1\nline2\x1b", keep="\n") == "line1\nline2\\x1b"
    value = {"s": "\x1b\x9b\u202e\udcff\n"}
    text = json_text(value)
    assert json.loads(text) == value and all(c not in text for c in "\x1b\x9b\u202e\n")
    text.encode("utf-8")  # strict: no lone surrogate left


def test_file_names_cannot_forge_lines(tmp_path, good):
    evil = tmp_path / "x.aigif\nforged.aigif: valid (sd-1.5, 8x8, seed 1)\x1b[2J"
    evil.write_bytes(b"not an aigif")
    r = cli("aigif.cli.validate", str(evil), str(good))
    lines = r.stdout.decode().splitlines()
    assert len(lines) == 3 and lines[0].endswith("INVALID E_MAGIC at byte 0: not an AIGIF file (magic is not 'AIG')")
    assert "\\nforged.aigif" in lines[0] and "\x1b" not in r.stdout.decode() and lines[2] == "1 valid, 1 invalid"


def _with_software(tmp_path, text: str) -> Path:
    d = json.loads(cli("aigif.cli.main", "info", str(ROOT / "vectors" / "parse" / "extension-software.aigif")).stdout)
    ext = next(e for e in d["extensions"] if e["key"] == "software")
    ext["fields"]["torch"] = text
    d["prompt"] = "a cat\x1b]0;pwned\x07 on\na mat\x9b31m"
    p = tmp_path / "sw.aigif"
    p.write_bytes(codec.write(jsonform.from_json(d)))
    return p


def test_file_strings_are_escaped_where_people_read_them(tmp_path):
    """ESC sequences passed through raw from the `software` extension and from prompts in export."""
    p = _with_software(tmp_path, "2.1\x1b[31m\x9b2J\u202e")
    r = cli("aigif.cli.main", "info", str(p))
    out = r.stdout.decode()
    assert r.returncode == 0 and not any(c in out for c in "\x1b\x07\x9b\u202e")
    assert json.loads(out)["extensions"][0]["fields"]["torch"] == "2.1\x1b[31m\x9b2J\u202e"  # the same value
    r = cli("aigif.cli.main", "info", "--bits", str(p))
    assert r.returncode == 0 and not any(c in r.stdout.decode() for c in "\x1b\x07\x9b\u202e")
    r = cli("aigif.cli.main", "export", str(p))
    text = r.stdout.decode()
    assert r.returncode == 0 and "\x1b" not in text and "\x9b" not in text
    # newlines of a prompt are its data; the plain prompt's "]" is escaped for A1111 (\\])
    assert text.startswith("a cat\\x1b\\]0;pwned\\x07 on\na mat\\x9b31m\n")


def test_convert_escapes_names_and_importer_values(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(A1111 / "automatic1111_stealth.png", src / "a\x1b[2J\nFAKE.png")
    r = cli("aigif.cli.main", "convert", str(src), "-o", str(tmp_path / "out"))
    out = r.stdout.decode() + r.stderr.decode()
    assert r.returncode == 0 and "\x1b" not in out and "a\\x1b[2J\\nFAKE.png" in out


# ================================================================== class 16: symlinks; convert's outputs
@posix_only
def test_symlinks_out_of_an_input_directory_are_skipped_unless_followed(tmp_path, good):
    tree, outside = tmp_path / "tree", tmp_path / "outside"
    tree.mkdir()
    outside.mkdir()
    shutil.copy(good, outside / "secret.aigif")
    shutil.copy(good, tree / "own.aigif")
    (tree / "out-link.aigif").symlink_to(outside / "secret.aigif")
    (tree / "in-link.aigif").symlink_to(tree / "own.aigif")
    (tree / "dir-link").symlink_to(outside)
    (tree / "broken.aigif").symlink_to(tmp_path / "missing")
    r = cli("aigif.cli.validate", str(tree))
    out, err = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == 0 and "own.aigif: valid" in out and "in-link.aigif: valid" in out
    assert "secret" not in out and "out-link.aigif: skipped (a symlink out of" in err
    assert "dir-link: skipped (a symlink to a directory" in err and "broken.aigif: skipped (a broken symlink)" in err
    r = cli("aigif.cli.validate", "--follow-symlinks", str(tree))
    out = r.stdout.decode()
    assert "out-link.aigif: valid" in out and "dir-link/secret.aigif: valid" in out


@posix_only
def test_convert_never_writes_through_a_symlink_out_of_outdir(tmp_path):
    src = tmp_path / "in" / "sub"
    src.mkdir(parents=True)
    shutil.copy(A1111 / "automatic1111_stealth.png", src / "a.png")
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    (out / "sub").symlink_to(elsewhere)
    r = cli("aigif.cli.main", "convert", str(tmp_path / "in"), "-o", str(out), "--json")
    rep = json.loads(r.stdout.splitlines()[0])
    assert r.returncode == 1 and "leads out of" in rep["error"]["message"] and not any(elsewhere.iterdir())
    r = cli("aigif.cli.main", "convert", str(tmp_path / "in"), "-o", str(out), "--follow-symlinks")
    assert r.returncode == 0 and (elsewhere / "a.aigif").exists()


@posix_only
def test_convert_lists_what_it_skips_and_warns_on_nothing(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "notes.txt").write_text("hi")
    (d / "gone.png").symlink_to(tmp_path / "missing.png")
    os.mkfifo(d / "pipe.png")
    r = cli("aigif.cli.main", "convert", str(d), "-o", str(tmp_path / "out"), timeout=30)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == 1 and "warning: no image" in err
    assert "notes.txt: skipped (not a supported file type)" in out and "gone.png: skipped (a broken symlink)" in out
    assert "pipe.png: skipped (a FIFO, not a regular file)" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    r = cli("aigif.cli.main", "convert", str(empty), "-o", str(tmp_path / "out"))
    assert r.returncode == 1 and b"warning: no image" in r.stderr


def test_convert_same_names_in_different_folders_and_stale_outputs(tmp_path):
    a, b, out = tmp_path / "a", tmp_path / "b", tmp_path / "out"
    a.mkdir()
    b.mkdir()
    shutil.copy(A1111 / "automatic1111_cropped.png", a / "x.png")
    shutil.copy(A1111 / "automatic1111_stealth.png", b / "x.png")
    r = cli("aigif.cli.main", "convert", str(a / "x.png"), str(b / "x.png"), "-o", str(out))
    assert r.returncode == 0 and {p.relative_to(out).as_posix() for p in out.rglob("*.aigif")} == {"a/x.aigif", "b/x.aigif"}
    assert codec.read((out / "a" / "x.aigif").read_bytes()) != codec.read((out / "b" / "x.aigif").read_bytes())
    # x.png alone -> x.aigif; then x.jpg appears beside it: both get x.EXT.aigif and x.aigif is stale
    solo = tmp_path / "solo"
    solo.mkdir()
    shutil.copy(A1111 / "automatic1111_cropped.png", solo / "x.png")
    r = cli("aigif.cli.main", "convert", str(solo), "-o", str(out / "s"))
    assert r.returncode == 0 and [p.name for p in (out / "s").iterdir()] == ["x.aigif"]
    shutil.copy(A1111 / "automatic1111_cropped.jpg", solo / "x.jpg")
    r = cli("aigif.cli.main", "convert", str(solo), "-o", str(out / "s"))
    assert r.returncode == 0 and sorted(p.name for p in (out / "s").iterdir()) == ["x.jpg.aigif", "x.png.aigif"]
    assert b"removed" in r.stdout
    (solo / "x.jpg").unlink()  # and back: x.png.aigif is now stale; x.jpg.aigif is kept (its input is gone)
    r = cli("aigif.cli.main", "convert", str(solo), "-o", str(out / "s"))
    assert r.returncode == 0 and sorted(p.name for p in (out / "s").iterdir()) == ["x.aigif", "x.jpg.aigif"]
    r = cli("aigif.cli.main", "convert", str(solo), "-o", str(out / "s" / "x.aigif"))
    assert r.returncode == 2 and b"it is a file" in r.stderr


@posix_only
def test_convert_refuses_a_fifo_or_device_named_as_input(tmp_path):
    os.mkfifo(tmp_path / "f.png")
    r = cli("aigif.cli.main", "convert", str(tmp_path / "f.png"), "/dev/zero", "-o", str(tmp_path / "out"), "--json", timeout=30)
    reps = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 1 and [x["error"]["code"] for x in reps] == ["E_IO", "E_IO"] and r.seconds < 25
