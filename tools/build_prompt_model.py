#!/usr/bin/env python3
"""Build the static model ``registry/prompt_model.bin`` (spec data beside the registry, SPEC.md Appendix E).

NOTICE -- training sources and their licences
=============================================
The model is derived ONLY from the following inputs (all fetched with the
ordinary package clients and pinned by SHA-256 below):

1. WordNet 3.0 (Princeton University), Debian package ``wordnet-base``
   1:3.0-37 (``apt-get download wordnet-base``).  Used: the glosses and
   example sentences in ``data.{noun,verb,adj,adv}``, the lemma lists in
   ``index.*``.  Licence: the WordNet 3.0 licence (permissive, BSD-like):

       WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.
       THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON UNIVERSITY
       MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR IMPLIED.  BY WAY OF
       EXAMPLE, BUT NOT LIMITATION, PRINCETON UNIVERSITY MAKES NO
       REPRESENTATIONS OR WARRANTIES OF MERCHANT- ABILITY OR FITNESS FOR ANY
       PARTICULAR PURPOSE OR THAT THE USE OF THE LICENSED SOFTWARE, DATABASE
       OR DOCUMENTATION WILL NOT INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS,
       TRADEMARKS OR OTHER RIGHTS.
       The name of Princeton University or Princeton may not be used in
       advertising or publicity pertaining to distribution of the software
       and/or database.  Title to copyright in this software, database and any
       associated documentation shall at all times remain with Princeton
       University and LICENSEE agrees to preserve same.

2. OpenCLIP (``open_clip_torch`` 3.3.0 wheel from PyPI, ``pip download
   --no-deps open_clip_torch==3.3.0``), MIT licence, Copyright (c) 2012-2021
   Gabriel Ilharco, Mitchell Wortsman, Nicholas Carlini, Rohan Taori, Achal
   Dave, Vaishaal Shankar, John Miller, Hongseok Namkoong, Hannaneh
   Hajishirzi, Ali Farhadi, Ludwig Schmidt.  Used: ``bpe_simple_vocab_16e6.txt.gz``
   (the CLIP BPE merge list; the merge rank of whole words is used as a
   word-frequency ranking) and ``zero_shot_metadata.py`` (ImageNet class names
   and the "a photo of a {}." prompt templates).

3. Hand-written material in this repository (Apache-2.0): the caption
   templates and vocabularies below, and a training sample drawn from
   ``tools/make_sd_prompt_corpus.py`` with TRAINING_SEED (77), which is a
   different seed from the benchmark corpus (20240601).

NOT used: PartiPrompts (the evaluation corpus) and the benchmark file
``benchmarks/corpora/sd_long_prompts.tsv``.  ``wordfreq`` was considered and
rejected: its code is Apache-2.0 but its frequency data is CC-BY-SA 4.0, whose
share-alike terms would attach to a derived model.

Usage::

    python -m tools.build_prompt_model            # downloads inputs to ~/.cache/aigif-prompt-model
    python -m tools.build_prompt_model --eval     # also prints corpus statistics

The build is deterministic: same inputs -> byte-identical model file.
After writing the model it updates MODEL_SHA256 in reference/aigif/text/prompt.py.
"""
from __future__ import annotations

import argparse
import ast
import collections
import gzip
import hashlib
import math
import os
import random
import re
import subprocess
import sys
import zipfile

from aigif.fsutil import sha256_file
from aigif.text import prompt as P
from aigif.wire import uvarint
from tools import make_sd_prompt_corpus as sdgen

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, ".."))

OUT_MODEL = os.path.join(ROOT, "registry", "prompt_model.bin")

WHEEL = "open_clip_torch-3.3.0-py3-none-any.whl"
WHEEL_SHA256 = "c549ad5ed6bfc119cc11105033c0a2b9d7a2a4afeb40a58a09aab3da1a0043ce"
INPUT_SHA256 = {
    "data.noun": "fea17d2f9656611334eac790e5d69e47645fa180c4aa481fb4cd9b3520754ca2",
    "data.verb": "adcf43e35b581e8036d8b5a52d63d9cd3d3b4870b2720d3c03c799df44777bc2",
    "data.adj": "c89120dfc1f046ddff4a631bf9b7e9fa1a36b5e86565a23bf82dbe14f30b88a7",
    "data.adv": "444a63bf3955080ab7524f5079cfc07ff9bc682cb98bdb1db73b0fb9829f1139",
    "index.noun": "a490d99d93d017bf4822fe2f0ffa51fd73911ce271dc7535fade21f8814b5a04",
    "index.verb": "e2ac24816c3a8289dcb72aaa9cf8db81fdf25ec34d792bfc96ac5b7a20c8b4ae",
    "index.adj": "c9865d7b4d1f805bdef82ccdcea5282436e23083e6f6f1b33e716327c4eda810",
    "index.adv": "6f5465ed5758fe9c8a2f7ec17b1300f3aa875756c70ff7cba162f7e71bcf88ea",
    "bpe_simple_vocab_16e6.txt.gz": "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a",
    "zero_shot_metadata.py": "3bd8adb168bdf80fd681a71258e67f2c4d0f8ed73eae9b504ed5063e1726bbe9",
}

