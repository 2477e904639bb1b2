"""A new user's first hour with the command line, scripted: the installed
console scripts, in a fresh directory, each step's exit status, and never a
traceback. One error case per kind of mistake a newcomer makes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import aigif

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PARSERS = ROOT / "tests" / "data" / "realworld" / "sd-parsers" / "parsers"


def aigif_cmd(cwd, *args, expect=0, stdout=None, stdin=None):
    exe = BIN / args[0]
    if not exe.exists():
        pytest.skip(f"console script {args[0]} is not installed")
    r = subprocess.run([str(exe), *args[1:]], cwd=cwd, text=True, timeout=180, input=stdin,
                       stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE)
    out = (r.stdout or "") + r.stderr
    assert "Traceback" not in out, f"{args}: {out}"
    assert r.returncode == expect, f"{args}: exit {r.returncode}, wanted {expect}\n{out}"
    return r


def test_first_hour(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    cwd = tmp_path
    r = aigif_cmd(cwd, "aigif", "--version")
    assert aigif.__version__ in r.stdout
    for prog in ("aigif-validate", "aigif-conformance"):
        assert aigif.__version__ in aigif_cmd(cwd, prog, "--version").stdout
    r = aigif_cmd(cwd, "aigif", "list", "schedulers")
    assert any(line.split()[0] == "ddim" for line in r.stdout.splitlines())

    # encode, decode, verify, info, export
    aigif_cmd(cwd, "aigif", "encode", "--model", "tiny-sd1", "--prompt", "a red circle", "-o", "x.aigif", "--png", "x.png")
    assert (cwd / "x.aigif").stat().st_size < 200 and (cwd / "x.png").exists()
    umask = os.umask(0)
    os.umask(umask)
    assert (cwd / "x.aigif").stat().st_mode & 0o777 == 0o666 & ~umask  # not 0600
    r = aigif_cmd(cwd, "aigif", "decode", "x.aigif", "-o", "out/")
    assert (cwd / "out" / "x.png").read_bytes() == (cwd / "x.png").read_bytes()
    assert "bit-exact" in r.stdout
    assert "OK" in aigif_cmd(cwd, "aigif", "verify", "x.aigif").stdout
    info = json.loads(aigif_cmd(cwd, "aigif", "info", "x.aigif").stdout)
    assert info["model"] == "tiny-sd1" and info["prompt"] == "a red circle"
    r = aigif_cmd(cwd, "aigif", "export", "x.aigif", "--format", "a1111")
    assert r.stdout.startswith("a red circle")
    aigif_cmd(cwd, "aigif", "convert", str(PARSERS), "-o", "conv/")
    assert list((cwd / "conv").rglob("*.aigif"))
    r = aigif_cmd(cwd, "aigif-validate", "conv")  # a directory: walked for *.aigif
    assert "0 invalid" in r.stdout

    # 1. outputs: never over an input, the right extension, no silent overwrite, no directory named x.aigif
    before = (cwd / "x.aigif").read_bytes()
    r = aigif_cmd(cwd, "aigif", "decode", "x.aigif", "-o", "x.aigif", expect=2)
    assert "input" in r.stderr and (cwd / "x.aigif").read_bytes() == before
    assert "*.png" in aigif_cmd(cwd, "aigif", "decode", "x.aigif", "-o", "img.jpg", expect=2).stderr
    r = aigif_cmd(cwd, "aigif", "encode", "--model", "tiny-sd1", "-o", "x.aigif", expect=2)
    assert "--force" in r.stderr and (cwd / "x.aigif").read_bytes() == before
    aigif_cmd(cwd, "aigif", "convert", str(PARSERS), "-o", "c.aigif", expect=2)
    assert not (cwd / "c.aigif").exists()

    # 2. verification honesty: a digest the regenerated image does not match fails the decode
    fields = dict(info, digest="0" * 16)
    aigif_cmd(cwd, "aigif", "pack", "-", "-o", "bad.aigif", stdin=json.dumps(fields))
    r = aigif_cmd(cwd, "aigif", "decode", "bad.aigif", "-o", "bad.png", expect=1)
    assert "does not match" in r.stderr

    # 3. errors and discoverability
    rd, wr = os.pipe()
    os.close(rd)  # `aigif-validate conv | head`: the reader has gone
    try:
        aigif_cmd(cwd, "aigif-validate", "conv", stdout=wr)
    finally:
        os.close(wr)
    r = aigif_cmd(cwd, "aigif", "encode", "--model", "tiny-sd1", "-o", "y.aigif", "--field", "foo=1", expect=2)
    assert "steps" in r.stderr and "unexpected" not in r.stderr
    r = aigif_cmd(cwd, "aigif", "encode", "--model", "tiny-sd1", "-o", "y.aigif", "--scheduler", "Euler b", expect=2)
    assert "did you mean" in r.stderr
    import torch
    if not torch.cuda.is_available():
        r = aigif_cmd(cwd, "aigif", "decode", "x.aigif", "-o", "cuda.png", "--device", "cuda", expect=2)
        assert "--device cuda" in r.stderr
