"""Program audio: the settings the operator sets (master, bed, loudness).

`model` is the typed settings, `schemas` their wire form. The store keeps them
(core.store.audio); the render worker mixes by them.
"""

from core.audio.model import (
    BED_ACTIONS,
    CUE_ACTIONS,
    MAX_PLAYLIST,
    MAX_VOLUME,
    AudioSettings,
    Bed,
    Loudness,
    Master,
    after_bed_action,
    merged,
)
from core.audio.schemas import (
    DEFAULTS,
    NOT_AUDIO,
    check_playlist,
    dump_patch,
    dump_settings,
    load_patch,
    load_stored,
)

__all__ = [
    "BED_ACTIONS", "CUE_ACTIONS", "DEFAULTS", "MAX_PLAYLIST", "MAX_VOLUME", "NOT_AUDIO",
    "AudioSettings", "Bed", "Loudness", "Master", "after_bed_action", "check_playlist",
    "dump_patch", "dump_settings", "load_patch", "load_stored", "merged",
]
