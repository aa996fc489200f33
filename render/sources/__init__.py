"""Video files, live inputs and audio files: one decoding process per source, frames in shared
memory, sound on its report pipe.

Decoding never runs on the render thread. Each source (a layer's file or URL, a bed track) has
a process of its own (render.sources.child) that decodes with PyAV, scales to the layer's box
and writes BGR (or I420) pictures into a ring of shared-memory slots (render.sources.ring), and
converts its sound to 48 kHz stereo float reported in chunks (render.sources.audio_track). A
supervisor thread (render.sources.supervisor) starts, feeds, watches and restarts the
processes; the render thread only looks at what has arrived (render.sources.picking,
render.sources.audio_buffer), so no source, however slow, frozen, broken or dead, delays a
frame of the program or leaves a gap in its sound. See docs/sources.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from render.sources.spec import SourceFrame, SourceSpec, SourceStatus

if TYPE_CHECKING:
    from render.sources.sources import Sources

__all__ = ["SourceFrame", "SourceSpec", "SourceStatus", "Sources"]


def __getattr__(name: str) -> Any:
    # Every source process imports this package (for render.sources.child) and needs neither
    # the supervisor nor what it imports (core.loop brings redis: 17 MB of each process's
    # memory), so Sources is imported when it is first asked for.
    if name == "Sources":
        from render.sources.sources import Sources

        return Sources
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