# --------------------------------------------------------------------------
# Tunable parameters (chosen by measurement; see SPEC.md Appendix E.10).
PARAMS = dict(
    w_gloss=1.0,        # weight of a WordNet gloss token
    w_caption=1.0,      # weight of a hand-written caption-template token
    w_sd=1.0,           # weight of an SD training-sample token
    n_caption=60000,    # caption-template sentences
    n_sd=4000,          # SD training pairs (seed TRAINING_SEED)
    clip_mass=0.25,     # share of order-0 word mass given to the CLIP rank prior
    clip_max_rank=120000,
    kn_mass=0.45,       # share of order-0 word mass from continuation counts
    max_words=60000,    # vocabulary size (words)
    n_top=6000,         # words coded individually in order-0; rest via buckets
    bucket_ratio=1.6,   # max ratio of estimated probabilities inside a bucket
    esc_word_p=0.006,   # order-0 probability of ESC_WORD
    esc_other_p=0.002,  # minimum order-0 probability of ESC_OTHER and ESC_OTHER_SP
    d1=1.5,             # absolute discount, order-1
    min_ctx1=30.0,      # minimum weighted count of an order-1 context
    min_succ1=2.0,      # minimum weighted count of a kept order-1 successor
    d2=2.0,             # absolute discount, order-2
    min_ctx2=100.0,
    min_succ2=3.0,
    p_empty_neg=0.5,    # P(EOS) at the start of the second string (empty negative prompt)
    prune1=3.0,         # drop order-1 entries that gain fewer bits (on training data)
    prune2=3.0,         # the same for order-2
)


# --------------------------------------------------------------------------
# Inputs

def fetch_inputs(cache: str) -> dict[str, bytes]:
    """Return {name: bytes} for every file in INPUT_SHA256, downloading the
    Debian package and the wheel into ``cache`` if needed."""
    os.makedirs(cache, exist_ok=True)
    files: dict[str, bytes] = {}
    whl = os.path.join(cache, WHEEL)
    if not os.path.exists(whl):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps",
                        "open_clip_torch==3.3.0", "-d", cache], check=True)
    if sha256_file(whl) != WHEEL_SHA256:
        raise SystemExit(f"{whl}: unexpected SHA-256")
    with zipfile.ZipFile(whl) as z:
        files["bpe_simple_vocab_16e6.txt.gz"] = z.read("open_clip/bpe_simple_vocab_16e6.txt.gz")
        files["zero_shot_metadata.py"] = z.read("open_clip/zero_shot_metadata.py")
    debs = [f for f in os.listdir(cache) if f.startswith("wordnet-base") and f.endswith(".deb")]
    if not debs:
        subprocess.run(["apt-get", "download", "wordnet-base"], cwd=cache, check=True)
        debs = [f for f in os.listdir(cache) if f.startswith("wordnet-base") and f.endswith(".deb")]
    wndir = os.path.join(cache, "wordnet")
    if not os.path.isdir(wndir):
        subprocess.run(["dpkg-deb", "-x", os.path.join(cache, sorted(debs)[-1]), wndir], check=True)
    for name in INPUT_SHA256:
        if name.startswith(("data.", "index.")):
            with open(os.path.join(wndir, "usr", "share", "wordnet", name), "rb") as f:
                files[name] = f.read()
    for name, digest in INPUT_SHA256.items():
        if hashlib.sha256(files[name]).hexdigest() != digest:
            raise SystemExit(f"input {name}: unexpected SHA-256")
    return files


def wordnet_glosses(files: dict[str, bytes]) -> list[str]:
    out: list[str] = []
    for pos in ("noun", "verb", "adj", "adv"):
        for line in files[f"data.{pos}"].decode("latin-1").split("\n"):
            if not line or line.startswith("  ") or "|" not in line:
                continue
            gloss = line.split("|", 1)[1].strip()
            for part in gloss.split(";"):
                part = part.strip().strip('"').strip()
                if part:
                    out.append(part)
    return out


def wordnet_lemmas(files: dict[str, bytes]) -> set[str]:
    words: set[str] = set()
    for pos in ("noun", "verb", "adj", "adv"):
        for line in files[f"index.{pos}"].decode("latin-1").split("\n"):
            if not line or line.startswith(" "):
                continue
            for w in line.split(" ", 1)[0].split("_"):
                if re.fullmatch(r"[a-z]+", w):
                    words.add(w)
    return words


