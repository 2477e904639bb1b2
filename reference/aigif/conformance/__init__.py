"""The AIGIF conformance suite runner (SPEC.md §13.2, conformance/CONTRACT.md).

    aigif-conformance run --decoder "CMD" [--level parse,reject,noise,regen] ...
    aigif-conformance list

A decoder under test is a command; each vector (``vectors/manifest.json``)
has a stable ID, its expected output and, for regen, a tolerance per device
class. Nothing here imports torch: the runner judges outputs, the decoder
produces them.
"""
from __future__ import annotations

from .decoder import CommandDecoder, InProcessDecoder, Outcome
from .runner import DEFAULT_TIMEOUTS, Options, Report, VectorResult, check, run
from .suite import LEVELS, Suite, SuiteError, Vector, default_vectors_dir, load_suite, select, verify

__all__ = [
    "CommandDecoder", "DEFAULT_TIMEOUTS", "InProcessDecoder", "LEVELS", "Options", "Outcome", "Report",
    "Suite", "SuiteError", "Vector", "VectorResult", "check", "default_vectors_dir", "load_suite", "run",
    "select", "verify",
]
