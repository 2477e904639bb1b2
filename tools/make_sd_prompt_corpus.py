#!/usr/bin/env python3
"""Generate a deterministic corpus of long Stable-Diffusion-style prompt pairs.

Writes ``benchmarks/corpora/sd_long_prompts.tsv`` (header ``prompt\tnegative``,
one pair per line, no tabs or newlines inside fields).  Everything is built from
the hand-written vocabularies below and :class:`random.Random` with a fixed seed,
so the output is byte-identical on every run and every CPython >= 3.10.

The benchmark corpus uses seed 20240601.  ``tools/build_prompt_model.py`` calls
:func:`generate` with a *different* seed to obtain its training sample, so the
benchmark instances are never seen by the shipped text model.

The vocabularies were written for this project (style mirrors what prompt
sharing sites show: quality tags, weights ``(x:1.2)``, de-emphasis ``[x]``,
LoRA tags ``<lora:name:0.8>``, ``BREAK``, artist lists, long negative prompts).
Artist names are a mix of names that commonly appear in public prompts and
invented ones; they are used only as strings.
"""
from __future__ import annotations

import argparse
import os
import random

BENCHMARK_SEED = 20240601
TRAINING_SEED = 77

QUALITY = [
    "masterpiece", "best quality", "high quality", "ultra-detailed", "ultra detailed",
    "extremely detailed", "highly detailed", "intricate details", "intricate", "8k",
    "4k", "8k uhd", "uhd", "hdr", "absurdres", "highres", "official art", "sharp focus",
    "photorealistic", "realistic", "hyperrealistic", "hyper realistic", "raw photo",
    "award winning photography", "award-winning", "professional", "cinematic",
    "extremely detailed CG unity 8k wallpaper", "amazing quality", "very aesthetic",
    "newest", "detailed background", "perfect composition", "beautiful detailed eyes",
    "detailed skin texture", "film grain", "soft focus", "high resolution",
    "studio quality", "trending on artstation", "trending on pixiv", "featured on cgsociety",
    "unreal engine 5", "octane render", "ray tracing", "volumetric lighting",
    "depth of field", "bokeh", "vivid colors", "hdr10", "concept art", "digital painting",
    "matte painting", "illustration", "key visual", "splash art",
]

