"""Program audio benchmark: CPU of the audio path per frame, beside the FFmpeg command line.

First the DSP on decoded arrays. The work, as the render worker does it for every
1600-sample frame at 30 fps: two sounding layers and the bed (bed.m4a), each with its peak and
RMS; summed with their gains; the loudness normaliser (target -14 LUFS); the true-peak limiter
(-1 dBTP); the program's peak and RMS and its EBU R128 meter (a block added every frame, a
reading 10 times a second, as the levels are published), all through render/audio. 60 s of
audio (1800 frames), the sources looped as the render worker loops them. CPU is this
process's (time.process_time), per stage and in all.

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

Then the real mixer: render.audio.mixer.ProgramAudio driven as the render worker drives it
(`apply(AudioSettings(...))`, then `mix(layers, slot, 30, instant)` once a slot, after the
compositor's frame, paced at 30 fps in real time for the same seconds) over real Sources whose
source processes decode the sound: two visible video layers of bg.mp4 with their sound (the
whole 720p program, and a quarter-size picture over it made 3.3 s later) composited by a real
Compositor in YUV, and the bed playing bed.m4a (volume 0.5). Its render-thread CPU is
time.thread_time around each `mix`. The source processes also decode the pictures, so their
sound's share is found by difference: the same scene run again without ProgramAudio ("not
mixed": no bed, but the videos' processes still decode their sound) and with a copy of bg.mp4
without sound ("no sound"), CPU from /proc (live processes) and rusage (the bed's ended
tracks). The audio path in all: the mix, plus what "mixed" costs beyond "no sound" in the
source processes and the render process's other threads (the supervisor receiving the sound).
It also counts the blocks of each layer and of the bed that were silent, or had a gap of
1 ms of digital silence (the files have none), after the first 2 s: each should be 0.

Run from the repository root, holding the test lock so no test loads the CPU meanwhile:

    flock /tmp/test.lock .venv/bin/python -m bench.audio [--seconds 60]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from bench.outputs import tree_cpu
from bench.scene import make_media
from core.audio import AudioSettings, Bed
from core.layers import Layer, load_new_layer
from core.layers.playback import Playback
from render.audio.levels import FLOOR_DB, peak_rms_db
from render.audio.limiter import TruePeakLimiter
from render.audio.meter import ProgramMeter
from render.audio.mixer import ProgramAudio
from render.audio.normaliser import Normaliser
from render.compositor import Compositor
from render.sources import Sources

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
# The real mixer: measured after the sources' start-up; sound checked after the first 2 s.
WARM_UP_SECONDS = 3.0
COUNTED_AFTER_SECONDS = 2
GAP_SAMPLES = RATE // 1000  # 1 ms of digital silence inside a read: the files have none


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


# ---- the real mixer ----------------------------------------------------------------------


class HeardSources(Sources):
    """Real sources that keep what each `audio` read returned, for the gap check (made after
    the timed mix)."""

    def __init__(self) -> None:
        super().__init__()
        self.heard: list[tuple[str, np.ndarray | None]] = []

    def audio(self, key: str, position: float | None, count: int) -> np.ndarray | None:
        """As Sources.audio, noting what it returned."""
        samples = super().audio(key, position, count)
        self.heard.append((key, samples))
        return samples


def sounding_layers(source: str, epoch_ms: int) -> list[Layer]:
    """Two visible video layers of `source` with their sound: the whole 720p program at volume
    GAINS[0], and a quarter-size picture over it at GAINS[1], made OFFSET_SECONDS later."""
    boxes = ((0, 0, 1280, 720), (620, 20, 640, 360))
    layers = []
    for number, ((x, y, width, height), gain) in enumerate(zip(boxes, GAINS, strict=False)):
        new = load_new_layer({
            "name": f"video {number}", "type": "video", "zIndex": number,
            "content": {"source": source, "volume": gain},
            "transform": {"x": x, "y": y, "width": width, "height": height}})
        started = epoch_ms - round((1 - number) * OFFSET_SECONDS * 1000)
        layers.append(Layer(
            id=f"video{number}", type=new.type, name=new.name, content=new.content,
            visible=True, opacity=1.0, transform=new.transform, z_index=number, version=1,
            created_at=1, updated_at=1, playback=Playback.started(started)))
    return layers


@dataclass(frozen=True)
class Cpu:
    """CPU seconds so far: this process (all threads, and the render thread alone) and its
    descendants (the live ones from /proc, the reaped ones from rusage)."""

    process: float
    thread: float
    live: dict[int, float]
    reaped: float

    @classmethod
    def now(cls) -> Cpu:
        """A reading."""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        live = tree_cpu(os.getpid())
        live.pop(os.getpid(), None)
        return cls(time.process_time(), time.thread_time(), live,
                   usage.ru_utime + usage.ru_stime)

    def children_since(self, before: Cpu, seen: dict[int, float]) -> float:
        """The descendants' CPU seconds since `before`. Source processes are children of the
        fork server, which reaps them, so rusage never sees a bed track that ended: each
        process counts as last `seen` (sampled once a second), which misses at most its last
        second."""
        seen = {**seen, **self.live}
        live = sum(value - before.live.get(pid, 0.0) for pid, value in seen.items())
        return live + self.reaped - before.reaped


@dataclass
class MixerRun:
    """One scene run, per frame over the measured frames (ms)."""

    render_thread_ms: float  # composite + (mix), the loop's own work
    other_threads_ms: float  # the sources' supervisor thread (reports, sound chunks)
    sources_ms: float  # the source processes: 2 video files (+ the bed's tracks)
    mix_ms: list[float] = field(default_factory=list)  # each mix call's render-thread CPU
    late: int = 0  # slots that began after their time
    silent: dict[str, int] = field(default_factory=dict)  # blocks at the floor, after 2 s
    gaps: dict[str, int] = field(default_factory=dict)  # blocks with 1 ms+ of zeros, after 2 s
    bed_starts: int = 0  # bed track processes started in the measured window


def tally(audio: ProgramAudio, sources: HeardSources, run: MixerRun) -> None:
    """Count the slot's silent blocks (levels at the floor) and gaps (a read with a run of
    GAP_SAMPLES of digital silence: the file has none, so the source fell behind)."""
    levels = audio.levels or {}
    for key, found in [*levels.get("layers", {}).items(), ("bed", levels.get("bed", {}))]:
        run.silent[key] = run.silent.get(key, 0) + (found.get("peakDb") == FLOOR_DB)
    gapped = set()
    for key, samples in sources.heard:
        if samples is None:
            continue
        silence = np.concatenate(([0], (samples == 0).all(axis=1).view(np.int8), [0]))
        edges = np.flatnonzero(np.diff(silence))
        if len(edges) and (edges[1::2] - edges[::2]).max() >= GAP_SAMPLES:
            gapped.add("bed" if key.startswith("bed") else key)
    for key in {*run.silent, *gapped}:
        run.gaps[key] = run.gaps.get(key, 0) + (key in gapped)


def mixer_run(media: Path, source: str, frames: int, mixed: bool) -> MixerRun:
    """The two video layers paced at FPS as the render worker runs them (composite, then the
    mix), measured after WARM_UP_SECONDS; `mixed`: with ProgramAudio and the bed."""
    sources = HeardSources()
    compositor = Compositor(1280, 720, media, sources=sources, frame_format="yuv420p")
    audio = ProgramAudio(compositor.sources, media) if mixed else None
    if audio is not None:
        audio.apply(AudioSettings(bed=Bed(playlist=("bed.m4a",), volume=GAINS[2])))
    epoch, began = time.time(), time.monotonic()
    layers = sounding_layers(source, round(epoch * 1000))
    warm_up = round(WARM_UP_SECONDS * FPS)
    mix_ms: list[float] = []
    late = 0
    bed_keys: set[str] = set()
    known: set[str] = set()
    before = Cpu.now()
    run = MixerRun(0.0, 0.0, 0.0)
    try:
        for slot in range(warm_up + frames):
            if slot == warm_up:
                before, late, known = Cpu.now(), 0, set(bed_keys)
                seen: dict[int, float] = {}
            if slot > warm_up and slot % FPS == 0:
                seen.update(tree_cpu(os.getpid()))
            wait = began + slot / FPS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            else:
                late += 1
            instant = epoch + slot / FPS
            compositor.compose(layers, [], instant)
            if audio is None:
                continue
            sources.heard.clear()
            started = time.thread_time()
            audio.mix(layers, slot, FPS, instant)
            spent = time.thread_time() - started
            if slot >= warm_up:
                mix_ms.append(spent * 1000)
            if slot >= COUNTED_AFTER_SECONDS * FPS:
                tally(audio, sources, run)
            bed_keys.update(key for key, _ in sources.heard if key.startswith("bed"))
        after = Cpu.now()
    finally:
        if audio is not None:
            audio.release()
        compositor.close()
    render = after.thread - before.thread
    run.render_thread_ms = render * 1000 / frames
    run.other_threads_ms = (after.process - before.process - render) * 1000 / frames
    seen.pop(os.getpid(), None)
    run.sources_ms = after.children_since(before, seen) * 1000 / frames
    run.mix_ms, run.late, run.bed_starts = mix_ms, late, len(bed_keys - known)
    return run


def silent_copy(media: Path) -> str:
    """bg.mp4 without its sound (the same video stream, copied), for the scene with no sound
    to decode; its name."""
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i",
                    str(media / "bg.mp4"), "-an", "-c", "copy", str(media / "bg-silent.mp4")],
                   check=True)
    return "bg-silent.mp4"


def print_mixer(runs: dict[str, MixerRun], peer_ms: float, seconds: float) -> None:
    """The real mixer's figures: the mix on the render thread, what sound adds elsewhere,
    the whole audio path per frame and per second of audio beside the peer."""
    mixed, unmixed, soundless = runs["mixed"], runs["not mixed"], runs["no sound"]
    mix = np.array(mixed.mix_ms)
    print(f"\nthe real mixer: ProgramAudio over real Sources, {seconds:g} s paced at {FPS} fps "
          "(2 video layers of bg.mp4 composited in YUV, the second made "
          f"{OFFSET_SECONDS:g} s later, + the bed playing bed.m4a)")
    print(f"  mix on the render thread (time.thread_time), ms: mean {mix.mean():.3f}, "
          f"p99 {np.percentile(mix, 99):.3f}, max {mix.max():.3f}")
    print("  CPU ms a frame            render thread  other threads  source processes  late")
    for label, run in runs.items():
        print(f"  {label:<25} {run.render_thread_ms:13.3f} {run.other_threads_ms:14.3f} "
              f"{run.sources_ms:17.3f} {run.late:5d}")
    bed_only = mixed.sources_ms - unmixed.sources_ms
    sources = mixed.sources_ms - soundless.sources_ms
    others = mixed.other_threads_ms - soundless.other_threads_ms
    print(f"  source processes for sound: {bed_only:+.3f} ms a frame mixed - not mixed (the "
          f"bed's process, {mixed.bed_starts} track start(s) in the window); "
          f"{sources:+.3f} mixed - no sound (also the videos' sound decoded)")
    print(f"  render process's other threads for sound (mixed - no sound): {others:+.3f}")
    total = mix.mean() + others + sources
    share = total / FRAME_MS
    ratio = total * FPS / peer_ms
    print(f"  audio path in all: {total:.3f} ms a frame = {share * 100:.2f}% of the "
          f"{FRAME_MS:.1f} ms frame (goal < {GOAL_FRAME_SHARE * 100:.0f}%: "
          f"{'met' if share < GOAL_FRAME_SHARE else 'MISSED'}); {total * FPS:.2f} ms per "
          f"second of audio / FFmpeg {peer_ms:.2f} = {ratio:.3f} (goal <= "
          f"{GOAL_PEER_RATIO:.1f}: {'met' if ratio <= GOAL_PEER_RATIO else 'MISSED'})")
    print(f"  blocks after the first {COUNTED_AFTER_SECONDS} s: silent (at the floor) "
          f"{mixed.silent}, with a gap of {GAP_SAMPLES} samples or more {mixed.gaps}")


def main() -> None:
    """Print the figures."""
    # Source processes import their parent's main module again. The render worker's
    # (render/__main__.py) imports nothing heavy at the top; this one imports the compositor,
    # OpenCV and the DSP, which would add 0.4 s of CPU to every bed track's start that the
    # render worker does not pay. So its children are told of no main module at all.
    main_module = sys.modules["__main__"]
    main_module.__spec__ = None
    if hasattr(main_module, "__file__"):
        del main_module.__file__
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
        silent = silent_copy(media)
        runs = {"mixed": mixer_run(media, "bg.mp4", frames, mixed=True),
                "not mixed": mixer_run(media, "bg.mp4", frames, mixed=False),
                "no sound": mixer_run(media, silent, frames, mixed=False)}
    print_mixer(runs, peer_ms, args.seconds)


if __name__ == "__main__":
    main()
