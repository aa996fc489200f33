"""The program's loudness DSP (render/audio: levels, meter, normaliser, limiter), checked
against an independent meter: FFmpeg's own `ebur128` filter (its BS.1770 implementation, not
libebur128), run in-process through PyAV's libavfilter on the same samples."""

from __future__ import annotations

import numpy as np
import pytest
from pyebur128 import MeasurementMode, R128State, get_true_peak

from render.audio.levels import FLOOR_DB, peak_rms_db
from render.audio.limiter import TruePeakLimiter
from render.audio.meter import ProgramMeter
from render.audio.normaliser import Normaliser
from tests.support.audio import ffmpeg_ebur128

RATE = 48_000
BLOCK = 1600  # one frame at 30 fps


def libebur128_true_peak(samples: np.ndarray) -> float:
    state = R128State(2, RATE, MeasurementMode.MODE_TRUE_PEAK)
    state.add_frames(np.ascontiguousarray(samples).reshape(-1), len(samples))
    return float(20 * np.log10(max(get_true_peak(state, 0), get_true_peak(state, 1))))


def blocks(samples: np.ndarray, size: int = BLOCK) -> list[np.ndarray]:
    return [samples[start:start + size] for start in range(0, len(samples), size)]


def noise(seconds: float, lufs: float, seed: int = 1, band_hz: float | None = None) -> np.ndarray:
    """Stereo white noise (band-limited to `band_hz` if given) scaled to `lufs` integrated."""
    rng = np.random.default_rng(seed)
    samples = rng.standard_normal((round(seconds * RATE), 2))
    if band_hz is not None:
        spectrum = np.fft.rfft(samples, axis=0)
        spectrum[np.fft.rfftfreq(len(samples), 1 / RATE) > band_hz] = 0
        samples = np.fft.irfft(spectrum, n=len(samples), axis=0)
    samples = samples.astype(np.float32)
    measured = ffmpeg_ebur128(samples)["I"]
    return (samples * np.float32(10 ** ((lufs - measured) / 20))).astype(np.float32)


def sine(seconds: float, frequency: float, phase: float = 0.0) -> np.ndarray:
    times = np.arange(round(seconds * RATE)) / RATE
    tone = np.sin(2 * np.pi * frequency * times + phase)
    return np.stack([tone, tone], axis=1).astype(np.float32)


# -- levels ---------------------------------------------------------------------------------

def test_peak_and_rms_of_a_block_in_dbfs_floored() -> None:
    full_scale = sine(0.1, 1000.0)
    peak, rms = peak_rms_db(full_scale)
    assert peak == pytest.approx(0.0, abs=0.01)
    assert rms == pytest.approx(-3.01, abs=0.02)
    half = full_scale * np.float32(0.5)
    half[:, 1] = 0  # one silent channel: RMS is over both
    assert peak_rms_db(half) == pytest.approx((-6.02, -3.01 - 6.02 - 3.01), abs=0.02)
    assert peak_rms_db(np.zeros((BLOCK, 2), np.float32)) == (FLOOR_DB, FLOOR_DB)
    assert peak_rms_db(np.full((BLOCK, 2), 1e-9, np.float32)) == (FLOOR_DB, FLOOR_DB)
    assert peak_rms_db(np.zeros((0, 2), np.float32)) == (FLOOR_DB, FLOOR_DB)


# -- meter ----------------------------------------------------------------------------------

def test_the_meter_agrees_with_ffmpeg_within_a_tenth_of_a_lu() -> None:
    # Loud, quiet, silent and a tone: the gates matter, and the ends of the windows too.
    signal = np.concatenate([
        noise(4, -18.0, seed=2, band_hz=12000), noise(3, -32.0, seed=3),
        np.zeros((RATE, 2), np.float32), sine(4, 440.0) * np.float32(0.1),
    ])
    meter = ProgramMeter()
    for block in blocks(signal):
        meter.add(block)
    ours, ffmpeg = meter.reading(), ffmpeg_ebur128(signal)
    assert ours.integrated_lufs == pytest.approx(ffmpeg["I"], abs=0.1)
    assert ours.short_term_lufs == pytest.approx(ffmpeg["S"], abs=0.1)
    assert ours.momentary_lufs == pytest.approx(ffmpeg["M"], abs=0.1)
    # The last 3 s are the tone: its true peak, not the noise's long gone.
    assert ours.true_peak_db == pytest.approx(-20.0, abs=0.1)
    assert ffmpeg["true_peak"] > -20.0 + 6


