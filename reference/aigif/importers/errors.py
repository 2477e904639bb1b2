"""Typed failures of the importers.

Every failure :func:`aigif.importers.read_generation` can report, for any
input bytes, is an :class:`ImportFailure` with a stable ``code`` and a
one-line ``message``. No other exception type escapes the public entry
points (a bug in a parser is still reported as ``E_IMPORT_MALFORMED``, with
``internal=True`` so that tests and fuzzers can tell it apart; the fuzz
tests require that this never happens).

The codes are defined, with the rest of the project's error codes, in
:mod:`aigif.errors`:

==========================  ===================================================
``E_IMPORT_NOT_AN_IMAGE``   empty file, unknown signature
``E_IMPORT_NO_METADATA``    a valid image without generation text (only generic
                            keys such as ``date:create``, ``Software``)
``E_IMPORT_MALFORMED``      damaged container (truncated chunk or segment, bad
                            CRC on a text chunk, broken EXIF IFD, undecodable
                            pixels while looking for stealth info) or metadata
                            that does not follow the tool's format (bad JSON,
                            non-integer seed, no parameter line)
``E_IMPORT_UNSUPPORTED_TOOL``  text from an unknown tool; a ComfyUI graph without
                            a known sampler; ComfyUI ``workflow`` without ``prompt``
``E_IMPORT_TOO_LARGE``      file > 512 MiB, a decompressed text > 8 MiB or
                            > 16 MiB in total, compressed text that expands
                            more than 64 times (plus 1 MiB), a stealth payload
                            > 64 KiB, an A1111 parameter line > 1 MiB
                            characters, a ComfyUI graph > 10 000 nodes or
                            > 10⁶ node visits
``E_IMPORT_IO``             the path cannot be read
==========================  ===================================================
"""
from __future__ import annotations

from ..errors import (  # noqa: F401 - re-exported: the importers' codes in one import
    E_IMPORT_IO,
    E_IMPORT_MALFORMED,
    E_IMPORT_NO_METADATA,
    E_IMPORT_NOT_AN_IMAGE,
    E_IMPORT_TOO_LARGE,
    E_IMPORT_UNSUPPORTED_TOOL,
    IMPORT_CODES,
)


class ImportFailure(Exception):
    """Why an image's generation metadata could not be imported.

    ``code`` is one of :data:`IMPORT_CODES`; ``message`` is one line for a
    person. ``internal`` is true when the failure was caught by the last-resort
    net around a parser (an unexpected exception inside our own code).
    """

    def __init__(self, code: str, message: str, *, internal: bool = False):
        if code not in IMPORT_CODES:  # a typo here would silently break the contract
            raise ValueError(f"unknown import error code {code!r}")
        message = " ".join(str(message).split())  # always one line
        super().__init__(message)
        self.code = code
        self.message = message
        self.internal = internal

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message}


def malformed(message: str) -> ImportFailure:
    return ImportFailure(E_IMPORT_MALFORMED, message)