SUBJECT_PEOPLE = [
    "1girl", "1boy", "2girls", "solo", "a young woman", "an old man", "a knight",
    "a female warrior", "a cyberpunk hacker", "a witch", "a samurai", "an astronaut",
    "a princess", "a pirate captain", "a little girl", "a street musician", "a monk",
    "a sorceress", "an elf ranger", "a vampire lord", "a mechanic", "a ballerina",
    "a detective", "a soldier", "a cowboy", "a geisha", "a viking warrior", "a nun",
    "a scientist", "a queen", "a fairy", "a magical girl", "an android", "a ninja",
    "a fisherman", "a chef", "a schoolgirl", "a barbarian", "a bard", "a necromancer",
]
SUBJECT_THINGS = [
    "a red fox", "a giant whale", "a dragon", "a white wolf", "a black cat", "an owl",
    "a brass airship", "a futuristic city", "a medieval castle", "a cozy cabin",
    "a lighthouse", "an ancient temple", "a floating citadel", "a sports car",
    "a mech robot", "a starship", "a treehouse", "a waterfall", "a ruined cathedral",
    "a mountain village", "a koi pond", "a crystal cave", "a library", "a tea house",
    "a phoenix", "a tiger", "a horse", "a bonsai tree", "a bowl of ramen",
    "a cup of coffee", "a bouquet of flowers", "a lone tree", "a desert oasis",
    "a snowy forest", "an underwater city", "a neon street", "a train station",
    "a giant mushroom", "a portal", "a clockwork owl",
]
HAIR = [
    "long hair", "short hair", "silver hair", "blonde hair", "black hair", "red hair",
    "pink hair", "white hair", "blue hair", "brown hair", "twintails", "ponytail",
    "braid", "messy hair", "wavy hair", "bangs", "hair ornament", "hair between eyes",
    "hair flower", "ahoge",
]
EYES = [
    "blue eyes", "green eyes", "red eyes", "golden eyes", "purple eyes", "heterochromia",
    "brown eyes", "glowing eyes", "detailed eyes", "closed eyes", "looking at viewer",
    "looking away", "looking up", "smile", "light smile", "open mouth", "blush",
    "serious expression", "crying", "expressionless",
]
CLOTHES = [
    "wearing a red kimono", "school uniform", "white dress", "black dress", "armor",
    "plate armor", "leather jacket", "hoodie", "cloak", "hooded cloak", "maid outfit",
    "sailor collar", "thighhighs", "gloves", "boots", "witch hat", "wearing a scarf",
    "off shoulder", "detached sleeves", "wearing glasses", "earrings", "necklace",
    "ornate armor", "flowing robes", "business suit", "sundress", "tank top",
    "denim jacket", "tactical gear", "spacesuit", "wedding dress", "military uniform",
]
POSE = [
    "standing", "sitting", "upper body", "full body", "cowboy shot", "portrait",
    "close-up", "from side", "from behind", "from above", "from below", "dynamic pose",
    "walking", "running", "floating", "holding a sword", "holding an umbrella",
    "holding a book", "arms up", "hand on hip", "crossed arms", "kneeling", "leaning forward",
    "looking back", "reaching out", "dutch angle", "wide shot", "medium shot",
]
SETTING = [
    "in a cherry blossom garden", "in a cyberpunk city at night", "on a beach at sunset",
    "in an enchanted forest", "on a mountain peak", "in a ruined castle", "in the rain",
    "in a snowy field", "in a flower field", "under the stars", "in outer space",
    "in a cozy bedroom", "in a library", "in a cafe", "on a rooftop", "in a desert",
    "in a misty swamp", "by a lake", "in a neon-lit alley", "in a throne room",
    "on a battlefield", "in a greenhouse", "in a classroom", "on a city street",
    "in a wheat field", "inside a starship", "in a dungeon", "at a train station",
    "outdoors", "indoors", "night sky", "blue sky", "clouds", "sunset", "sunrise",
    "golden hour", "autumn leaves", "falling petals", "snow", "fog", "city lights",
    "scenery", "landscape", "simple background", "white background", "gradient background",
]
LIGHTING = [
    "soft lighting", "dramatic lighting", "cinematic lighting", "rim lighting",
    "studio lighting", "natural lighting", "volumetric light", "god rays", "backlighting",
    "moody lighting", "neon lights", "warm lighting", "cold lighting", "sunlight",
    "moonlight", "candlelight", "glowing", "light particles", "lens flare",
    "chromatic aberration", "subsurface scattering", "global illumination", "ambient occlusion",
    "hard shadows", "harsh light", "low key", "bloom",
]
CAMERA = [
    "35mm", "50mm", "85mm", "85mm lens", "f/1.8", "f/2.8", "wide angle", "telephoto lens",
    "shot on Canon EOS R5", "Sony A7R IV", "Nikon D850", "Fujifilm XT3", "Kodak Portra 400",
    "macro shot", "tilt-shift", "long exposure", "ISO 100", "1/250s", "shallow depth of field",
    "film photography", "polaroid", "analog photo", "aerial view", "drone shot", "fisheye lens",
]
STYLE = [
    "manga style", "oil painting", "watercolor", "digital art", "concept art",
    "fantasy art", "cyberpunk", "dieselpunk", "art nouveau", "baroque", "impressionism",
    "ukiyo-e", "pixel art", "low poly", "3d render", "cel shading", "comic book style",
    "manga", "ink sketch", "charcoal drawing", "pastel colors", "vaporwave", "synthwave",
    "dark fantasy", "gothic", "surrealism", "minimalism", "studio ghibli style",
    "disney pixar style", "isometric", "chibi", "photography", "fashion photography",
    "portrait photography", "street photography", "cinematic still", "movie still",
    "album cover", "book cover", "tarot card", "stained glass", "sticker", "vector art",
]
ARTISTS = [
    "greg rutkowski", "alphonse mucha", "artgerm", "wlop", "makoto shinkai", "ilya kuvshinov",
    "james jean", "ross tran", "loish", "sakimichan", "krenz cushart", "thomas kinkade",
    "simon stalenhag", "beeple", "craig mullins", "john singer sargent", "rembrandt",
    "claude monet", "hayao miyazaki", "yoshitaka amano", "moebius",
    "zdzislaw beksinski", "h r giger", "frank frazetta", "boris vallejo", "jakub rozalski",
    "peter mohrbacher", "ruan jia", "charlie bowater", "tom bagshaw", "rossdraws",
    "marc simonetti", "ivan aivazovsky", "studio ghibli", "kuvshinov", "norman rockwell",
    "albert bierstadt", "caspar david friedrich", "range murata", "eiko ojala",
    "anna dittmann", "carne griffiths", "magali villeneuve", "dan mumford", "atey ghailan",
    "lois van baarle", "stanley artgerm lau", "tsutomu nihei", "kentaro miura",
    "edward hopper", "gustav klimt", "mort kunstler", "brom", "wadim kashin",
    "aleksi briclot", "jeremy lipking", "daniel f gerhartz", "tim burton",
    "orla velden", "mirek hasse", "tavi quillon", "sena okabe", "rurik vandell",
    "petra lindqvist", "kaito morrow", "jun ashikaga", "ines calvero", "marek sobolewski",
]
SITES = [
    "trending on artstation", "artstation", "pixiv", "deviantart", "cgsociety",
    "behance", "unsplash", "instagram", "500px", "featured on pixiv", "artstation hq",
]
EMBEDDINGS_POS = ["", "", "", "", "", "", "", ""]
LORAS = [
    "add_detail", "more_details", "detail_tweaker", "epiNoiseoffset_v2", "LowRA",
    "film_grain_v1", "ghibli_style", "animeoutlineV4_16", "FilmVelvia3", "lcm_lora_sd15",
    "hanfu_v2", "cyberpunk_2077", "pixel_art_xl", "watercolor_v1", "add_saturation",
    "polyhedron_skin", "breastinclassBetter", "CyberpunkAI", "ink_wash_v2",
    "thickline_fp16", "GoodHands-beta2", "arcane_style", "paper_cut_v3", "mecha_v1",
]

