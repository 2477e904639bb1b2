"""The rate–distortion plot of the DiffC page, drawn at build time from the page's own table.

docs/diffc.md holds the measurements (``python benchmarks/bench_diffc.py`` prints the table);
this module reads the first table after "## Rate and distortion" and draws PSNR against bits
per pixel (log scale) as an inline SVG where the page says ``<!-- aigif:rd-plot -->``: diffc at
each budget, and WebP, JPEG XL and AVIF at the matched sizes the table gives, for the generated
images and for each edit. The numbers have one home, the table; the plot cannot disagree with it.
"""
from __future__ import annotations

import math
import re

MARKER = "<!-- aigif:rd-plot -->"
W, H, PAD_L, PAD_B, PAD_T, PAD_R = 640, 360, 56, 44, 16, 150
#: series -> colour; the baselines' columns of the table, by header text
COLOURS = {"diffc": "#3f51b5", "WebP": "#e67e22", "JPEG XL": "#2e7d32", "AVIF": "#c62828"}
BASELINES = {"WebP": "WebP PSNR", "JPEG XL": "JPEG XL PSNR", "AVIF": "AVIF PSNR"}
_MATCHED = re.compile(r"^([0-9.]+) \(([0-9]+) B\)$")


def _rows(markdown: str) -> tuple[list[str], list[list[str]]]:
    part = markdown.split("## Rate and distortion", 1)[-1]
    lines = [ln for ln in part.splitlines() if ln.startswith("|")]
    table = []
    for ln in lines:
        if set(ln) <= set("|-: "):
            continue
        cells = [c.strip() for c in ln.strip("|").split("|")]
        if table and len(cells) != len(table[0]):
            break  # the next table
        table.append(cells)
    return (table[0], table[1:]) if table else ([], [])


def points(markdown: str) -> dict[str, list[tuple[float, float]]]:
    """series name ("diffc", "WebP", …) -> [(bits per pixel, PSNR dB)] over every image set."""
    header, rows = _rows(markdown)
    if not rows:
        return {}
    col = {name: i for i, name in enumerate(header)}
    bpp_per_byte = None
    out: dict[str, list[tuple[float, float]]] = {k: [] for k in COLOURS}
    for r in rows:
        if "steps" not in r[col["codec or diffc budget"]]:
            continue
        n_bytes, bpp, psnr = float(r[col["bytes"]]), float(r[col["bpp"]]), r[col["PSNR dB"]]
        bpp_per_byte = bpp / n_bytes
        if psnr != "∞":
            out["diffc"].append((bpp, float(psnr)))
        for name, head in BASELINES.items():
            cell = next((r[i] for h, i in col.items() if h.startswith(head)), "")
            m = _MATCHED.match(cell)
            if m:
                out[name].append((int(m.group(2)) * bpp_per_byte, float(m.group(1))))
    return {k: sorted(v) for k, v in out.items() if v}


def svg(series: dict[str, list[tuple[float, float]]]) -> str:
    xs = [x for pts in series.values() for x, _ in pts]
    ys = [y for pts in series.values() for _, y in pts]
    x0, x1 = math.floor(math.log10(min(xs))), math.ceil(math.log10(max(xs)))
    y1 = 10 * math.ceil(max(ys) / 10)
    pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def px(x: float) -> float:
        return PAD_L + (math.log10(x) - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return PAD_T + (1 - y / y1) * ph

    out = [f'<svg class="aigif-plot" viewBox="0 0 {W} {H}" role="img" xmlns="http://www.w3.org/2000/svg" '
           f'aria-label="PSNR against bits per pixel: diffc and the lossy codecs at matched sizes">',
           f'<rect x="{PAD_L}" y="{PAD_T}" width="{pw}" height="{ph}" fill="none" stroke="currentColor" stroke-opacity=".3"/>']
    for e in range(x0, x1 + 1):
        x = PAD_L + (e - x0) / (x1 - x0) * pw
        out.append(f'<line x1="{x:.1f}" y1="{PAD_T}" x2="{x:.1f}" y2="{PAD_T + ph}" stroke="currentColor" stroke-opacity=".12"/>')
        out.append(f'<text x="{x:.1f}" y="{H - PAD_B + 16}" font-size="11" text-anchor="middle" fill="currentColor">{10.0 ** e:g}</text>')
    for y in range(0, y1 + 1, 10):
        out.append(f'<line x1="{PAD_L}" y1="{py(y):.1f}" x2="{PAD_L + pw}" y2="{py(y):.1f}" stroke="currentColor" stroke-opacity=".12"/>')
        out.append(f'<text x="{PAD_L - 6}" y="{py(y) + 4:.1f}" font-size="11" text-anchor="end" fill="currentColor">{y}</text>')
    out.append(f'<text x="{PAD_L + pw / 2}" y="{H - 8}" font-size="12" text-anchor="middle" fill="currentColor">bits per pixel (log scale)</text>')
    out.append(f'<text x="14" y="{PAD_T + ph / 2}" font-size="12" text-anchor="middle" fill="currentColor" '
               f'transform="rotate(-90 14 {PAD_T + ph / 2})">PSNR (dB)</text>')
    for k, (name, pts) in enumerate(series.items()):
        c = COLOURS[name]
        out += [f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{c}" fill-opacity=".85"><title>{name}: '
                f'{x:.3g} bpp, {y:.2f} dB</title></circle>' for x, y in pts]
        ly = PAD_T + 14 + 18 * k
        out.append(f'<circle cx="{W - PAD_R + 16}" cy="{ly - 4}" r="4" fill="{c}"/>'
                   f'<text x="{W - PAD_R + 26}" y="{ly}" font-size="12" fill="currentColor">{name}</text>')
    out.append("</svg>")
    return "".join(out)


def render(markdown: str) -> str:
    """The page with its plot (unchanged when it has no marker or no table)."""
    if MARKER not in markdown:
        return markdown
    series = points(markdown)
    return markdown.replace(MARKER, svg(series) if series else "") if series else markdown.replace(MARKER, "")