def clip_word_ranks(files: dict[str, bytes]) -> dict[str, int]:
    text = gzip.decompress(files["bpe_simple_vocab_16e6.txt.gz"]).decode("utf-8")
    ranks: dict[str, int] = {}
    for i, line in enumerate(text.split("\n")[1:]):
        parts = line.split(" ")
        if len(parts) != 2:
            continue
        tok = parts[0] + parts[1]
        if tok.endswith("</w>"):
            w = tok[:-4]
            if re.fullmatch(r"[a-z]+", w) and w not in ranks:
                ranks[w] = i
    return ranks


def imagenet_metadata(files: dict[str, bytes]) -> tuple[list[str], list[str]]:
    tree = ast.parse(files["zero_shot_metadata.py"].decode("utf-8"))
    names: list[str] = []
    templates: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name == "IMAGENET_CLASSNAMES":
                names = [e.value for e in node.value.elts]
            elif name == "OPENAI_IMAGENET_TEMPLATES":
                for lam in node.value.elts:
                    parts = []
                    for v in lam.body.values:
                        parts.append(v.value if isinstance(v, ast.Constant) else "{}")
                    templates.append("".join(parts))
    return names, templates


# --------------------------------------------------------------------------
# Hand-written caption templates (general image prompts).  Written for this
# project; objects are extended with the ImageNet class names from OpenCLIP.

OBJECTS = """cat dog horse cow sheep bird owl eagle parrot penguin duck chicken rabbit fox wolf bear
koala kangaroo giraffe elephant lion tiger zebra monkey gorilla squirrel mouse frog turtle
snake lizard dinosaur dragon unicorn robot astronaut knight wizard pirate chef teacher doctor
man woman boy girl child baby family couple king queen princess soldier farmer musician dancer
car truck bus bicycle motorcycle train airplane helicopter boat ship sailboat rocket house castle tower bridge church temple lighthouse windmill barn cabin skyscraper city village
tree flower rose sunflower tulip cactus mushroom forest mountain river lake ocean beach desert waterfall volcano cloud rainbow moon sun star planet galaxy storm
apple banana orange strawberry cherry pineapple watermelon lemon pear grape cake pie pizza burger
sandwich cookie donut cupcake bread cheese egg coffee tea wine beer soup salad sushi ramen
chair table sofa bed lamp clock mirror window door book vase bowl cup mug plate teapot
bottle glass guitar piano violin drum trumpet camera computer phone television radio
umbrella hat cap crown helmet mask glasses scarf tie dress jacket coat shoe boot backpack
ball kite balloon toy teddy bear doll box basket bag key sword shield bow arrow flag sign map
statue sculpture fountain bench street road alley garden park field farm kitchen bedroom library
classroom museum restaurant cafe market shop station airport stadium playground hospital office""".split()
ADJ = """red blue green yellow orange purple pink brown black white gray golden silver colorful
big small tiny huge giant little tall short long old young ancient modern futuristic vintage
cute happy sad angry sleepy funny beautiful ugly shiny wooden metal glass plastic stone marble
furry fluffy wet dry hot cold frozen burning glowing dark bright sunny rainy snowy foggy misty
cozy empty crowded quiet busy abandoned broken new clean dirty smooth rough soft hard striped
spotted wooden transparent realistic detailed simple strange magical mysterious giant""".split()
COLORS = "red blue green yellow orange purple pink brown black white gray golden silver".split()
MEDIA = ["a photo of", "a photograph of", "a picture of", "an image of", "a painting of",
         "an oil painting of", "a watercolor painting of", "a drawing of", "a pencil drawing of",
         "a sketch of", "a charcoal sketch of", "an illustration of", "a digital illustration of",
         "a cartoon of", "a comic of", "a 3D render of", "a render of", "a close-up photo of",
         "a black and white photo of", "a portrait of", "a sculpture of", "a statue of",
         "a mosaic of", "a tapestry of", "a poster of", "an icon of", "a sticker of",
         "a stained glass window of", "a woodcut of", "an engraving of", "a pixel art image of",
         "a children's book illustration of", "a still life of", "a diagram of", "a map of",
         "a painting in the style of", "a macro photo of", "an aerial photo of", "a selfie of",
         "a screenshot of", "a movie still of", "a postcard of"]
