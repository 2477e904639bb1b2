#!/usr/bin/env python3
"""Browser check of the built website: serve it, screenshot pages with headless Chromium, fail on broken pages.

    python tools/screenshot_site.py                      # build into a temp dir, then check
    python tools/screenshot_site.py --site site/         # check an existing build (mkdocs build --strict)
    python tools/screenshot_site.py --out out/shots --page registry/schedulers.html
    python tools/screenshot_site.py --all --widths 390,1280,1920 --out /tmp/shots   # every page, three widths

The site is served by http.server on 127.0.0.1 (a free port). Chromium loads each page once,
writing a 1280x2000 screenshot (--screenshot) and printing the DOM after scripts ran
(--dump-dom). A page fails when

* the screenshot is (nearly) blank: one colour covers more than 98.5 % of it, or it has very
  few colours, or its header band is not the theme's coloured header (the CSS did not load);
* the DOM lacks the Material elements every page has: the header, the navigation, the search
  box, an article with an <h1> and some text;
* a request the page made to the server failed (4xx/5xx: a missing stylesheet, script, image);
* Chromium logs a JavaScript error or a failed resource load for the page
  ("Uncaught ...", "Failed to load resource"), or Chromium exits non-zero or writes no file.

Exit status 0 when every page passes, 1 otherwise, 2 when Chromium is missing. The screenshots
stay in --out (default out/site-screenshots/, which git ignores) for a person to look at.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zlib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAGES = ["index.html", "spec.html", "registry/index.html", "registry/models.html", "registry/schedulers.html",
                 "cli.html", "api/index.html", "api/aigif.codec.html"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--mute-audio", "--disable-extensions", "--disable-dev-shm-usage",
                  "--enable-logging=stderr", "--v=0", "--virtual-time-budget=4000"]
WINDOW = (1280, 2000)
#: headless Chromium's narrowest window: a narrower width is laid out as a phone lays it out by
#: putting the page in an iframe of that width (its own viewport and media queries), then cropping
MIN_WINDOW = 500
FRAME = "/__aigif_frame__/"


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


# ----------------------------------------------------------------------------- the server

class _Handler(http.server.SimpleHTTPRequestHandler):
    failures: list[str]
    requests: list[str]

    def log_message(self, fmt, *args):  # quiet; failures are collected instead
        pass

    def do_GET(self):
        if self.path.startswith(FRAME):  # FRAME + "WIDTH/HEIGHT/page.html": the page in an iframe that wide
            width, height, page = self.path[len(FRAME):].split("/", 2)
            body = (f'<!doctype html><html><body style="margin:0"><iframe src="/{page}" '
                    f'style="border:0;width:{int(width)}px;height:{int(height)}px"></iframe></body></html>').encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_request(self, code="-", size="-"):
        try:
            status = int(code)
        except (TypeError, ValueError):
            status = 0
        self.requests.append(self.path)
        if status >= 400 and self.path != "/favicon.ico":  # browsers ask for it on their own
            self.failures.append(f"{status} {self.path}")


def serve(site: Path):
    """Start http.server for ``site`` on a free port; returns (server, base_url, failures, requests)."""
    failures: list[str] = []
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"failures": failures, "requests": requests})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/", failures, requests


# ----------------------------------------------------------------------------- PNG analysis

def _png_pixels(path: Path):
    """(width, height, list of RGB rows as bytes). Pillow when available, else a small PNG decoder."""
    try:
        from PIL import Image
    except ImportError:
        Image = None
    if Image is not None:
        with Image.open(path) as im:
            im = im.convert("RGB")
            w, h = im.size
            raw = im.tobytes()
        return w, h, [raw[y * w * 3:(y + 1) * w * 3] for y in range(h)]
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, w, h = 8, bytearray(), 0, 0
    ctype = depth = interlace = None
    while pos < len(data):
        n = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h = int.from_bytes(body[0:4], "big"), int.from_bytes(body[4:8], "big")
            depth, ctype, interlace = body[8], body[9], body[12]
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        cur = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                cur[i] = (cur[i] + cur[i - bpp]) & 0xFF
        elif f == 2:
            for i in range(stride):
                cur[i] = (cur[i] + prev[i]) & 0xFF
        elif f == 3:
            for i in range(stride):
                cur[i] = (cur[i] + ((cur[i - bpp] if i >= bpp else 0) + prev[i]) // 2) & 0xFF
        elif f == 4:
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(cur) if bpp == 3 else bytes(b for i in range(0, stride, 4) for b in cur[i:i + 3]))
        prev = cur
    return w, h, rows


def analyse_png(path: Path) -> list[str]:
    """Problems with a screenshot: blank, too few colours, no coloured header band."""
    w, h, rows = _png_pixels(path)
    if (w, h) != WINDOW:
        return [f"screenshot is {w}x{h}, not {WINDOW[0]}x{WINDOW[1]}"]
    counts: Counter = Counter()
    step = 2  # every other pixel of every other row: enough to judge, 4x faster
    for y in range(0, h, step):
        row = rows[y]
        for x in range(0, w * 3, 3 * step):
            counts[row[x:x + 3]] += 1
    total = sum(counts.values())
    problems = []
    colour, n = counts.most_common(1)[0]
    if n / total > 0.985:
        problems.append(f"blank page: colour #{colour.hex()} covers {100 * n / total:.1f}% of the screenshot")
    if len(counts) < 24:
        problems.append(f"only {len(counts)} distinct colours: nothing much was rendered")
    band: Counter = Counter()
    for y in range(4, 44, 4):  # the Material header: 2.4rem of the primary colour
        row = rows[y]
        for x in range(0, w * 3, 30):
            band[row[x:x + 3]] += 1
    top = band.most_common(1)[0][0]
    if min(top) > 235:
        problems.append(f"no coloured header band (top rows are #{top.hex()}): the theme's CSS did not apply")
    return problems


# ----------------------------------------------------------------------------- DOM checks

REQUIRED = {
    "header": r'<header[^>]*class="[^"]*\bmd-header\b',
    "navigation": r'<nav[^>]*class="[^"]*\bmd-nav\b',
    "search box": r'class="[^"]*\bmd-search__input\b',
    "article": r'<article[^>]*class="[^"]*\bmd-content__inner\b',
    "h1": r"<h1[\s>]",
}


def check_dom(dom: str) -> list[str]:
    problems = [f"the page has no {what}" for what, rx in REQUIRED.items() if not re.search(rx, dom)]
    m = re.search(r'<article[^>]*class="[^"]*\bmd-content__inner\b[^>]*>(.*?)</article>', dom, re.S)
    if m:
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", m.group(1))).strip()
        if len(text) < 200:
            problems.append(f"the article holds only {len(text)} characters of text")
    return problems


def chromium_errors(log: str, base: str) -> list[str]:
    """JavaScript errors and failed loads that Chromium logs for our pages (its dbus noise is ignored)."""
    out = []
    for line in log.splitlines():
        if "CONSOLE" in line and ("Uncaught" in line or "Error" in line) and base in line:
            out.append(line.split("] ", 1)[-1][:300])
        elif "Failed to load resource" in line:
            out.append(line.split("] ", 1)[-1][:300])
    return out


def run_chromium(chromium: str, args: list[str], url: str, profile: Path, timeout: int = 90):
    cmd = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={max(WINDOW[0], MIN_WINDOW)},{WINDOW[1]}", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def check_page(chromium: str, base: str, page: str, out: Path, failures: list[str],
               width: int | None = None) -> list[str]:
    url = base + page
    shot = shot_path(out, page, width)
    shot.unlink(missing_ok=True)
    problems = []
    before = len(failures)
    with tempfile.TemporaryDirectory(prefix="aigif-chromium-") as profile:  # a fresh profile per page
        if WINDOW[0] >= MIN_WINDOW:
            r = run_chromium(chromium, [f"--screenshot={shot}", "--dump-dom"], url, Path(profile))
        else:  # the DOM of the page itself, the screenshot of the page in a frame of the width, cropped to it
            r = run_chromium(chromium, ["--dump-dom"], url, Path(profile))
            framed = run_chromium(chromium, [f"--screenshot={shot}"], f"{base}{FRAME[1:]}{WINDOW[0]}/{WINDOW[1]}/{page}", Path(profile))
            r.stderr += framed.stderr
            if shot.exists() and shot.stat().st_size:
                from PIL import Image
                Image.open(shot).crop((0, 0, *WINDOW)).save(shot)
    if r.returncode:
        problems.append(f"chromium exited {r.returncode}: {r.stderr.strip()[-300:]}")
    problems += chromium_errors(r.stderr, base)
    if not shot.exists() or shot.stat().st_size == 0:
        problems.append("no screenshot was written")
    else:
        try:
            problems += analyse_png(shot)
        except ValueError as err:
            problems.append(f"unreadable screenshot: {err}")
    problems += check_dom(r.stdout)
    problems += [f"request failed: {f}" for f in failures[before:]]
    return sorted(set(problems), key=problems.index)


def shot_path(out: Path, page: str, width: int | None = None) -> Path:
    """registry/models.html -> registry_models.png (registry_models-390.png with a width)"""
    return out / (page.replace("/", "_").removesuffix(".html") + (f"-{width}" if width else "") + ".png")


def build_site(dest: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(dest)],
                       cwd=ROOT, capture_output=True, text=True, env=env)
    if r.returncode:
        raise SystemExit(f"mkdocs build --strict failed:\n{r.stdout}{r.stderr}")


def main(argv: list[str] | None = None) -> int:
    global WINDOW
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--site", type=Path, help="a built site (default: build one into a temp dir)")
    ap.add_argument("--out", type=Path, default=ROOT / "out" / "site-screenshots", help="where the screenshots go")
    ap.add_argument("--page", action="append", dest="pages",
                    help=f"page to check, repeatable (default: {' '.join(DEFAULT_PAGES)})")
    ap.add_argument("--height", type=int, default=WINDOW[1],
                    help=f"window height in pixels (default {WINDOW[1]}; more to look further down long pages)")
    ap.add_argument("--widths", type=lambda v: [int(w) for w in v.split(",") if w.strip()],
                    help="comma-separated window widths, e.g. 390,1280,1920: one screenshot each, "
                         "named PAGE-WIDTH.png (default: one screenshot 1280 wide, PAGE.png)")
    ap.add_argument("--all", action="store_true", help="every page of the site (except 404.html)")
    args = ap.parse_args(argv)
    widths = args.widths or [None]
    chromium = find_chromium()
    if not chromium:
        print("screenshot_site: no chromium on PATH (Debian: apt-get install chromium)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aigif-site-") as tmp:
        site = args.site
        if site is None:
            site = Path(tmp) / "site"
            build_site(site)
        pages = (sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html") if p.name != "404.html")
                 if args.all else args.pages or DEFAULT_PAGES)
        missing = [p for p in pages if not (site / p).is_file()]
        if missing:
            print(f"screenshot_site: not in the built site: {', '.join(missing)}", file=sys.stderr)
            return 1
        server, base, failures, _ = serve(site)
        bad = 0
        try:
            for width in widths:
                WINDOW = (width or 1280, args.height)
                for page in pages:
                    problems = check_page(chromium, base, page, args.out, failures, width)
                    shot = shot_path(args.out, page, width)
                    if problems:
                        bad += 1
                        print(f"FAIL {page} ({shot})")
                        for p in problems:
                            print(f"     - {p}")
                    else:
                        print(f"ok   {page} ({shot})")
        finally:
            server.shutdown()
            server.server_close()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
