"""The running platform and the expected fidelity of a regeneration (SPEC.md §12.4)."""
from __future__ import annotations

from dataclasses import dataclass

from ..file import AigifFile
from ..registry import Registry, load


@dataclass
class Platform:
    device: str                 # registry key of devices
    gpu: str = "unknown"        # registry key of gpus
    cuda: str = "unknown"       # registry key of cuda_versions
    torch: str = ""
    diffusers: str = ""
    transformers: str = ""
    cpu_capability: str = ""    # torch's ATen CPU kernel set (default/AVX2/AVX512): changes torch-cpu noise

    def platform_fields(self, reg: Registry) -> dict:
        return {f.name: getattr(self, f.name) for f in reg.device_fields(self.device)}


def current(device: str | None = None, reg: Registry | None = None) -> Platform:
    """Describe where we would run: ``device`` is a torch device type or None for the best available."""
    import diffusers
    import torch
    import transformers
    reg = reg or load()
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    p = Platform(device=device if device in reg.table("devices") else "unknown", torch=torch.__version__,
                 diffusers=diffusers.__version__, transformers=transformers.__version__)
    try:
        p.cpu_capability = torch.backends.cpu.get_cpu_capability()
    except AttributeError:
        pass
    if device == "cuda" and torch.cuda.is_available():
        name = torch.cuda.get_device_name()
        p.gpu = next((g["key"] for g in reg.table("gpus").entries if name in g["device_names"]), "unknown")
        if torch.version.cuda:
            key = "cu" + torch.version.cuda.replace(".", "")
            p.cuda = key if key in reg.table("cuda_versions") else "unknown"
    return p


def fidelity(f: AigifFile, here: Platform, reg: Registry | None = None) -> tuple[str, str]:
    """(class, reason): 'bit-exact', 'within-tolerance' or 'unknown' (SPEC.md §12.4).

    Only a model whose files the registry lists SHA-256 hashes for (``files``: configs,
    tokenizer files and weights) is checked before use, so a model without them (an
    unregistered one included) cannot promise the same image."""
    sw = f.extension_fields("software")
    entry = (reg or load()).table("models").by_key.get(f.model) or {}
    if not entry.get("files"):
        return "unknown", f"the registry lists no file hashes for {f.model}: the local files cannot be checked"
    if f.device == "unknown" or (f.device == "cuda" and f.platform.get("gpu") == "unknown"):
        return "unknown", "the file does not record the platform"
    if f.device != here.device:
        return "within-tolerance", f"generated on {f.device}, regenerating on {here.device}"
    if f.device == "cuda" and (f.platform.get("gpu"), f.platform.get("cuda")) != (here.gpu, here.cuda):
        return "within-tolerance", f"generated on {f.platform.get('gpu')}/{f.platform.get('cuda')}, here {here.gpu}/{here.cuda}"
    if sw is None:
        return "within-tolerance", "the file does not record torch/diffusers versions"
    if (sw["torch"], sw["diffusers"]) != (here.torch, here.diffusers):
        return "within-tolerance", f"torch/diffusers {sw['torch']}/{sw['diffusers']} vs {here.torch}/{here.diffusers} here"
    if f.device == "cpu" and sw.get("cpu") and sw["cpu"] != here.cpu_capability:
        # torch picks its CPU kernels by instruction set; torch-cpu noise differs between them (SPEC.md F.4.1)
        return "within-tolerance", f"CPU kernels {sw['cpu']} vs {here.cpu_capability} here"
    # name only what was compared for this device (a CPU file has no GPU or CUDA version)
    same = {"cpu": "same device, CPU kernels, torch and diffusers", "cuda": "same device, GPU, CUDA, torch and diffusers"}
    return "bit-exact", same.get(f.device, "same device, torch and diffusers")
