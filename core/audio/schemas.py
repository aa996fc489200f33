"""Program audio on the wire: camelCase JSON loaded into the typed model once at each edge.

`master` {volume 0-4, muted}; `bed` {playlist (library audio files, at most 500), loop,
shuffle, volume 0-4, crossfadeMs 0-30000, duckDb 0-40, and the read-only state, cue,
cueAction}; `loudness` {enabled, targetLufs -31..-5, truePeakDb -9..0}. A bad value is a
ValidationError keyed by its path (`master.volume`, `bed.playlist.0`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from core.audio.model import (
    BED_ACTIONS,
    BED_STATES,
    CUE_ACTIONS,
    MAX_CROSSFADE_MS,
    MAX_DUCK_DB,
    MAX_PLAYLIST,
    MAX_VOLUME,
    TARGET_LUFS_RANGE,
    TRUE_PEAK_DB_RANGE,
    AudioSettings,
    Bed,
    Loudness,
    Master,
)
from core.media import MediaPathError, check_source, resolve_source
from core.schemas.fields import Boolean, Integer, Number, Text

NOT_AUDIO = "not an audio file in the library"
VOLUME = validate.Range(0.0, MAX_VOLUME)


class LibraryAudio(Text):
    """A playlist entry: an audio file's name in the media library (`music/a.mp3`).

    Only the name is checked here (syntax and an audio extension); whether the file exists is
    checked where the library is (`check_playlist`, at the API's edge)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        name = super()._deserialize(value, attr, data, **kwargs)
        try:
            check_source(name, "audio")
        except MediaPathError as exc:
            raise ValidationError(f"{NOT_AUDIO}: {exc}") from None
        return name


class MasterSchema(Schema):
    """The master gain and mute, applied to the whole mix before the normaliser."""

    volume = Number(validate=VOLUME, load_default=1.0,
                    metadata={"description": "linear gain of the mix, 0-4"})
    muted = Boolean(load_default=False, metadata={"description": "silence the program"})


class BedSettingsSchema(Schema):
    """What a client sets of the bed (PATCH); its state and cue move with
    POST /stream/audio/bed."""

    playlist = fields.List(
        LibraryAudio(), validate=validate.Length(max=MAX_PLAYLIST), load_default=list,
        metadata={"description": f"audio files of the media library, played in order (at "
                                 f"most {MAX_PLAYLIST}); each must exist"})
    loop = Boolean(load_default=True, metadata={
        "description": "start the playlist again after its last track"})
    shuffle = Boolean(load_default=False, metadata={
        "description": "play the tracks in a random order (a new one each round)"})
    volume = Number(validate=VOLUME, load_default=0.5,
                    metadata={"description": "linear gain of the bed, 0-4"})
    crossfade_ms = Integer(data_key="crossfadeMs", validate=validate.Range(0, MAX_CROSSFADE_MS),
                           load_default=2000,
                           metadata={"description": "milliseconds between tracks overlap"})
    duck_db = Number(data_key="duckDb", validate=validate.Range(0.0, MAX_DUCK_DB),
                     load_default=0.0, metadata={
                         "description": "dB the bed goes down by while any layer sounds"})

    @post_load
    def _tuple(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if "playlist" in data:
            data["playlist"] = tuple(data["playlist"])
        return data


class BedSchema(BedSettingsSchema):
    """The bed as stored and read: its settings, state and cue."""

    state = Text(validate=validate.OneOf(BED_STATES), load_default="playing", metadata={
        "description": "read-only: POST /stream/audio/bed play or pause sets it"})
    cue = Integer(validate=validate.Range(0, 2**53), load_default=0, metadata={
        "description": "read-only: counts next, previous and restart"})
    cue_action = Text(data_key="cueAction", allow_none=True, load_default=None,
                      validate=validate.OneOf(CUE_ACTIONS), metadata={
                          "description": "read-only: the last of next, previous, restart"})


class LoudnessSchema(Schema):
    """The loudness normaliser and the true-peak limiter after it."""

    enabled = Boolean(load_default=True, metadata={
        "description": "ride the gain towards targetLufs (the limiter always runs)"})
    target_lufs = Number(data_key="targetLufs", validate=validate.Range(*TARGET_LUFS_RANGE),
                         load_default=-14.0, metadata={"description": "LUFS, -31 to -5"})
    true_peak_db = Number(data_key="truePeakDb", validate=validate.Range(*TRUE_PEAK_DB_RANGE),
                          load_default=-1.0, metadata={
                              "description": "the limiter's ceiling, dBTP, -9 to 0"})


class AudioSettingsSchema(Schema):
    """The program audio settings, as stored (with `version`) and read."""

    master = fields.Nested(MasterSchema, required=True)
    bed = fields.Nested(BedSchema, required=True)
    loudness = fields.Nested(LoudnessSchema, required=True)
    version = Integer(required=True, validate=validate.Range(0, 2**53), metadata={
        "description": "bumped by each change; 0 until the first"})


class AudioPatchSchema(Schema):
    """A change of some settings (loaded with partial=True: any part, any field of a part)."""

    master = fields.Nested(MasterSchema)
    bed = fields.Nested(BedSettingsSchema)
    loudness = fields.Nested(LoudnessSchema)

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("send at least one of master, bed, loudness")


class BedActionSchema(Schema):
    """`POST /stream/audio/bed`: play or pause the bed, or cue the next, previous or the same
    track from its start."""

    action = Text(required=True, validate=validate.OneOf(BED_ACTIONS))


_STORED = AudioSettingsSchema()
_PATCH = AudioPatchSchema()
DEFAULTS = AudioSettings()
_READ_ONLY = frozenset({"state", "cue", "cueAction"})


def load_stored(wire: Mapping[str, Any]) -> tuple[AudioSettings, int]:
    """Stored settings and their version, from camelCase JSON."""
    loaded = _STORED.load(wire)
    settings = AudioSettings(master=Master(**loaded["master"]), bed=Bed(**loaded["bed"]),
                             loudness=Loudness(**loaded["loudness"]))
    return settings, loaded["version"]


def dump_settings(settings: AudioSettings, version: int) -> dict[str, Any]:
    """Settings and their version as camelCase JSON (the stored form, and reads without
    levels)."""
    wire: dict[str, Any] = _STORED.dump({
        "master": settings.master, "bed": settings.bed, "loudness": settings.loudness,
        "version": version})
    return wire


def load_patch(wire: Mapping[str, Any], media_root: Path | None = None) -> dict[str, Any]:
    """A change, checked field by field, keyed by model attribute: {"bed": {"crossfade_ms":
    500}}. With `media_root`, every playlist entry must also be a file there."""
    try:
        loaded: dict[str, Any] = _PATCH.load(wire, partial=True)
    except ValidationError as exc:
        _explain_read_only(exc.messages)
        raise
    if media_root is not None:
        check_playlist(loaded.get("bed", {}).get("playlist", ()), media_root)
    return loaded


def _explain_read_only(messages: Any) -> None:
    """Say why the bed's state and cue cannot be patched, rather than "Unknown field"."""
    bed = messages.get("bed") if isinstance(messages, dict) else None
    if isinstance(bed, dict):
        for name in _READ_ONLY.intersection(bed):
            bed[name] = ["is read-only: POST /stream/audio/bed changes it"]


def dump_patch(patch: Mapping[str, Any]) -> dict[str, Any]:
    """A loaded change as camelCase JSON again (what the API sends its task)."""
    wire: dict[str, Any] = _PATCH.dump(patch)
    return wire


def check_playlist(playlist: Sequence[str], media_root: Path) -> None:
    """ValidationError naming each entry (`bed.playlist.3`) that is not a file in
    `media_root` (missing, a folder, or a symlink out of it)."""
    errors: dict[int, list[str]] = {}
    for index, name in enumerate(playlist):
        try:
            found = resolve_source(media_root, name, "audio").is_file()
        except MediaPathError as exc:
            errors[index] = [f"{NOT_AUDIO}: {exc}"]
            continue
        if not found:
            errors[index] = [f"{NOT_AUDIO}: no file {name!r}"]
    if errors:
        raise ValidationError({"bed": {"playlist": errors}})
