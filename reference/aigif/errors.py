"""Error codes of SPEC.md §10, carried by one exception type.

Every failure a decoder can report is an :class:`AigifError` with a stable
``code`` (the spec's string), a one-line ``message`` and, where it applies,
the byte offset (and bit offset inside the body) where it was found.
"""
from __future__ import annotations

# SPEC.md §10: parsing and validation.
PARSE_CODES = (
    "E_MAGIC", "E_VERSION", "E_TRUNCATED", "E_TRAILING_DATA", "E_CHECKSUM",
    "E_VARINT", "E_EXPCODE_OVERLONG", "E_EXPGOLOMB_OVERLONG", "E_OVERRUN",
    "E_NONZERO_PADDING", "E_UNKNOWN_ID", "E_RANGE", "E_NONCANONICAL", "E_UTF8",
    "E_TEXT_LIMIT", "E_TEXT_CORRUPT", "E_UNKNOWN_CRITICAL_EXTENSION",
    "E_EXTENSION_ORDER", "E_LIMIT", "E_PAYLOAD", "E_UNSUPPORTED",
)
# SPEC.md §10: regeneration.
REGEN_CODES = ("E_MODEL_UNAVAILABLE", "E_MODEL_HASH", "E_NOISE_UNAVAILABLE", "E_REGEN_UNSUPPORTED", "E_PARTIAL",
               "E_BUDGET")
# Tool-level codes (not about a file's validity): bad command-line input, I/O.
TOOL_CODES = ("E_USAGE", "E_IO", "E_FIELDS")
# Importing existing images (aigif convert, aigif.importers.ImportFailure).
#: not an image we can identify: empty, unknown signature, text...
E_IMPORT_NOT_AN_IMAGE = "E_IMPORT_NOT_AN_IMAGE"
#: a valid image without generation metadata (only generic text such as Software, date:create)
E_IMPORT_NO_METADATA = "E_IMPORT_NO_METADATA"
#: a damaged container, or metadata that does not follow the tool's format
E_IMPORT_MALFORMED = "E_IMPORT_MALFORMED"
#: metadata from a tool, or a variant of one, that no importer reads
E_IMPORT_UNSUPPORTED_TOOL = "E_IMPORT_UNSUPPORTED_TOOL"
#: the file or a piece of it exceeds a resource limit (size, pixels, decompressed text, graph)
E_IMPORT_TOO_LARGE = "E_IMPORT_TOO_LARGE"
#: the file cannot be read (missing, permission, a directory...)
E_IMPORT_IO = "E_IMPORT_IO"
IMPORT_CODES = (E_IMPORT_NOT_AN_IMAGE, E_IMPORT_NO_METADATA, E_IMPORT_MALFORMED, E_IMPORT_UNSUPPORTED_TOOL,
                E_IMPORT_TOO_LARGE, E_IMPORT_IO)
ALL_CODES = PARSE_CODES + REGEN_CODES + TOOL_CODES + IMPORT_CODES


class AigifError(Exception):
    """A typed AIGIF failure: ``code`` is one of :data:`ALL_CODES`."""

    def __init__(self, code: str, message: str, offset: int | None = None, bit: int | None = None):
        if code not in ALL_CODES:  # a typo here would silently break the contract
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.offset = offset
        self.bit = bit

    def __str__(self) -> str:
        where = "" if self.offset is None else f" at byte {self.offset}"
        return f"{self.code}{where}: {self.message}"

    def to_json(self) -> dict:
        return {"code": self.code, "message": self.message, "offset": self.offset}
