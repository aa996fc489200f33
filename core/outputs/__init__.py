"""Outputs: where the program goes (RTMP ingests, recordings), as live resources in the store.

`model` is the typed output, `schemas` its wire form. A stream key is a secret: it is kept
apart from the output (its own hash in Redis), never part of a read, an event or a log line.
"""

from core.outputs.model import (
    KINDS,
    MAX_OUTPUTS,
    NewOutput,
    Output,
    OutputTarget,
    public_name,
    split_key,
)
from core.outputs.schemas import (
    dump_new_output,
    dump_output,
    dump_output_patch,
    load_new_output,
    load_output,
    load_output_patch,
)

__all__ = [
    "KINDS", "MAX_OUTPUTS", "NewOutput", "Output", "OutputTarget", "dump_new_output",
    "dump_output", "dump_output_patch", "load_new_output", "load_output", "load_output_patch",
    "public_name", "split_key",
]