NEG_CORE = [
    "worst quality", "low quality", "normal quality", "lowres", "bad anatomy",
    "bad hands", "text", "error", "missing fingers", "extra digit", "fewer digits",
    "cropped", "jpeg artifacts", "signature", "watermark", "username", "blurry",
    "artist name", "bad proportions", "deformed", "disfigured", "mutated hands",
    "poorly drawn hands", "poorly drawn face", "mutation", "ugly", "extra limbs",
    "extra arms", "extra legs", "malformed limbs", "missing arms", "missing legs",
    "fused fingers", "too many fingers", "long neck", "cross-eyed", "out of frame",
    "duplicate", "morbid", "mutilated", "gross proportions", "cloned face",
    "bad composition", "low resolution", "out of focus", "oversaturated", "grainy",
    "monochrome", "grayscale", "nsfw", "frame", "border", "3d", "cartoon",
    "sketch", "painting", "illustration", "censored", "bad eyes",
    "asymmetrical eyes", "deformed iris", "deformed pupils", "semi-realistic",
    "cgi", "render", "doll", "plastic skin", "overexposed", "underexposed",
    "lowres face", "bad feet", "extra fingers", "mutated", "disconnected limbs",
    "floating limbs", "blur", "noise", "tiling", "cut off", "draft",
]
NEG_EMB = ["EasyNegative", "badhandv4", "ng_deepnegative_v1_75t", "bad-hands-5",
           "bad_prompt_version2", "negative_hand-neg", "verybadimagenegative_v1.3",
           "BadDream", "UnrealisticDream", "FastNegativeV2"]


def _weight(rng: random.Random) -> str:
    return rng.choice(["1.1", "1.2", "1.3", "1.4", "1.5", "0.8", "0.9", "1.15", "1.25",
                       "0.7", "1.05", "1.35", "0.6", "1.6"])


def _decorate(rng: random.Random, tag: str) -> str:
    """Apply prompt weighting syntax to a tag with realistic probabilities."""
    r = rng.random()
    if r < 0.14:
        return f"({tag}:{_weight(rng)})"
    if r < 0.20:
        return f"({tag})"
    if r < 0.23:
        return f"(({tag}))"
    if r < 0.25:
        return f"[{tag}]"
    if r < 0.26:
        return f"((({tag})))"
    return tag


def _pick(rng: random.Random, pool: list[str], lo: int, hi: int) -> list[str]:
    return rng.sample(pool, rng.randint(lo, hi))


