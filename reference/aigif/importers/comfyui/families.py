"""Which model family a ComfyUI graph ran, from what the graph itself shows.

A model loaded through ``UNETLoader`` / ``UnetLoaderGGUF`` is no SD 1.x
checkpoint whatever its name, and a name may say nothing
(``model.safetensors``): the graph says more. Evidence, in this order:

1. the model's file name when it names a family (``flux1-dev-Q4_K_S.gguf``,
   ``ponyDiffusionV6XL``, ``illustriousXL``, ``noobai``, ``sd3.5_large``,
   ``aura_flow_0.2``): a text encoder type is shared by families (Z-Image
   loads its encoder as ``lumina2``), a file name rarely lies;
2. the ``type`` of a CLIPLoader / DualCLIPLoader / TripleCLIPLoader
   (``flux``, ``sd3``, ``hunyuan_dit``, ...);
3. nodes that exist for one family only (``FluxGuidance``,
   ``StableCascade_*``, ``CLIPTextEncodeSDXL``, ``CLIPTextEncodeHunyuanDiT``,
   ...; not the shared ones: Wan runs on ``EmptyHunyuanLatentVideo``,
   Lumina 2 on ``ModelSamplingAuraFlow``).

The answer is a family key: one of the registry's families (``sd``,
``sdxl``, ``sd3``, ``flux``, ``pixart-alpha``, ``pixart-sigma``, ``sana``)
or another family's name (``stable-cascade``, ``auraflow``, ...), which has
no registry family; ``unknown`` for a UNet/GGUF-loaded model without any
evidence; None for a plain checkpoint without any (the converter's own name
rules decide).
"""
from __future__ import annotations

import re

from .graph import Graph

#: Node classes (exact, or a prefix ending in "_" / "*") that only one family uses.
NODE_FAMILIES: tuple[tuple[str, str], ...] = (
    ("FluxGuidance", "flux"), ("CLIPTextEncodeFlux", "flux"), ("ModelSamplingFlux", "flux"),
    ("FluxKontextImageScale", "flux"), ("StableCascade_*", "stable-cascade"), ("CLIPTextEncodeSDXL", "sdxl"),
    ("CLIPTextEncodeSDXLRefiner", "sdxl"),
    ("CLIPTextEncodeHunyuanDiT", "hunyuan-dit"),
    ("EmptyLTXVLatentVideo", "ltxv"), ("LTXV*", "ltxv"), ("EmptyMochiLatentVideo", "mochi"),
    ("EmptyCosmosLatentVideo", "cosmos"), ("WanImageToVideo", "wan"), ("WanFunControlToVideo", "wan"),
    ("Wan*", "wan"), ("SVD_img2vid_Conditioning", "svd"),
    ("StableZero123_Conditioning", "stable-zero123"), ("CLIPTextEncodeHiDream", "hidream"),
    ("EmptyHunyuanImageLatent", "hunyuan-image"), ("TextEncodeQwenImageEdit*", "qwen-image"),
    ("CLIPTextEncodeLumina2", "lumina2"), ("EmptyChromaRadianceLatentImage", "chroma"),
)
#: CLIP loader ``type`` values -> family.
CLIP_TYPES = {"flux": "flux", "sd3": "sd3", "sdxl": "sdxl", "stable_diffusion": "sd", "stable_cascade": "stable-cascade",
              "hunyuan_dit": "hunyuan-dit", "hunyuan_video": "hunyuan-video", "hidream": "hidream", "ltxv": "ltxv",
              "mochi": "mochi", "cosmos": "cosmos", "wan": "wan", "chroma": "chroma", "lumina2": "lumina2",
              "qwen_image": "qwen-image", "omnigen2": "omnigen2", "pixart": "pixart-sigma", "hunyuan_image": "hunyuan-image",
              "flux2": "flux2", "aura_flow": "auraflow"}
#: File-name patterns -> family, most specific first (an SDXL derivative's name rarely says "sdxl").
NAME_FAMILIES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(rx, re.I), fam) for rx, fam in (
    (r"stable_cascade|stable-cascade|stage_[bc]\b", "stable-cascade"),
    (r"flux[-_.]?2", "flux2"), (r"flux", "flux"),
    (r"sd3|sd_3|stable-diffusion-3", "sd3"),
    (r"aura_?flow", "auraflow"), (r"hunyuan_?dit", "hunyuan-dit"), (r"hunyuan_?video", "hunyuan-video"),
    (r"hidream", "hidream"), (r"pixart.*sigma", "pixart-sigma"), (r"pixart", "pixart-alpha"), (r"sana", "sana"),
    (r"lumina", "lumina2"), (r"qwen[_-]?image", "qwen-image"), (r"\bwan2|wan2\.\d", "wan"), (r"ltx[-_]?video", "ltxv"),
    (r"mochi", "mochi"), (r"cosmos", "cosmos"), (r"kolors", "kolors"), (r"playground", "playground"),
    (r"z_image", "z-image"), (r"omnigen", "omnigen2"), (r"\bsvd", "svd"), (r"cascade", "stable-cascade"),
    (r"xl|pony|illustrious|noob|animagine|juggernaut_?x", "sdxl"),
    (r"v1-5|v1_5|sd15|sd-v1|sd_v1|1\.5|v2-1|v2_1|sd21|512-|768-", "sd"),
))
# "chroma" is a Flux derivative by architecture, but its own pipeline: name it
_CHROMA = re.compile(r"chroma", re.I)
#: Loaders that load a bare diffusion model (no text encoder, no VAE): never an SD 1.x checkpoint by default.
UNET_LOADERS = ("UNETLoader", "UnetLoaderGGUF", "UnetLoaderGGUFAdvanced", "DiffusionModelLoader")


def _node_family(ct: str) -> str | None:
    return next((fam for pat, fam in NODE_FAMILIES if ct == pat or (pat.endswith("*") and ct.startswith(pat[:-1]))),
                None)


def name_family(name: str) -> str | None:
    if _CHROMA.search(name):
        return "chroma"
    return next((fam for rx, fam in NAME_FAMILIES if rx.search(name)), None)


def graph_family(g: Graph, model: dict, nodes: list[str]) -> dict:
    """{"family", "evidence"} for the base pass (``nodes``: the nodes on its paths; ``model``: its loader)."""
    name: str = model["name"] if isinstance(model.get("name"), str) else ""
    fam = name_family(name) if name else None
    if fam is not None:
        return {"family": fam, "evidence": f"model file name {name!r}"}
    for nid in nodes:
        ct = g.ct(nid)
        if "CLIPLoader" in ct:
            t = g.inputs(nid).get("type")
            if isinstance(t, str) and t.lower() in CLIP_TYPES:
                return {"family": CLIP_TYPES[t.lower()], "evidence": f"{ct} #{nid} type {t!r}"}
    for nid in nodes:
        fam = _node_family(g.ct(nid))
        if fam is not None:
            return {"family": fam, "evidence": f"node {g.ct(nid)} #{nid}"}
    if model.get("class") in UNET_LOADERS or name.lower().endswith(".gguf"):
        return {"family": "unknown", "evidence": f"{model.get('class')} #{model.get('node')} loads {name!r}, "
                                                  "a bare diffusion model of a family the graph does not show"}
    return {"family": None, "evidence": "no family evidence in the graph"}
