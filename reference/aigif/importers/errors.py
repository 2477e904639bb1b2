"""Typed failures of the importers.

Every failure :func:`aigif.importers.read_generation` can report, for any
input bytes, is an :class:`ImportFailure` with a stable ``code`` and a
one-line ``message``. No other exception type escapes the public entry
points (a bug in a parser is still reported as ``E_IMPORT_MALFORMED``, with
``internal=True`` so that tests and fuzzers can tell it apart).
"""
from __future__ import annotations

#: The file is not an image we can identify (empty, truncated header, text...).
E_IMPORT_NOT_AN_IMAGE = "E_IMPORT_NOT_AN_IMAGE"
#: A valid image that carries no generation metadata at all.
E_IMPORT_NO_METADATA = "E_IMPORT_NO_METADATA"
#: The container or the metadata is damaged or does not follow the tool's format.
E_IMPORT_MALFORMED = "E_IMPORT_MALFORMED"
#: Metadata is present but written by a tool (or a variant of one) we cannot read.
E_IMPORT_UNSUPPORTED_TOOL = "E_IMPORT_UNSUPPORTED_TOOL"
#: The file or a piece of it exceeds a resource limit (size, pixels, decompressed text).
E_IMPORT_TOO_LARGE = "E_IMPORT_TOO_LARGE"
#: The file could not be read (missing, permission, a directory...).
E_IMPORT_IO = "E_IMPORT_IO"

IMPORT_CODES = (
    E_IMPORT_NOT_AN_IMAGE,
    E_IMPORT_NO_METADATA,
    E_IMPORT_MALFORMED,
    E_IMPORT_UNSUPPORTED_TOOL,
    E_IMPORT_TOO_LARGE,
    E_IMPORT_IO,
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
