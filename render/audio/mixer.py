"""The program's sound, made on the render thread for each output slot, on the program clock.

Every slot gets exactly its share of samples ((slot + 1) * 48000 // fps minus slot * 48000 //
fps: 1600 at 30 fps), so sound and picture cannot drift apart; a slot the clock skipped gets
its share with the next one. For each block:

1. each sounding layer (a video or input layer whose source has sound) is read from its
   source at the instant its picture is picked for (a video: its playback position at the
   block's first sample, less half a frame (see `mix`); an input: the jitter buffer's
   position), times its gain, which
   follows `volume` and fades over 20 ms when the layer is hidden, muted, paused, shown or
   deleted (render.audio.gains); a deleted layer's source is gone at once, so its fade-out
   plays its last 20 ms backwards (continuous at the join, so no click);
2. the bed (render.audio.bed) times its volume, lowered by `duckDb` while any layer sounds
   (ramped: DUCK_DOWN_SECONDS down, DUCK_UP_SECONDS back);
3. the sum times the master volume, then the loudness normaliser and the true-peak limiter
   (render.audio.normaliser, render.audio.limiter), then the program meter.

A source that stalls or is gone gives silence for its share: the block is always whole and
never waits. Levels (program loudness, each layer's and the bed's peak and RMS) are replaced
whole after each block, for the reporter, the levels publisher and the metrics to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.audio import AudioSettings
from core.layers import Layer
from core.layers.playback import PAUSED
from core.layers.sound import SoundingContent
from render.audio.bed import BedPlayer
from render.audio.gains import CHANNELS, FADE_SAMPLES, RATE, apply_gain, ramp
from render.audio.levels import FLOOR_DB, peak_rms_db
from render.audio.limiter import TruePeakLimiter
from render.audio.meter import ProgramMeter
from render.audio.normaliser import Normaliser
from render.sources import Sources

SOUNDING_TYPES = ("video", "input")
# The program meter's readings are taken this often (a reading costs about 0.3 ms: libebur128
# sums its 3 s window again), which is as often as anyone is told them.
READING_SAMPLES = RATE // 10
# A layer sounds (and ducks the bed) when its block peaks above this.
SOUNDS_ABOVE_DB = -50.0
DUCK_DOWN_SECONDS = 0.25
DUCK_UP_SECONDS = 1.0


@dataclass
class _Voice:
    """A sounding layer's state between blocks."""

    gain: float = 0.0  # at the end of the last block
    tail: np.ndarray | None = None  # its last FADE_SAMPLES as read, before the gain


