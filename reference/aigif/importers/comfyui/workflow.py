"""A ComfyUI image that carries only the UI ``workflow`` graph, without the executed ``prompt`` graph.

The workflow holds the values as positional ``widgets_values`` whose meaning
depends on each node's version: it is not read. Such an image is reported
as unsupported rather than as one without metadata.
"""
from __future__ import annotations

from ..containers import RawMetadata, TextItem
from ..errors import E_IMPORT_UNSUPPORTED_TOOL, ImportFailure
from ..generation import ImportedGeneration
from . import graph_text


def detect(meta: RawMetadata) -> TextItem | None:
    return graph_text(meta, "workflow")


def read(meta: RawMetadata, item: TextItem) -> ImportedGeneration:
    raise ImportFailure(E_IMPORT_UNSUPPORTED_TOOL,
                        "ComfyUI image carries only the UI 'workflow' graph, not the executed 'prompt' graph")
