"""The audio levels the render worker measures (issue 15 contract, section 3): in its
telemetry, `GET /stream/audio` (`levels`), `GET /stream/status` (`audio`) and the preview's
`audioLevels` messages.

These schemas describe the shape for the OpenAPI document. The telemetry passes the levels
through unchecked (core.schemas.stream.TelemetrySchema), and unknown keys are let through
here too, so the render worker can report more without breaking a reader.
"""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields, validate

from core.schemas.fields import Integer, Number, Text

FLOOR_DB = -120.0
_DB = validate.Range(FLOOR_DB, 40.0)


def _lufs(description: str) -> Number:
    return Number(required=True, allow_none=True, metadata={
        "description": f"{description}, LUFS; null while unmeasurable (silence, below the gate)"})


def _db(description: str) -> Number:
    return Number(required=True, validate=_DB, metadata={
        "description": f"{description}, dBFS, floored at {FLOOR_DB:g}"})


class _Open(Schema):
    class Meta:
        unknown = INCLUDE


class MeterSchema(_Open):
    """Peak and RMS of one signal over the last report."""

    peakDb = _db("sample peak")
    rmsDb = _db("RMS")


class ProgramLevelsSchema(MeterSchema):
    """The program after the limiter: loudness (ITU-R BS.1770 / EBU R128), true peak, and the
    normaliser's gain."""

    momentaryLufs = _lufs("momentary loudness (400 ms)")
    shortTermLufs = _lufs("short-term loudness (3 s)")
    integratedLufs = _lufs("integrated loudness since the stream started")
    truePeakDb = Number(required=True, metadata={
        "description": "true peak of the last 3 s, dBTP"})
    gainDb = Number(required=True, metadata={"description": "the normaliser's gain now, dB"})


class BedLevelsSchema(MeterSchema):
    """The bed: its meter and where it is in its playlist."""

    state = Text(required=True, validate=validate.OneOf(("playing", "paused")))
    track = Text(required=True, allow_none=True, metadata={
        "description": "the playlist entry playing, or null"})
    index = Integer(required=True, allow_none=True, metadata={
        "description": "its position in the playlist"})
    position = Number(required=True, allow_none=True, metadata={
        "description": "seconds into the track"})
    duration = Number(required=True, allow_none=True, metadata={
        "description": "the track's length in seconds, once known"})


class AudioLevelsSchema(_Open):
    """What the program, each sounding layer and the bed measure, about 10 times a second."""

    program = fields.Nested(ProgramLevelsSchema, required=True)
    layers = fields.Dict(keys=Text(), values=fields.Nested(MeterSchema), required=True,
                         metadata={"description": "layer id -> its meter, for each layer "
                                                  "with sound (hidden or muted ones read "
                                                  f"{FLOOR_DB:g})"})
    bed = fields.Nested(BedLevelsSchema, required=True, allow_none=True)
