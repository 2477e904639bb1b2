"""The in-memory AIGIF file: what ``read`` returns and ``write`` takes.

Registry references are held by key. ``fields`` holds the family fields
(strings included, e.g. ``prompt_2``), ``model_fields`` those of the model
entry (e.g. an unregistered model's hash and name), ``platform`` those of
the device entry.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Extension:
    """One extension record (SPEC.md §6.2). ``raw`` is the body as on the
    wire; ``fields`` is its decoded form when the tag is registered (then the
    fields are what counts: ``raw`` is rebuilt from them on writing)."""
    tag: int
    raw: bytes
    key: str | None = None
    fields: dict[str, Any] | None = None

    def __eq__(self, other):
        if not isinstance(other, Extension) or self.tag != other.tag:
            return NotImplemented if not isinstance(other, Extension) else False
        if self.fields is not None or other.fields is not None:
            return self.fields == other.fields
        return self.raw == other.raw

    @property
    def critical(self) -> bool:
        return bool(self.tag & 1)

    @classmethod
    def of(cls, key: str, fields: dict[str, Any], reg=None) -> Extension:
        """A registered extension by its key: the tag is the registry's."""
        from .registry import load
        return cls((reg or load()).extensions.entry(key)["tag"], b"", key, dict(fields))


@dataclass
class PixelPayload:
    codec: str
    data: bytes


@dataclass
class ModelPayload:
    compressor: str
    sha256: bytes
    data: bytes


@dataclass
class AigifFile:
    model: str
    height: int
    width: int
    seed: int
    prompt: str = ""
    negative_prompt: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    model_fields: dict[str, Any] = field(default_factory=dict)
    device: str = "unknown"
    platform: dict[str, Any] = field(default_factory=dict)
    dtype: str = "float16"
    noise: str = "torch-cpu"
    text_coder: str = "deflate"
    digest: bytes | None = None
    extensions: list[Extension] = field(default_factory=list)
    pixels: PixelPayload | None = None
    model_payload: ModelPayload | None = None

    def extension(self, key: str) -> Extension | None:
        return next((e for e in self.extensions if e.key == key), None)

    def extension_fields(self, key: str) -> dict[str, Any] | None:
        """The fields of the registered extension ``key``; None when the file has none."""
        e = self.extension(key)
        return None if e is None else e.fields
