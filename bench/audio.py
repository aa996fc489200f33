"""Program audio benchmark: CPU of the audio path per frame, beside the FFmpeg command line.

The work, as the render worker does it for every 1600-sample frame at 30 fps: two sounding
layers X and the bed
(bed.m4a), each with its peak and RMS; summed with their gains; the loudness normaliser
(target -14 LUFS); the true-peak limiter (-1 dBTP); the program's peak and RMS and its EBU R128
meter (a block added every frame, a reading 10 times a second, as the levels are published),
all through render/audio. 60 s of audio (1800 frames), the sources looped as the render
worker loops them. CPU is this process's (time.process_time), per stage and in all.

Decoding is not part of that path: each source's sound is decoded by its own source process
(render/sources). So it is measured apart, with PyAV as those processes decode (the first
audio stream, resampled to 48 kHz stereo float), and both ratios are printed: "mix only"
(ours without decoding, FFmpeg with it: flattering to FFmpeg) and "mix + decode".

The peer: the FFmpeg command line doing the same on the same files in the same run,
    ffmpeg -vn -stream_loop -1 -i bg.mp4 -vn -stream_loop -1 -ss 3.3 -i bg.mp4
           -vn -stream_loop -1 -i bed.m4a -filter_complex "amix=inputs=3:weights=...,
           loudnorm=I=-14:TP=-1,aresample=48000,alimiter=limit=...,ebur128=peak=true"
           -t 60 -f null -
timed as a whole process (children's rusage) with its start-up (the same command with
`-t 0`) subtracted. loudnorm resamples to 192 kHz (to find true peaks) and looks 3 s ahead
(so it could not be ours: the sound would trail the picture); the aresample back to 48 kHz is
what any 48 kHz output needs after it, and spares alimiter and ebur128 the 192 kHz rate.
FFmpeg's alimiter limits sample peaks, ours true peaks; FFmpeg meters only the program, ours
each source too.

Run from the repository root, holding the test lock so no test loads the CPU meanwhile:

    flock /tmp/test.lock .venv/bin/python -m bench.audio [--seconds 60]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from bench.scene import make_media
from render.audio.levels import peak_rms_db
from render.audio.limiter import TruePeakLimiter
from render.audio.meter import ProgramMeter
from render.audio.normaliser import Normaliser

RATE = 48_000
FPS = 30
BLOCK = RATE // FPS
FRAME_MS = 1000 / FPS
OFFSET_SECONDS = 3.3  # the second layer plays bg.mp4 from this far in
GAINS = (1.0, 0.8, 0.5)  # layer, layer, bed (the bed's default volume)
TARGET_LUFS, CEILING_DB = -14.0, -1.0
READINGS_EVERY = 3  # frames: the levels are published 10 times a second
GOAL_FRAME_SHARE = 0.05
GOAL_PEER_RATIO = 1.0
STAGES = ("levels", "mix", "normaliser", "limiter", "meter")


def decode(path: Path, seconds: float) -> tuple[np.ndarray, float]:
    """`seconds` of the file's first audio stream, looped, as (n, 2) float32 at 48 kHz (as a
    source process decodes it), and the CPU seconds that took."""
    started = time.process_time()
    wanted = round(seconds * RATE)
    chunks: list[np.ndarray] = []
    count = 0
    while count < wanted:
        resampler = av.AudioResampler(format="flt", layout="stereo", rate=RATE)
        with av.open(str(path)) as container:
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1, 2)
                    chunks.append(chunk)
                    count += len(chunk)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1, 2))
                count += len(chunks[-1])
    sound = np.ascontiguousarray(np.concatenate(chunks)[:wanted])
    return sound, time.process_time() - started


class Timer:
    """CPU seconds spent in each named stage."""

    def __init__(self) -> None:
        self.seconds = dict.fromkeys(STAGES, 0.0)
        self._mark = time.process_time()

    def lap(self, stage: str) -> None:
        now = time.process_time()
        self.seconds[stage] += now - self._mark
        self._mark = now


def our_path(sources: list[np.ndarray], frames: int) -> tuple[dict[str, float], dict[str, float]]:
    """Run the audio path over `frames` frames: CPU ms per frame by stage, and what the
    program meter read at the end."""
    normaliser, limiter, meter = Normaliser(), TruePeakLimiter(), ProgramMeter()
    gains = [np.float32(gain) for gain in GAINS]
    timer = Timer()
    reading = None
    for index in range(frames):
        blocks = [sound[index * BLOCK:(index + 1) * BLOCK] for sound in sources]
        timer.lap("mix")  # (the slicing: the mixer's reads)
        for block in blocks:
            peak_rms_db(block)
        timer.lap("levels")
        program = blocks[0] * gains[0]
        for block, gain in zip(blocks[1:], gains[1:], strict=True):
            program += block * gain
        timer.lap("mix")
        program = normaliser.process(program, TARGET_LUFS, True)
        timer.lap("normaliser")
        program = limiter.process(program, CEILING_DB)
        timer.lap("limiter")
        peak_rms_db(program)
        timer.lap("levels")
        meter.add(program)
        if index % READINGS_EVERY == 0:
            reading = meter.reading()
        timer.lap("meter")
    assert reading is not None
    result = {"integrated": reading.integrated_lufs or float("nan"),
              "short-term": reading.short_term_lufs or float("nan"),
              "true peak": reading.true_peak_db, "gain": normaliser.gain_db}
    return {stage: seconds * 1000 / frames for stage, seconds in timer.seconds.items()}, result


def peer_command(media: Path, seconds: float) -> list[str]:
    """The FFmpeg command line doing the same work (see the module's docstring)."""
    weights = " ".join(str(gain) for gain in GAINS)
    limit = 10 ** (CEILING_DB / 20)
    graph = (f"amix=inputs=3:weights={weights}:normalize=0,"
             f"loudnorm=I={TARGET_LUFS:g}:TP={CEILING_DB:g},aresample={RATE},"
             f"alimiter=limit={limit:.4f}:level=disabled,ebur128=peak=true")
    bg, bed = str(media / "bg.mp4"), str(media / "bed.m4a")
    return ["ffmpeg", "-hide_banner", "-nostats", "-loglevel", "error",
            "-vn", "-stream_loop", "-1", "-i", bg,
            "-vn", "-stream_loop", "-1", "-ss", str(OFFSET_SECONDS), "-i", bg,
            "-vn", "-stream_loop", "-1", "-i", bed,
            "-filter_complex", graph, "-t", f"{seconds:g}", "-f", "null", "-"]


def children_cpu(run: Callable[[], object]) -> float:
    """CPU seconds (user + system) of the child processes `run` waits for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def peer_ms_per_audio_second(media: Path, seconds: float) -> float:
    """FFmpeg's CPU ms per second of audio, its start-up (a 0-length run) subtracted."""
    def run(length: float) -> float:
        return children_cpu(lambda: subprocess.run(peer_command(media, length), check=True))
    startup = run(0)
    return (run(seconds) - startup) * 1000 / seconds


def print_figures(stages: dict[str, float], decode_ms: float, peer_ms: float,
                  reading: dict[str, float], seconds: float, frames: int) -> None:
    """Ours per frame and per second of audio, beside the peer, with the goals."""
    total = sum(stages.values())
    share = total / FRAME_MS
    print(f"\nprogram audio: {seconds:g} s at 48 kHz, {frames} frames of {BLOCK} samples "
          f"({FPS} fps); 2 layers (bg.mp4's sound, twice) + the bed (bed.m4a)")
    print("our audio path, CPU ms per frame")
    for stage, value in stages.items():
        print(f"  {stage:<12} {value:7.3f}")
    print(f"  {'total':<12} {total:7.3f}  = {share * 100:.2f}% of the {FRAME_MS:.1f} ms frame "
          f"(goal < {GOAL_FRAME_SHARE * 100:.0f}%: "
          f"{'met' if share < GOAL_FRAME_SHARE else 'MISSED'})")
    print(f"  decoding the 3 sources (PyAV, in the source processes): {decode_ms:.3f} ms a frame")
    print(f"program meter at the end: {reading['integrated']:.1f} LUFS integrated, "
          f"{reading['short-term']:.1f} short-term, {reading['true peak']:.2f} dBTP "
          f"(true peak of the last 3 s), normaliser gain {reading['gain']:+.1f} dB")
    print("\nCPU ms per second of audio     ours   ffmpeg   ratio  goal")
    for label, ours in (("mix only (ffmpeg decodes too)", total * FPS),
                        ("mix + decode", (total + decode_ms) * FPS)):
        ratio = ours / peer_ms
        verdict = f"<= {GOAL_PEER_RATIO:.1f}: {'met' if ratio <= GOAL_PEER_RATIO else 'MISSED'}"
        print(f"  {label:<29} {ours:6.2f} {peer_ms:7.2f} {ratio:7.3f}  {verdict}")


def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    frames = round(args.seconds * FPS)
    with tempfile.TemporaryDirectory(prefix="bench-audio-") as folder:
        media = Path(folder)
        make_media(media)
        layer, first_cpu = decode(media / "bg.mp4", args.seconds)
        again, second_cpu = decode(media / "bg.mp4", args.seconds)
        bed, bed_cpu = decode(media / "bed.m4a", args.seconds)
        sources = [layer, np.roll(again, -round(OFFSET_SECONDS * RATE), axis=0), bed]
        decode_ms = (first_cpu + second_cpu + bed_cpu) * 1000 / frames
        our_path(sources, 60)  # warm up: imports, first allocations
        stages, reading = our_path(sources, frames)
        peer_ms = peer_ms_per_audio_second(media, args.seconds)
    print_figures(stages, decode_ms, peer_ms, reading, args.seconds, frames)


if __name__ == "__main__":
    main()