def test_the_meter_reads_none_for_silence_and_starts_over_on_reset() -> None:
    meter = ProgramMeter()
    reading = meter.reading()
    assert (reading.momentary_lufs, reading.short_term_lufs, reading.integrated_lufs) == (
        None, None, None)
    assert reading.true_peak_db == FLOOR_DB
    for block in blocks(noise(2, -23.0)):
        meter.add(block)
    assert meter.reading().integrated_lufs == pytest.approx(-23.0, abs=0.2)
    for block in blocks(np.zeros((4 * RATE, 2), np.float32)):
        meter.add(block)
    reading = meter.reading()
    assert reading.momentary_lufs is None and reading.short_term_lufs is None
    assert reading.integrated_lufs == pytest.approx(-23.0, abs=0.5)  # silence is gated out
    assert reading.true_peak_db == FLOOR_DB  # the noise's peak is more than 3 s old
    meter.reset()
    assert meter.reading().integrated_lufs is None


# -- normaliser -----------------------------------------------------------------------------

def normalise(normaliser: Normaliser, signal: np.ndarray, target: float = -14.0,
              enabled: bool = True) -> tuple[np.ndarray, list[float]]:
    out, gains = [], []
    for block in blocks(signal):
        out.append(normaliser.process(block, target, enabled))
        gains.append(normaliser.gain_db)
    return np.concatenate(out), gains


def test_the_normaliser_brings_a_quiet_bed_to_the_target_from_the_start() -> None:
    bed = noise(20, -33.0, seed=4)
    out, gains = normalise(Normaliser(), bed)
    assert ffmpeg_ebur128(out)["I"] == pytest.approx(-14.0, abs=0.5)
    # Once the momentary window is full (400 ms, 12 frames) the gain is there at once.
    assert gains[10] == 0.0
    assert gains[12] == pytest.approx(19.0, abs=0.5)
    # ... and stays there: the bed is steady.
    assert max(gains[12:]) - min(gains[12:]) < 0.5
    assert ffmpeg_ebur128(out[RATE:3 * RATE])["I"] == pytest.approx(-14.0, abs=0.5)


def test_the_normaliser_holds_its_gain_across_silence_and_snaps_after_a_long_one() -> None:
    normaliser = Normaliser()
    _, gains = normalise(normaliser, noise(5, -30.0, seed=5))
    held = gains[-1]
    assert held == pytest.approx(16.0, abs=0.5)
    # A gap between tracks: the gain neither pumps up nor moves.
    silence, gains = normalise(normaliser, np.zeros((2 * RATE, 2), np.float32))
    assert not silence.any()
    # (The momentary window fades out over 400 ms before the gate shuts: a hair of drift.)
    assert max(abs(gain - held) for gain in gains) < 0.1
    # A louder track after a short gap: the gain comes down (0.4 s time constant), never
    # going up meanwhile.
    _, gains = normalise(normaliser, noise(3, -20.0, seed=6))
    assert all(later <= earlier + 0.05 for earlier, later in zip(gains, gains[1:], strict=False))
    assert gains[45] < held - 9  # 1.5 s
    assert gains[-1] == pytest.approx(6.0, abs=0.5)
    # A long silence, then a quiet track: the gain goes to the new level at once.
    normalise(normaliser, np.zeros((4 * RATE, 2), np.float32))
    out, gains = normalise(normaliser, noise(3, -36.0, seed=7))
    assert gains[12] == pytest.approx(22.0, abs=0.5)
    assert ffmpeg_ebur128(out[RATE:])["I"] == pytest.approx(-14.0, abs=0.5)


def test_the_normaliser_ramps_its_gain_without_steps_and_goes_to_unity_when_disabled() -> None:
    normaliser = Normaliser()
    quiet = noise(3, -40.0, seed=12)
    out, gains = normalise(normaliser, quiet)
    # The gain, sample by sample (out / in): the snap to +26 dB is a ramp across one block.
    gain = out[:, 0] / quiet[:, 0]
    snap = next(index for index, gain_db in enumerate(gains) if gain_db)
    assert gains[snap] == pytest.approx(24.0)  # clamped at the most it gives
    ramp_step = (10 ** (gains[snap] / 20) - 1) / BLOCK
    assert np.abs(np.diff(gain)).max() <= ramp_step * 1.01
    out, gains = normalise(normaliser, quiet[:2 * BLOCK], enabled=False)
    assert gains == [0.0, 0.0]
    gain = out[:BLOCK, 0] / quiet[:BLOCK, 0]
    assert np.abs(np.diff(gain)).max() <= ramp_step * 1.01
    assert gain[-1] == pytest.approx(1.0)
    assert np.array_equal(out[BLOCK:], quiet[BLOCK:2 * BLOCK])  # unity: bit-exact