def make_prompt(rng: random.Random) -> str:
    parts: list[str] = []
    style_mode = rng.random()
    q = _pick(rng, QUALITY[:12], 1, 4)
    if rng.random() < 0.85:
        parts += q
    people = rng.random() < 0.6
    if people:
        subj = rng.choice(SUBJECT_PEOPLE)
        parts.append(subj)
        if subj[0].isdigit() and rng.random() < 0.7:
            parts.append("solo")
        parts += _pick(rng, HAIR, 1, 3)
        parts += _pick(rng, EYES, 1, 3)
        parts += _pick(rng, CLOTHES, 1, 3)
        parts += _pick(rng, POSE, 0, 2)
    else:
        subj = rng.choice(SUBJECT_THINGS)
        if rng.random() < 0.5:
            subj = subj + " " + rng.choice(SETTING[:30])
        parts.append(subj)
    parts += _pick(rng, SETTING, 1, 3)
    parts += _pick(rng, LIGHTING, 1, 3)
    if style_mode < 0.35:
        parts += _pick(rng, CAMERA, 1, 3)
    parts += _pick(rng, STYLE, 0, 2)
    if rng.random() < 0.25:
        parts += _pick(rng, QUALITY[12:], 1, 4)
    parts = [_decorate(rng, p) for p in parts]
    if rng.random() < 0.6:
        names = _pick(rng, ARTISTS, 1, 4)
        lead = rng.choice(["by ", "art by ", "artwork by ", "in the style of ", "style of "])
        joiner = rng.choice([", ", " and ", ", and "]) if len(names) > 1 else ""
        if joiner == ", and ":
            txt = ", ".join(names[:-1]) + ", and " + names[-1]
        else:
            txt = (joiner or ", ").join(names)
        parts.append(lead + txt)
    if rng.random() < 0.4:
        parts.append(rng.choice(SITES))
    if rng.random() < 0.15 and len(parts) > 6:
        cut = rng.randint(3, len(parts) - 2)
        parts = parts[:cut] + ["BREAK"] + parts[cut:]
    text = ", ".join(parts)
    if rng.random() < 0.08:
        text = text.replace("BREAK, ", "BREAK ").replace(", BREAK", " BREAK")
    n_lora = rng.choice([0, 0, 0, 1, 1, 2, 3])
    loras = [f"<lora:{name}:{rng.choice(['0.4', '0.5', '0.6', '0.7', '0.8', '0.9', '1', '1.0'])}>"
             for name in rng.sample(LORAS, n_lora)]
    if loras:
        text = text + (", " if rng.random() < 0.6 else " ") + (", " if rng.random() < 0.5 else " ").join(loras)
    if rng.random() < 0.05:
        text = text.replace(", ", ",")
    return text


def make_negative(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.08:
        return ""
    parts: list[str] = []
    if rng.random() < 0.35:
        parts += rng.sample(NEG_EMB, rng.randint(1, 3))
    if rng.random() < 0.6:
        w = rng.choice(["1.4", "1.3", "1.2", "2", "1.5"])
        if rng.random() < 0.25:
            parts.append(f"(worst quality:{w}), (low quality:{w}), (normal quality:{w})")
        else:
            head = rng.choice(["worst quality, low quality", "worst quality, low quality, normal quality",
                               "low quality, worst quality"])
            parts.append(f"({head}:{w})")
    start = rng.randint(0, 6)
    k = rng.randint(6, 40)
    core = NEG_CORE[start:start + k] if rng.random() < 0.6 else rng.sample(NEG_CORE, min(k, len(NEG_CORE)))
    parts += [_decorate(rng, c) if rng.random() < 0.5 else c for c in core]
    text = ", ".join(parts)
    if rng.random() < 0.05:
        text = text.replace(", ", ",")
    return text


def generate(n: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    return [(make_prompt(rng), make_negative(rng)) for _ in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=BENCHMARK_SEED)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("-o", default=os.path.join(here, "..", "benchmarks", "corpora", "sd_long_prompts.tsv"))
    a = ap.parse_args()
    rows = generate(a.n, a.seed)
    os.makedirs(os.path.dirname(os.path.abspath(a.o)), exist_ok=True)
    with open(a.o, "w", encoding="utf-8", newline="\n") as f:
        f.write("prompt\tnegative\n")
        for p, q in rows:
            assert "\t" not in p + q and "\n" not in p + q
            f.write(f"{p}\t{q}\n")


if __name__ == "__main__":
    main()
