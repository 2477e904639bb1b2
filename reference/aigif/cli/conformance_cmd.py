"""aigif conformance run|list — the same as the ``aigif-conformance`` command."""
from __future__ import annotations

from .conformance import add_arguments, run

__all__ = ["add_arguments", "run"]