class ProgramAudio:
    """Mixes the program's sound; `mix` is for the render thread only."""

    def __init__(self, sources: Sources, media_root: Path) -> None:
        self._sources = sources
        self.bed = BedPlayer(sources, media_root)
        self._settings = AudioSettings()
        self._voices: dict[str, _Voice] = {}
        self._bed_gain = 0.0
        self._duck_db = 0.0
        self._master_gain = 0.0
        self._normaliser = Normaliser(RATE)
        self._limiter = TruePeakLimiter(RATE)
        self._meter = ProgramMeter(RATE)
        self._reading = self._meter.reading()
        self._unread = 0  # samples metered since the last reading
        self._last_slot: int | None = None
        self._next_sample = 0
        # Replaced whole after each block (other threads read it).
        self.levels: dict[str, Any] | None = None
        self.bed.apply(self._settings.bed)

    def apply(self, settings: AudioSettings) -> None:
        """New settings, from the next block on."""
        self._settings = settings
        self.bed.apply(settings.bed)

    def release(self) -> None:
        """Stop the bed's processes and forget the levels (this instance no longer draws)."""
        self.bed.release()
        self.levels = None

    def restart_meter(self) -> None:
        """A new stream: its integrated loudness starts from nothing."""
        self._meter.reset()

    def mix(self, layers: Sequence[Layer], slot: int, fps: int, instant: float,
            silent: bool = False) -> np.ndarray:
        """The samples up to the end of `slot` ((n, 2) float32) for the slot shown at epoch
        `instant`; `silent`: the program is paused (everything fades out, nothing is read)."""
        if self._last_slot is None or slot <= self._last_slot:
            self._next_sample = slot * RATE // fps  # a new clock
        end = (slot + 1) * RATE // fps
        count = max(0, end - self._next_sample)
        first = instant - (count - (end - slot * RATE // fps)) / RATE
        self._last_slot, self._next_sample = slot, end
        mix = np.zeros((count, CHANNELS), np.float32)
        # A picture shows the video frame that covers its slot's instant, so it runs up to a
        # frame behind the file's own time (half a frame on average); reading the sound half
        # a frame back centres that: a beep and its frame are at most half a frame apart.
        layer_levels, sounding = self._mix_layers(mix, layers, first - 0.5 / fps, silent)
        bed_levels = self._mix_bed(mix, sounding, silent)
        master = self._settings.master
        target = 0.0 if master.muted else master.volume
        mix = apply_gain(mix, ramp(self._master_gain, target, count))
        self._master_gain = target
        loudness = self._settings.loudness
        mix = self._normaliser.process(mix, loudness.target_lufs, loudness.enabled)
        mix = self._limiter.process(mix, loudness.true_peak_db)
        self._meter.add(mix)
        self.levels = self._levels(mix, layer_levels, bed_levels)
        return mix

    def _mix_layers(self, mix: np.ndarray, layers: Sequence[Layer], first: float,
                    silent: bool) -> tuple[dict[str, dict[str, float]], bool]:
        count = len(mix)
        levels: dict[str, dict[str, float]] = {}
        sounding = False
        present = set()
        for layer in layers:
            content = layer.content
            if layer.type not in SOUNDING_TYPES or not isinstance(content, SoundingContent):
                continue
            present.add(layer.id)
            voice = self._voices.setdefault(layer.id, _Voice())
            playback = layer.playback
            audible = layer.visible and not content.muted and not silent
            if layer.type == "video" and (playback is None or playback.state == PAUSED):
                audible = False  # a paused video holds its picture and is silent
            target = content.volume if audible else 0.0
            samples = None
            if target or voice.gain:
                # A video is read where its playback is at the block's first sample (a paused
                # one where it stopped, for its fade-out); an input where the jitter buffer is.
                position = playback.position_at(first * 1000) if playback else None
                samples = self._sources.audio(layer.id, position, count)
            if samples is None:
                voice.gain = 0.0
                if self._has_sound(layer.id):
                    levels[layer.id] = _silent_levels()
                continue
            voice.tail = samples[-FADE_SAMPLES:].copy() if count >= FADE_SAMPLES else None
            heard = apply_gain(samples, ramp(voice.gain, target, count))
            voice.gain = target
            mix += heard
            peak, rms = peak_rms_db(heard)
            levels[layer.id] = {"peakDb": peak, "rmsDb": rms}
            sounding = sounding or (target > 0 and peak > SOUNDS_ABOVE_DB)
        for layer_id in [key for key in self._voices if key not in present]:
            self._fade_deleted(mix, self._voices.pop(layer_id))
        return levels, sounding

    def _has_sound(self, layer_id: str) -> bool:
        status = self._sources.status(layer_id)
        return status is not None and status.audio

    @staticmethod
    def _fade_deleted(mix: np.ndarray, voice: _Voice) -> None:
        """A deleted layer's last 20 ms, backwards, fading out: its source is already gone."""
        if not voice.gain or voice.tail is None:
            return
        backwards = voice.tail[::-1][:len(mix)]
        fade = np.linspace(voice.gain, 0.0, len(backwards), endpoint=False, dtype=np.float32)
        mix[:len(backwards)] += backwards * fade[:, None]

    def _mix_bed(self, mix: np.ndarray, sounding: bool, silent: bool) -> dict[str, Any]:
        count = len(mix)
        bed = self._settings.bed
        # Ducking moves in dB at a bounded speed: down in DUCK_DOWN_SECONDS, up in
        # DUCK_UP_SECONDS, whatever the depth.
        wanted = bed.duck_db if sounding else 0.0
        seconds = DUCK_DOWN_SECONDS if wanted > self._duck_db else DUCK_UP_SECONDS
        step = max(bed.duck_db, 1.0) * count / RATE / seconds
        self._duck_db += float(np.clip(wanted - self._duck_db, -step, step))
        target = 0.0 if silent else bed.volume * 10 ** (-self._duck_db / 20)
        if silent and not self._bed_gain:
            return {**_silent_levels(), **self.bed.status()}
        heard = apply_gain(self.bed.read(count), ramp(self._bed_gain, target, count)
                           if abs(target - self._bed_gain) > 1e-6 else target)
        self._bed_gain = target
        mix += heard
        peak, rms = peak_rms_db(heard)
        return {"peakDb": peak, "rmsDb": rms, **self.bed.status()}

    def _levels(self, mix: np.ndarray, layers: dict[str, dict[str, float]],
                bed: dict[str, Any]) -> dict[str, Any]:
        self._unread += len(mix)
        if self._unread >= READING_SAMPLES:
            self._reading, self._unread = self._meter.reading(), 0
        reading = self._reading
        peak, rms = peak_rms_db(mix)
        program = {"momentaryLufs": _rounded(reading.momentary_lufs),
                   "shortTermLufs": _rounded(reading.short_term_lufs),
                   "integratedLufs": _rounded(reading.integrated_lufs),
                   "truePeakDb": round(reading.true_peak_db, 2), "peakDb": round(peak, 2),
                   "rmsDb": round(rms, 2), "gainDb": round(self._normaliser.gain_db, 2)}
        return {"program": program, "layers": layers, "bed": bed}


def _silent_levels() -> dict[str, float]:
    return {"peakDb": FLOOR_DB, "rmsDb": FLOOR_DB}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 2)
