"""The tool-neutral record an importer produces: :class:`ImportedGeneration`.

Field values are kept as the source wrote them (names are the tool's own
names, numbers are parsed from the exact text the tool wrote). Anything the
source carried that has no field of its own goes to ``extra`` under the
source's own key, so nothing is dropped silently; ``lost`` lists, in words,
what a regenerator working only from the typed fields would get wrong;
``notes`` explains choices the importer made (which sampler of a graph it
took, how a value was decoded).

Typed: ``seed`` is any size (ComfyUI and Fooocus seeds are 64-bit),
``steps`` an int, ``cfg_scale`` ``float()`` of the text the tool wrote
(``"7.5"`` -> 7.5, ``"5"`` -> 5.0); prompts are exactly the text the tool
used (no stripping: ComfyUI prompts often end in ``\n``, InvokeAI's split
keeps a trailing space).

What real images carry that the typed fields cannot hold goes to ``extra``
and is named in ``lost``: hires-fix / second passes and refiner or
step-split sampling; img2img sources, ControlNet, IP-Adapter and unCLIP
reference images; regional and composed prompts (ComfyUI SetArea,
LatentComposite, A1111 ``AND``/``BREAK``); prompt expansion and styles
(Fooocus ``full_prompt``, SDXL style prompts); guidance variants
(``cfg_rescale``, Fooocus ``sharpness``/``adm_guidance``, CFG++ samplers);
variation seeds; sampler settings (eta, s_churn, sigma min/max);
post-processing (face restoration, upscaling, image nodes after the
sampler).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImportedGeneration:
    #: The application that wrote the metadata: "AUTOMATIC1111", "Forge",
    #: "ComfyUI", "Fooocus", "InvokeAI", "NovelAI".
    source_tool: str
    #: The metadata layout inside that tool, e.g. "a1111-infotext",
    #: "comfyui-prompt-graph", "fooocus-json", "invokeai-metadata",
    #: "invokeai-sd-metadata", "invokeai-dream", "novelai-comment".
    source_format: str = ""
    #: The tool's version string when the metadata states one.
    source_version: str | None = None
    #: Where the metadata was found, e.g. "png:tEXt:parameters",
    #: "jpeg:exif:UserComment", "png:stealth_pngcomp:alpha".
    container: str = ""

    prompt: str | None = None
    negative_prompt: str | None = None
    #: How the tool read its prompts: a key of the registry's prompt_syntaxes
    #: table ("a1111", "comfyui", "compel", "novelai", "plain").
    prompt_syntax: str | None = None
    #: A1111/Forge "Emphasis" mode as the infotext wrote it ("Original",
    #: "No norm", "Ignore", "None"); None when the source did not say.
    emphasis: str | None = None
    seed: int | None = None          # any size: ComfyUI/Fooocus seeds are 64-bit
    steps: int | None = None
    cfg_scale: float | None = None   # float(text the tool wrote)
    sampler: str | None = None       # the tool's own sampler name
    schedule: str | None = None      # the tool's own schedule / scheduler type name
    width: int | None = None         # generation size (not the pixel size of the file)
    height: int | None = None
    model_name: str | None = None
    model_hash: str | None = None    # hex as written (A1111 AutoV2: 10 hex digits)
    clip_skip: int | None = None     # A1111 convention: 1 = last layer (no skip)
    eta_noise_seed_delta: int | None = None
    rng: str | None = None           # A1111 "RNG": CPU / GPU / NV
    denoise: float | None = None     # img2img strength / ComfyUI denoise of the base pass
    vae: str | None = None
    loras: list[dict[str, Any]] = field(default_factory=list)
    hires: dict[str, Any] | None = None
    batch_size: int | None = None
    #: Pixel size of the image file itself (may differ from width/height:
    #: hires fix, upscaling, cropping).
    image_size: tuple[int, int] | None = None

    extra: dict[str, Any] = field(default_factory=dict)
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The raw metadata text(s) this record was built from, by container key.
    raw: dict[str, str] = field(default_factory=dict, repr=False)

    def to_dict(self, *, include_raw: bool = False) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if d["image_size"] is not None:
            d["image_size"] = list(d["image_size"])
        if not include_raw:
            d.pop("raw")
        return d

    # Membership through a set kept beside the list: a hostile file can make a reader report
    # 10^5 items, and a linear `in` per item made that quadratic. The set is rebuilt when the
    # list was changed or replaced directly, so callers may still append.
    def _seen(self, name: str, items: list[str]) -> set[str]:
        index = self.__dict__.get(name)
        if index is None or index[0] != len(items) or index[2] is not items:
            index = [len(items), set(items), items]
            self.__dict__[name] = index
        return index[1]

    def _add(self, name: str, items: list[str], text: str) -> None:
        seen = self._seen(name, items)
        if text not in seen:
            items.append(text)
            seen.add(text)
            self.__dict__[name][0] = len(items)

    def add_lost(self, text: str) -> None:
        self._add("_lost_index", self.lost, text)

    def add_note(self, text: str) -> None:
        self._add("_notes_index", self.notes, text)
