"""An independent AIGIF 1.0 decoder written from SPEC.md and the registry only.

It exists to test whether the specification is complete: it never imports the
reference implementation. See ``tests/specparser/NOTES.md``.
"""

from .parser import SpecError, canonical_deflate, inflate_limited, load_registry, parse

__all__ = ["SpecError", "parse", "canonical_deflate", "inflate_limited", "load_registry"]