VERBS = ["sitting on", "standing on", "standing next to", "lying on", "sleeping on", "jumping over",
         "running through", "walking on", "walking down", "flying over", "swimming in", "riding",
         "holding", "eating", "drinking", "wearing", "playing with", "looking at", "reading",
         "carrying", "chasing", "hugging", "painting", "playing", "climbing", "dancing with",
         "sitting in", "standing in", "hiding behind", "floating above", "made of", "covered in",
         "surrounded by", "in front of", "on top of", "next to", "behind", "under", "inside",
         "near", "beside", "above", "below", "with", "without", "on", "in", "at", "by"]
PLACES = ["on a table", "on the beach", "in the forest", "in a field", "in the city", "in space",
          "on the moon", "on a mountain", "in the snow", "in the rain", "at night", "at sunset",
          "at sunrise", "in a kitchen", "in a living room", "in a garden", "on a street",
          "under the sea", "in the desert", "on a wooden floor", "in front of a building",
          "on a white background", "in the sky", "by the river", "next to a lake", "in a park",
          "on a shelf", "in a museum", "on a boat", "on a bench", "in a cave", "in the jungle",
          "on a farm", "in a small town", "in Times Square", "in Paris", "in New York City",
          "in Tokyo", "in London", "on Mars", "in a field of flowers", "during a storm"]
STYLES = ["in the style of Monet", "in the style of Picasso",
          "in the style of Rembrandt", "in the style of Salvador Dali", "in the style of Andy Warhol", "in the style of Studio Ghibli", "in the style of Pixar",
          "in the style of a children's book", "in the style of ukiyo-e", "in the style of Art Deco",
          "by Claude Monet", "by Leonardo da Vinci", "by Johannes Vermeer",
          "by Frida Kahlo", "by Gustav Klimt", "by Edward Hopper", "by Rene Magritte",
          "digital art", "oil on canvas", "watercolor", "pencil sketch", "concept art",
          "trending on artstation", "highly detailed", "4k", "8k", "high resolution",
          "photorealistic", "hyperrealistic", "cinematic lighting", "studio lighting",
          "unreal engine", "octane render", "pop art", "impressionist painting", "cubism",
          "surrealism", "minimalist", "low poly", "isometric", "cartoon style","35mm film", "wide angle", "bokeh", "golden hour", "dramatic lighting"]
NUMS = ["two", "three", "four", "five", "six", "seven", "ten", "a few", "many", "several", "a group of",
        "a pair of", "a stack of", "a pile of", "a row of", "a bunch of", "a crowd of", "a herd of",
        "a flock of", "dozens of", "hundreds of"]
WORDS_ON_SIGNS = ["hello", "welcome", "open", "stop", "AIGIF", "Hello World", "happy birthday",
                  "danger", "coffee", "peace", "free hugs", "no parking", "I love you", "exit"]
EXTRA_OBJECTS = """sunglasses skateboard surfboard snowboard tractor
submarine blimp hot air balloon teapot kettle toaster microwave refrigerator typewriter lantern
candle chandelier carpet rug pillow blanket curtain fireplace staircase balcony rooftop
tent campfire canoe kayak pier harbor cliff canyon glacier iceberg meadow swamp jungle savanna
prairie orchard vineyard wheat corn pumpkin carrot tomato potato onion broccoli avocado
mango peach plum coconut lime croissant bagel pancake waffle noodles dumplings taco burrito
hamburger hotdog sausage steak fries popcorn chocolate candy lollipop ice cream milkshake
smoothie cappuccino espresso soda juice robot vacuum drone satellite telescope microscope
globe compass hourglass anchor bell trophy medal coin diamond ring necklace bracelet watch
crown tiara wand broom cauldron potion scroll chest treasure skull skeleton ghost zombie
vampire witch fairy mermaid angel demon alien monster yeti octopus jellyfish shark whale dolphin
seal otter beaver raccoon hedgehog hamster guinea pig bat hummingbird flamingo peacock swan
crow pigeon butterfly bee ladybug spider snail crab lobster shrimp goldfish""".split()


