"""The generated parts of the home page (docs/index.md's ``<!-- aigif:... -->`` placeholders).

- ``paper-example``: the paper's example (Gao et al., Table II) written by ``aigif.codec.write`` at
  build time, as a size chart against the paper's numbers, a hex dump and its JSON fields;
- ``regenerated-image``: a PNG of the conformance vectors (vectors/regen/ first) beside the
  fields of its .aigif file, or a note that this checkout has none.

Each function returns (Markdown, {asset src_uri: bytes}); the hook adds the assets to the site.
"""
from __future__ import annotations

import json
import math
import textwrap
from html import escape
from pathlib import Path

# The paper's example, as tests/test_codec.py builds it.
PAPER_EXAMPLE = dict(model="sd-1.5", height=1024, width=1024, seed=829557441, prompt="A cute cat",
                     negative_prompt="worst quality", fields={"scheduler": "ddim", "steps": 50, "guidance": 7.5},
                     device="cuda", platform={"gpu": "gtx-1080-ti", "cuda": "cu121"}, dtype="float16",
                     noise="torch-cuda")
PAPER_SIZES = {"the paper's own layout (Table II)": 215, "JPEG XL, lossless (Table II)": 1_291_602,
               "PNG (Table II)": 1_907_472}  # bytes
NO_IMAGE = ('!!! info "No regenerated image in this build"\n\n    The site shows a PNG from `vectors/` when the '
            "conformance vectors are present; this checkout has none. Run `aigif demo` to see the whole loop "
            "on your machine.\n")


def hexdump(data: bytes) -> str:
    return "\n".join(f"{off:04x}  {data[off:off + 16].hex(' '):<47}  "
                     + "".join(chr(b) if 32 <= b < 127 else "." for b in data[off:off + 16])
                     for off in range(0, len(data), 16))


def _bars(n: int) -> str:
    rows = [("AIGIF (this specification)", n)] + list(PAPER_SIZES.items())
    top = math.log10(max(size for _, size in rows))
    out = ['<div class="aigif-bars">']
    for i, (label, size) in enumerate(rows):
        ratio = "" if i == 0 else f' <span class="aigif-dim">({size / n:,.0f}×)</span>'
        out.append(f'<div class="aigif-bar-row{" aigif-ours" if i == 0 else ""}"><span class="aigif-bar-label">'
                   f'{escape(label)}</span><span class="aigif-bar" style="width:{max(2.0, 100 * math.log10(size) / top):.1f}%">'
                   f'</span><span class="aigif-bar-value">{size:,} bytes{ratio}</span></div>')
    return "".join(out) + '<p class="aigif-dim aigif-bar-note">Bar length on a logarithmic scale.</p></div>'


def paper_example() -> tuple[str, dict[str, bytes]]:
    from aigif import codec, jsonform

    data = codec.write(jsonform.new(**PAPER_EXAMPLE))
    info = jsonform.to_json(codec.read(data))
    md = (f"{_bars(len(data))}\n\nThese are all **{len(data)} bytes** of that file ([download it]"
          "(assets/paper-example.aigif)), written by the reference implementation when this site was built.\n\n"
          f"```text\n{hexdump(data)}\n```\n\n"
          '??? example "Every field in it, as `aigif info` prints them (§17)"\n\n'
          f"    ```json\n{textwrap.indent(json.dumps(info, indent=2, ensure_ascii=False), '    ')}\n    ```\n")
    return md, {"assets/paper-example.aigif": data}


def vector_png(root: Path) -> Path | None:
    """A PNG of the conformance vectors: under regen/ first, then one with an .aigif beside it."""
    vec = root / "vectors"
    pngs = [p for p in vec.rglob("*.png") if "models" not in p.relative_to(vec).parts] if vec.is_dir() else []
    rank = lambda p: ("regen" not in p.relative_to(vec).parts, not p.with_suffix(".aigif").exists(), str(p))  # noqa: E731
    return min(pngs, key=rank, default=None)


def _fields(aig: bytes) -> str:
    """The fields of a vector's .aigif as a table ("" if this reference implementation cannot read it)."""
    try:
        from aigif import codec, jsonform
        info = jsonform.to_json(codec.read(aig))
    except Exception:  # a vector may be made for a newer registry; the image still shows
        return ""
    rows = [("model", info.get("model")), ("prompt", info.get("prompt")), ("negative prompt", info.get("negative_prompt")),
            ("size", f"{info.get('width')}×{info.get('height')}"), ("seed", info.get("seed"))]
    rows += [(k, v) for k, v in (info.get("fields") or {}).items() if not isinstance(v, (dict, list))]
    rows += [("dtype", info.get("dtype")), ("noise source", info.get("noise")), ("device", info.get("device"))]
    cells = "".join(f"| {escape(k)} | " + (f"<code>{escape(str(v))}</code>" if v not in ("", None)
                                           else '<span class="aigif-dim">(empty)</span>') + " |\n" for k, v in rows)
    return f'<div class="aigif-reg" markdown>\n\n| what the file stores | |\n|---|---|\n{cells}\n</div>\n\n'


def regenerated_image(root: Path) -> tuple[str, dict[str, bytes]]:
    png = vector_png(root)
    if png is None:
        return NO_IMAGE, {}
    data, aig = png.read_bytes(), png.with_suffix(".aigif")
    assets = {"assets/regenerated.png": data}
    dims, width = "", 256
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        dims = f" ({w}×{h} pixels{', shown enlarged' if w < 256 else ''})"
        width = max(w, 256) if w <= 512 else 512
    md = ['<div class="aigif-regen" markdown>\n\n<figure class="aigif-figure"><img src="assets/regenerated.png" '
          f'class="aigif-pixelated" width="{width}" alt="An image regenerated from its AIGIF file"><figcaption>An image '
          f"regenerated from its .aigif file{escape(dims)}, from the conformance vector "
          f"<code>{escape(png.relative_to(root).as_posix())}</code>.</figcaption></figure>\n\n"]
    if aig.exists():
        assets["assets/regenerated.aigif"] = aig.read_bytes()
        md.append(_fields(assets["assets/regenerated.aigif"]))
    md.append("</div>\n\n")
    if aig.exists():
        md.append(f"Its whole [`.aigif` file](assets/regenerated.aigif) is **{aig.stat().st_size} bytes**; "
                  f"the PNG is {len(data):,} bytes.")
    md.append("\nThe conformance images come from tiny models that ship with the test suite, so they regenerate "
              "offline in seconds; real models (SD 1.5, SDXL, FLUX, …) work the same way.\n")
    return "".join(md), assets
