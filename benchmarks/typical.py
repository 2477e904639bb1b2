"""Typical SD 1.5 generations for the benchmarks: varied seeds, sizes,
steps and guidance, deterministic (fixed seed), over two prompt corpora."""
from __future__ import annotations

import csv
import random
import struct
import zlib
from pathlib import Path

from aigif import jsonform

ROOT = Path(__file__).resolve().parents[1]
PARTI = ROOT.parent / "shared" / "corpora" / "PartiPrompts.tsv"
SD_LONG = ROOT / "benchmarks" / "corpora" / "sd_long_prompts.tsv"
SIZES = [512, 576, 640, 704, 768, 832, 896, 960, 1024]
SCHEDULERS = ["dpmpp-2m-karras", "euler-a", "ddim", "euler", "dpmpp-sde-karras", "unipc", "dpmpp-2m-sde-karras", "pndm"]
A1111_NAMES = {"dpmpp-2m-karras": "DPM++ 2M Karras", "euler-a": "Euler a", "ddim": "DDIM", "euler": "Euler",
               "dpmpp-sde-karras": "DPM++ SDE Karras", "unipc": "UniPC", "dpmpp-2m-sde-karras": "DPM++ 2M SDE Karras", "pndm": "PLMS"}


#: columns a TSV corpus may give to replace the generated settings (a held-out set with real seeds and settings)
SETTING_COLUMNS = {"seed": int, "width": int, "height": int, "steps": int, "guidance": float}


def rows(name: str) -> list[dict]:
    """The rows of a named corpus (``parti``, ``sd-long``), or of a TSV file given by path: a ``prompt``
    column, optionally ``negative`` and any of :data:`SETTING_COLUMNS`."""
    if name == "parti":
        with open(PARTI, newline="", encoding="utf-8") as fh:
            return [{"prompt": r["Prompt"]} for r in csv.DictReader(fh, delimiter="\t")]
    with open(SD_LONG if name == "sd-long" else name, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh, delimiter="\t"))


def corpus(name: str) -> list[tuple[str, str]]:
    return [(r["prompt"], r.get("negative") or "") for r in rows(name)]


def generations(name: str, seed: int = 2024):
    """(prompt, negative, settings dict) for every prompt of a corpus; settings the corpus gives are used."""
    rng = random.Random(seed)
    for row in rows(name):
        square = rng.random() < 0.6
        h = rng.choice(SIZES)
        s = {
            "seed": rng.getrandbits(32), "height": h, "width": h if square else rng.choice(SIZES),
            "steps": rng.randint(20, 50), "guidance": rng.choice([5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0, 8.5, 9.0]),
            "scheduler": rng.choice(SCHEDULERS), "gpu": rng.choice(["rtx-3090", "rtx-4090", "a100-80gb", "rtx-3060"]),
            "cuda": rng.choice(["cu118", "cu121", "cu124"]),
        }
        s.update({k: cast(row[k]) for k, cast in SETTING_COLUMNS.items() if row.get(k) not in (None, "")})
        yield row["prompt"], row.get("negative") or "", s


def aigif_file(prompt: str, negative: str, s: dict, text_coder: str = "deflate"):
    return jsonform.new("sd-1.5", prompt=prompt, negative_prompt=negative, height=s["height"], width=s["width"], seed=s["seed"],
                        fields={"scheduler": s["scheduler"], "steps": s["steps"], "guidance": s["guidance"]},
                        device="cuda", platform={"gpu": s["gpu"], "cuda": s["cuda"]}, dtype="float16", noise="torch-cuda",
                        text_coder=text_coder)


def paper_layout(prompt: str, negative: str, s: dict) -> bytes:
    """The paper's Table I as described: 1+4+4+1+4 bits of compression options
    and a 4-bit device (18 bits -> 3 bytes), 1-byte gpu, cuda and model ID,
    4-bit dtype + 4-bit scheduler (1 byte), the strings zlib-compressed (level 9,
    NUL-separated), 4-byte height, width and seed, 2-byte steps, 4-byte float
    guidance. No magic or checksum: the paper defines none."""
    head = bytes(3) + bytes([7, 3, 0, 0x10])
    strings = zlib.compress(prompt.encode() + b"\0" + negative.encode(), 9)
    tail = struct.pack("<IIIHf", s["height"], s["width"], s["seed"], s["steps"], s["guidance"])
    return head + strings + tail


def a1111_text(prompt: str, negative: str, s: dict) -> str:
    neg = f"\nNegative prompt: {negative}" if negative else ""
    return (f"{prompt}{neg}\nSteps: {s['steps']}, Sampler: {A1111_NAMES[s['scheduler']]}, CFG scale: {s['guidance']:g}, "
            f"Seed: {s['seed']}, Size: {s['width']}x{s['height']}, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly")