def caption_sentences(n: int, seed: int, imagenet: list[str], templates: list[str]) -> list[str]:
    rng = random.Random(seed)
    objs = OBJECTS + EXTRA_OBJECTS + [c for c in imagenet if "(" not in c]

    def art(word: str) -> str:
        return ("an " if word[0] in "aeiou" else "a ") + word

    def np_(plural_ok: bool = True) -> str:
        o = rng.choice(objs)
        r = rng.random()
        if r < 0.35:
            a = rng.choice(ADJ)
            return art(a) + " " + o
        if r < 0.45:
            return art(rng.choice(ADJ)) + " " + rng.choice(ADJ) + " " + o
        if r < 0.55:
            return "the " + o
        if r < 0.62 and plural_ok:
            return rng.choice(NUMS) + " " + o + ("es" if o.endswith(("s", "x", "ch", "sh")) else "s")
        return art(o)

    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.06:
            s = rng.choice(templates).replace("{}", rng.choice(objs))
        elif r < 0.16:
            s = rng.choice(objs) if rng.random() < 0.5 else rng.choice(ADJ) + " " + rng.choice(objs)
        elif r < 0.45:
            s = np_() + " " + rng.choice(VERBS) + " " + np_()
            if rng.random() < 0.4:
                s += " " + rng.choice(PLACES)
        elif r < 0.70:
            s = rng.choice(MEDIA) + " " + np_()
            if rng.random() < 0.5:
                s += " " + rng.choice(VERBS) + " " + np_()
            if rng.random() < 0.3:
                s += " " + rng.choice(PLACES)
        elif r < 0.80:
            s = np_() + " " + rng.choice(PLACES)
        elif r < 0.88:
            s = np_() + " " + rng.choice(["holding a sign that says", "with the text", "with the words",
                                          "with a sign reading", "next to a sign that says"]) \
                + " " + '"' + rng.choice(WORDS_ON_SIGNS) + '"'
        else:
            a = np_()
            s = a + " " + rng.choice(VERBS) + " " + np_() + ". " + \
                rng.choice(["The", "It", "There is", "Behind it is"]) + " " + \
                rng.choice(["is", "has", "looks", "sits", "stands"]) + " " + np_()
        if rng.random() < 0.35:
            sep = rng.choice([", ", ". ", ", ", " "])
            s += sep + rng.choice(STYLES)
            if rng.random() < 0.3:
                s += ", " + rng.choice(STYLES)
        if rng.random() < 0.55:
            s = s[0].upper() + s[1:]
            if rng.random() < 0.6:
                s += "."
        out.append(s)
    return out


# --------------------------------------------------------------------------
# Symbolisation with a given vocabulary (same tokeniser as the coder)

ASCII_OTHER = [chr(c) for c in range(0x21, 0x7F) if not chr(c).isalnum()] + ["\n", "\t"]
EXTRA_OTHER = list("‘“”—–…°×é·•€£¥©®™½¼¾²³ñüöäçàèáóú") + ["\u3000", "、", "。", "，", "！", "？"]


def other_inventory() -> list[str]:
    inv = [" "]
    for c in [str(d) for d in range(10)] + ASCII_OTHER + EXTRA_OTHER:
        inv.append(c)
        inv.append(" " + c)
    return inv


class Tokeniser:
    def __init__(self, words: list[str], others: list[str]):
        self.word_set = set(words)
        self.other_set = set(others)
        self.cache: dict[str, tuple] = {}

    def piece(self, p: str) -> tuple:
        sp = p[0] == " " and len(p) > 1
        core = p[1:] if sp else p
        c0 = core[0]
        if c0 < "\x80" and c0.isalpha():
            case = 0 if core.islower() else (2 if len(core) >= 2 and core.isupper() else 1)
            m = P._MOD_OF[(sp, case)]
            low = core.lower()
            out = () if m is None else (("MOD", m),)
            if low in self.word_set:
                return out + (("W", low),)
            return out + (("ESCW", low),)
        if p in self.other_set:
            return (("O", p),)
        return (("ESCO_SP" if sp else "ESCO", ord(core)),)

    def symbols(self, s: str) -> list:
        out: list = []
        if not s:
            return out
        for p in P._PIECE_RE.findall(" " + s):
            v = self.cache.get(p)
            if v is None:
                v = self.cache[p] = self.piece(p)
            out.extend(v)
        return out


# --------------------------------------------------------------------------
# Estimation

def quantize(probs: list[float], total: int = 65535) -> list[int]:
    """Integer frequencies >= 1 whose sum is <= 65536, proportional to probs."""
    t = float(total)
    while True:
        f = [max(1, int(p * t + 0.5)) for p in probs]
        if sum(f) <= 65536:
            return f
        t *= 0.999