# -- limiter --------------------------------------------------------------------------------

def limit(signal: np.ndarray, ceiling: float, sizes: list[int] | None = None,
          limiter: TruePeakLimiter | None = None) -> np.ndarray:
    limiter = limiter or TruePeakLimiter()
    out, start, index = [], 0, 0
    while start < len(signal):
        size = sizes[index % len(sizes)] if sizes else BLOCK
        block = signal[start:start + size]
        out.append(limiter.process(block, ceiling))
        assert out[-1].shape == block.shape and out[-1].dtype == np.float32
        start, index = start + size, index + 1
    return np.concatenate(out)


def test_white_noise_driven_20_db_into_the_limiter_stays_under_its_ceiling() -> None:
    # Full band, measured by FFmpeg (whose 4x interpolator is as long as ours).
    hot = noise(3, -20.0, seed=8)
    hot *= np.float32(10 ** ((-1.0 + 20 - ffmpeg_ebur128(hot)["true_peak"]) / 20))
    out = limit(hot, -1.0)
    assert ffmpeg_ebur128(out)["true_peak"] <= -1.0 + 0.1
    # Band-limited to 20 kHz, like every lossy-coded source: libebur128 agrees too.
    hot = noise(3, -20.0, seed=9, band_hz=20000)
    hot *= np.float32(10 ** ((-6.0 + 20 - ffmpeg_ebur128(hot)["true_peak"]) / 20))
    out = limit(hot, -6.0)
    assert ffmpeg_ebur128(out)["true_peak"] <= -6.0 + 0.1
    assert libebur128_true_peak(out) <= -6.0 + 0.1
    # It limits: 20 dB of peaks off, and the loudness is still there.
    assert ffmpeg_ebur128(out)["I"] > ffmpeg_ebur128(hot)["I"] - 20


# 11 kHz's samples fall all over its wave, so its peaks between samples are barely higher than
# at them; 8 kHz at phase 0 (fs/6) peaks 1.25 dB and 12 kHz at 45 degrees (fs/4) 3 dB between
# its full-scale samples.
@pytest.mark.parametrize(("frequency", "phase", "over"),
                         [(11000.0, 0.3, 0.0), (8000.0, 0.0, 1.2), (12000.0, np.pi / 4, 2.9)])
def test_a_full_scale_sine_with_inter_sample_peaks_stays_under_the_ceiling(
        frequency: float, phase: float, over: float) -> None:
    tone = sine(2, frequency, phase)
    tone /= np.abs(tone).max()  # samples reach full scale; the wave between them goes over
    assert libebur128_true_peak(tone) >= over
    out = limit(tone, -1.0)
    assert ffmpeg_ebur128(out)["true_peak"] <= -1.0 + 0.1
    assert libebur128_true_peak(out) <= -1.0 + 0.1
    # A steady tone is held at the ceiling, not pumped under it.
    assert libebur128_true_peak(out[RATE:]) > -1.0 - 0.3


def test_a_signal_under_the_ceiling_passes_bit_exactly_delayed_by_the_latency() -> None:
    limiter = TruePeakLimiter()
    assert 0 < limiter.latency <= 0.002 * RATE  # at most 2 ms: well inside a frame
    quiet = noise(2, -30.0, seed=10)
    out = limit(quiet, -1.0, limiter=limiter)
    assert not out[:limiter.latency].any()
    assert np.array_equal(out[limiter.latency:], quiet[:-limiter.latency])


def test_the_limiter_engages_without_clicks() -> None:
    # A 1 kHz tone at -20 dBFS that jumps to 6 dB over the ceiling and back, at zero crossings.
    tone = sine(3, 1000.0)
    level = np.full(len(tone), 0.1, np.float32)
    level[RATE:2 * RATE] = 10 ** ((-1.0 + 6) / 20)
    signal = tone * level[:, None]
    out = limit(signal, -1.0)
    # No sample step larger than the loud tone's own (a click is a step it does not have).
    assert np.abs(np.diff(out[:, 0])).max() <= np.abs(np.diff(signal[:, 0])).max()
    assert ffmpeg_ebur128(out)["true_peak"] <= -1.0 + 0.1


def test_the_limiter_gives_the_same_sound_whatever_the_block_sizes() -> None:
    hot = noise(1, 0.0, seed=11)
    framed = limit(hot, -3.0)
    ragged = limit(hot, -3.0, sizes=[1, 7, 1600, 333, 4000, 82, 2])
    assert np.allclose(framed, ragged, atol=1e-6, rtol=0)