def build(files: dict[str, bytes], prm: dict) -> bytes:
    glosses = wordnet_glosses(files)
    lemmas = wordnet_lemmas(files)
    ranks = clip_word_ranks(files)
    imagenet, templates = imagenet_metadata(files)
    captions = caption_sentences(prm["n_caption"], 1234, imagenet, templates)
    sd_pairs = sdgen.generate(prm["n_sd"], sdgen.TRAINING_SEED)

    # training streams: (list of string lists, weight)
    streams = [
        ([[g] for g in glosses], prm["w_gloss"]),
        ([[c] for c in captions], prm["w_caption"]),
        ([[a, b] for a, b in sd_pairs], prm["w_sd"]),
    ]

    # ---- word counts (weighted)
    raw = Tokeniser([], [])
    wcount: collections.Counter = collections.Counter()
    pairs: set = set()
    for lists, w in streams:
        for lst in lists:
            for si, s in enumerate(lst):
                prev = ("BOS", si)
                for sym in raw.symbols(s):
                    kind, val = sym
                    if kind == "ESCW":
                        wcount[val] += w
                        pairs.add((prev, val))
                    if kind != "MOD":
                        prev = sym
    total_tok = sum(wcount.values())
    # Kneser-Ney style continuation counts: in how many contexts a word occurs
    cont: collections.Counter = collections.Counter(val for _, val in pairs)
    total_cont = sum(cont.values())
    del pairs
    # CLIP rank prior (only words that look like words: in WordNet, or >= 4 letters)
    prior: dict[str, float] = {}
    for w, r in ranks.items():
        if r >= prm["clip_max_rank"]:
            continue
        if w in lemmas or w in wcount or len(w) >= 4:
            prior[w] = 1.0 / (r + 200.0)
    zp = sum(prior.values())
    score: dict[str, float] = {}
    for w, c in wcount.items():
        score[w] = (1 - prm["clip_mass"] - prm["kn_mass"]) * c / total_tok \
            + prm["kn_mass"] * cont[w] / total_cont
    for w, p in prior.items():
        score[w] = score.get(w, 0.0) + prm["clip_mass"] * p / zp
    cand = [w for w in score if wcount.get(w, 0) >= 2 or w in prior]
    cand.sort(key=lambda w: (-score[w], w))
    words = cand[: prm["max_words"]]
    others = other_inventory()
    word_index = {w: i for i, w in enumerate(words)}
    other_index = {o: i for i, o in enumerate(others)}

    n_other = len(others)
    BACKOFF = P.FIRST_OTHER + n_other
    ESC_WORD = BACKOFF + 1
    FIRST_WORD = ESC_WORD + 1
    n_words = len(words)
    n_top = min(prm["n_top"], n_words)

    # ---- buckets for the order-0 tail
    tail_p = [score[w] for w in words[n_top:]]
    bsizes: list[int] = []
    i = 0
    while i < len(tail_p):
        j = i + 1
        while j < len(tail_p) and j - i < 65536 and tail_p[i] <= prm["bucket_ratio"] * tail_p[j]:
            j += 1
        bsizes.append(j - i)
        i = j
    # Inside the top group and inside every bucket the order of ids carries no
    # information (order-0 gives each top word its own frequency; a bucket is
    # uniform), so each group is sorted alphabetically: this makes the
    # front-coded word list in the model file much smaller.
    groups = [words[:n_top]]
    k = n_top
    for b in bsizes:
        groups.append(words[k:k + b])
        k += b
    words = [w for g in groups for w in sorted(g)]
    word_index = {w: i for i, w in enumerate(words)}
    FIRST_BUCKET = FIRST_WORD + n_words
    FIRST_MOD = FIRST_BUCKET + len(bsizes)
    BOS = FIRST_MOD + 5
    N_IDS = BOS + 3

    tok = Tokeniser(words, others)

    def sid(kind, val) -> int:
        if kind == "W":
            return FIRST_WORD + word_index[val]
        if kind == "O":
            return P.FIRST_OTHER + other_index[val]
        if kind == "MOD":
            return FIRST_MOD + val
        if kind == "ESCW":
            return ESC_WORD
        if kind == "ESCO":
            return P.ESC_OTHER
        if kind == "ESCO_SP":
            return P.ESC_OTHER_SP
        raise KeyError(kind)

    uni: collections.Counter = collections.Counter()
    c1: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    c2: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    letter = [[1.0] * 27 for _ in range(27)]  # add-one
    letter[0][0] = 0.0
    cp_class = [1.0, 4.0, 8.0, 3.0]  # prior: control/ASCII, 2-byte, 3-byte, 4-byte UTF-8
    for lists, w in streams:
        for lst in lists:
            for si, s in enumerate(lst):
                p1 = BOS + min(si, 2)
                p2 = -1
                seq = tok.symbols(s) + [("EOS", 0)]
                for kind, val in seq:
                    x = P.EOS if kind == "EOS" else sid(kind, val)
                    uni[x] += w
                    c1[p1][x] += w
                    if p2 >= 0:
                        c2[p2 * N_IDS + p1][x] += w
                    if kind == "MOD":
                        continue
                    if kind in ("ESCO", "ESCO_SP"):
                        cp_class[0 if val < 0x80 else 1 if val < 0x800 else 2 if val < 0x10000 else 3] += w
                    p2, p1 = p1, x
    # letter model: word types from WordNet lemmas and CLIP words outside the vocabulary
    wset = set(words)
    for w in sorted((lemmas | set(ranks)) - wset):
        prev = 0
        for ch in w:
            c = ord(ch) - 96
            letter[prev][c] += 1
            prev = c
        letter[prev][0] += 1

    # ---- order-0 table
    o0_syms = list(range(0, BACKOFF)) + [ESC_WORD] + list(range(FIRST_WORD, FIRST_WORD + n_top)) \
        + list(range(FIRST_BUCKET, FIRST_MOD + 5))
    nonword_total = sum(c for x, c in uni.items() if x < BACKOFF or x >= FIRST_MOD)
    word_total = sum(c for x, c in uni.items() if FIRST_WORD <= x < FIRST_BUCKET)
    grand = nonword_total + word_total
    p_word_mass = word_total / grand
    probs: dict[int, float] = {}
    for x in range(0, BACKOFF):
        probs[x] = (uni.get(x, 0.0) + 0.5) / grand
    # raw code points (emoji, CJK, accented letters outside the symbol list)
    # are absent from the training text; give them a floor probability
    probs[P.ESC_OTHER] = max(probs[P.ESC_OTHER], prm["esc_other_p"])
    probs[P.ESC_OTHER_SP] = max(probs[P.ESC_OTHER_SP], prm["esc_other_p"])
    for m in range(5):
        probs[FIRST_MOD + m] = (uni.get(FIRST_MOD + m, 0.0) + 0.5) / grand
    probs[ESC_WORD] = prm["esc_word_p"]
    zs = sum(score[w] for w in words)
    wm = p_word_mass * (1 - prm["esc_word_p"])
    for i in range(n_top):
        probs[FIRST_WORD + i] = wm * score[words[i]] / zs
    k = n_top
    for b, size in enumerate(bsizes):
        probs[FIRST_BUCKET + b] = wm * sum(score[w] for w in words[k:k + size]) / zs
        k += size
    z = sum(probs[x] for x in o0_syms)
    order0 = (o0_syms, quantize([probs[x] / z for x in o0_syms]))

    # ---- context tables
    # order-0 probability of every codable symbol (tail words: bucket mass / size)
    p0: dict[int, float] = {}
    o0_syms_, o0_freqs = order0
    o0_tot = sum(o0_freqs)
    for x, f in zip(o0_syms_, o0_freqs):
        p0[x] = f / o0_tot
    k = FIRST_WORD + n_top
    for b, size in enumerate(bsizes):
        pb = p0[FIRST_BUCKET + b] / size
        for x in range(k, k + size):
            p0[x] = pb
        k += size

    def ctx_table(cnt: collections.Counter, d: float, min_succ: float, lower, prune: float):
        """Absolute discounting with BACKOFF; entries whose training-set gain
        over the backoff path is below ``prune`` bits are dropped."""
        n = sum(cnt.values())
        kept = [x for x, c in cnt.items() if c >= min_succ and x != BACKOFF
                and not (FIRST_BUCKET <= x < FIRST_MOD)]
        if not kept:
            return None
        for _ in range(2):
            ps = {x: (cnt[x] - d) / n for x in kept}
            bo = max(1.0 - sum(ps.values()), 1e-4)
            if prune <= 0:
                break
            kept = [x for x in kept
                    if cnt[x] * math.log2(ps[x] / (bo * lower(x))) >= prune]
            if not kept:
                return None
        ps = {x: (cnt[x] - d) / n for x in kept}
        ps[BACKOFF] = max(1.0 - sum(ps.values()), 1e-4)
        syms = sorted(ps)
        zz = sum(ps.values())
        return syms, quantize([ps[x] / zz for x in syms])

    # An empty second string (no negative prompt) is the common case for models
    # without classifier-free-guidance negatives; give it p_empty_neg.
    bos1 = c1[BOS + 1]
    rest = sum(v for x, v in bos1.items() if x != P.EOS)
    bos1[P.EOS] = rest * prm["p_empty_neg"] / (1 - prm["p_empty_neg"])

    def lower0(x: int) -> float:
        return p0.get(x, 1e-9)

    t1 = {}
    for c, cnt in c1.items():
        if sum(cnt.values()) >= prm["min_ctx1"]:
            t = ctx_table(cnt, prm["d1"], prm["min_succ1"], lower0, prm["prune1"])
            if t:
                t1[c] = t
    p1tab: dict[int, tuple[dict[int, float], float]] = {}
    for c, (syms, freqs) in t1.items():
        tot = sum(freqs)
        dct = {x: f / tot for x, f in zip(syms, freqs)}
        p1tab[c] = (dct, dct[BACKOFF])
    t2 = {}
    for key, cnt in c2.items():
        if sum(cnt.values()) >= prm["min_ctx2"]:
            ent = p1tab.get(key % N_IDS)

            def lower1(x: int, ent=ent) -> float:
                if ent is None:
                    return lower0(x)
                dct, bo1 = ent
                return dct[x] if x in dct else bo1 * lower0(x)
            t = ctx_table(cnt, prm["d2"], prm["min_succ2"], lower1, prm["prune2"])
            if t and len(t[0]) > 1:
                t2[key] = t

    # ---- serialise
    out = bytearray(P.MAGIC) + bytes([P.VERSION])

    def uv(v: int) -> None:
        assert 0 <= v < (1 << 28)  # the model format's limit (SPEC.md Appendix E.2)
        out.extend(uvarint(v))

    uv(len(others))
    for o in others:
        bb = o.encode("utf-8")
        uv(len(bb))
        out.extend(bb)
    uv(len(words))
    prev = b""
    for w in words:
        bb = w.encode("ascii")
        keep = 0
        while keep < min(len(prev), len(bb)) and prev[keep] == bb[keep]:
            keep += 1
        uv(keep)
        uv(len(bb) - keep)
        out.extend(bb[keep:])
        prev = bb
    uv(len(bsizes))
    uv(n_top)
    for b in bsizes:
        uv(b)

    def table(syms: list[int], freqs: list[int]) -> None:
        uv(len(syms))
        last = -1
        for x, f in zip(syms, freqs):
            uv(x - last - 1)
            uv(f)
            last = x

    table(*order0)
    uv(len(t1))
    last = -1
    for c in sorted(t1):
        uv(c - last - 1)
        last = c
        table(*t1[c])
    uv(len(t2))
    for kk in sorted(t2):
        uv(kk // N_IDS)
        uv(kk % N_IDS)
        table(*t2[kk])
    for i in range(27):
        syms = [x for x in range(27) if letter[i][x] > 0]
        tot = sum(letter[i][x] for x in syms)
        table(syms, quantize([letter[i][x] / tot for x in syms], 4095))
    tot = sum(cp_class)
    table([0, 1, 2, 3], quantize([c / tot for c in cp_class], 4095))
    return bytes(out)


def load_parti() -> list[str]:
    path = os.path.join(ROOT, "..", "shared", "corpora", "PartiPrompts.tsv")
    if not os.path.exists(path):
        path = "/work/shared/corpora/PartiPrompts.tsv"
    rows = open(path, encoding="utf-8").read().split("\n")[1:]
    return [r.split("\t")[0] for r in rows if r]


def load_sd() -> list[tuple[str, str]]:
    rows = open(os.path.join(ROOT, "benchmarks", "corpora", "sd_long_prompts.tsv"),
                encoding="utf-8").read().split("\n")[1:]
    return [tuple(r.split("\t")) for r in rows if r]


def evaluate(blob: bytes) -> dict[str, float]:
    m = P._Model(blob)
    parti = load_parti()
    sizes = [len(m.encode([p, ""])) for p in parti]
    sd = load_sd()
    sds = [len(m.encode([a, b])) for a, b in sd]
    return {
        "parti_mean": sum(sizes) / len(sizes),
        "parti_odd": sum(sizes[1::2]) / len(sizes[1::2]),
        "parti_even": sum(sizes[0::2]) / len(sizes[0::2]),
        "sd_mean": sum(sds) / len(sds),
        "model_bytes": len(blob),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description="build the AIGIF prompt text model")
    ap.add_argument("--cache", default=os.path.join(os.path.expanduser("~"), ".cache", "aigif-prompt-model"))
    ap.add_argument("--eval", action="store_true")
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("--set", action="append", default=[], help="override a parameter: name=value")
    a = ap.parse_args()
    prm = dict(PARAMS)
    for kv in a.set:
        k, v = kv.split("=", 1)
        prm[k] = type(PARAMS[k])(v)
    files = fetch_inputs(a.cache)
    blob = build(files, prm)
    digest = hashlib.sha256(blob).hexdigest()
    print(f"model: {len(blob)} bytes, sha256 {digest}")
    if a.eval:
        print(evaluate(blob))
    if not a.no_write:
        with open(OUT_MODEL, "wb") as f:
            f.write(blob)
        # the registry's text_coders entry pins the model by SHA-256 (the decoder checks it before use)
        reg_path = os.path.join(ROOT, "registry", "text_coders.json")
        src = open(reg_path, encoding="utf-8").read()
        src, n = re.subn(r'"model_sha256": "[0-9a-f]*"', f'"model_sha256": "{digest}"', src, count=1)
        if n != 1:
            raise SystemExit(f"{reg_path}: no model_sha256 to update")
        with open(reg_path, "w", encoding="utf-8") as f:
            f.write(src)


if __name__ == "__main__":
    main()
