"""Sources with real source processes: numbered clips decoded by PyAV, a test camera pushing to
a real nginx-rtmp, and peers that misbehave. Every call the render thread makes is timed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from render.sources import SourceFrame, SourceSpec
from render.sources.picking import EPSILON
from tests.support.clips import (
    Clip,
    picture_number,
    write_clip,
    write_huge_clip,
    write_vfr_clip,
)
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.peers import Peer
from tests.support.processes import holds_for, wait_until
from tests.support.publisher import Publisher
from tests.support.timed_sources import TimedSources, cameras, closed_sources

PROGRAM_FPS = 30


@pytest.fixture
def sources() -> Iterator[TimedSources]:
    """Sources, closed after the test; nothing of theirs is left in /dev/shm."""
    yield from closed_sources()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Clip]:
    """Numbered clips: 25 and 60 fps for 3 s, variable frame rate for 2.5 s."""
    folder = tmp_path_factory.mktemp("clips")
    return {"25": write_clip(folder / "c25.mp4", 25, 3),
            "60": write_clip(folder / "c60.mp4", 60, 3),
            "vfr": write_vfr_clip(folder / "vfr.mkv")}


def file_spec(clip: Clip, loop: bool = True, box: tuple[int | None, int | None] = (None, None)
              ) -> SourceSpec:
    return SourceSpec("file", str(clip.path), box[0], box[1], loop=loop)


def shows(clip: Clip, position: float, lap: int = 0) -> Callable[[SourceFrame], bool]:
    """Check: the frame is the one whose time covers `position` (in lap `lap`)."""
    index = clip.index_at(position - lap * clip.duration)
    return lambda frame: abs(frame.time - (lap * clip.duration + clip.times[index])) < 1e-3


@pytest.mark.parametrize("name", ["25", "60", "vfr"])
def test_each_output_slot_shows_the_frame_whose_time_covers_it(
        sources: TimedSources, clips: dict[str, Clip], name: str) -> None:
    clip = clips[name]
    sources.sync({"clip": file_spec(clip, loop=False)})
    for slot in range(int(clip.duration * PROGRAM_FPS)):
        position = slot / PROGRAM_FPS
        frame = sources.frame_until("clip", position, shows(clip, position))
        assert picture_number(frame.image) == clip.index_at(position), position
        assert frame.image.shape == (clip.height, clip.width, 3)
    status = sources.status("clip")
    assert (status.state, status.width, status.height, status.codec) == (
        "playing", clip.width, clip.height, "h264")
    sources.check_calls()


def test_a_looping_file_plays_on_across_its_end(sources: TimedSources,
                                                clips: dict[str, Clip]) -> None:
    clip = clips["25"]
    sources.sync({"clip": file_spec(clip)})
    sources.frame_until("clip", 2.5, shows(clip, 2.5))
    for slot in range(75, 120):  # 2.5 s to 4 s, across the end at 3 s
        position = slot / PROGRAM_FPS
        lap = int(position // clip.duration)
        frame = sources.frame_until("clip", position, shows(clip, position, lap))
        assert picture_number(frame.image) == clip.index_at(position - lap * clip.duration)
    assert sources.status("clip").duration == pytest.approx(clip.duration)
    sources.check_calls()


def test_a_file_that_does_not_loop_holds_its_last_frame(sources: TimedSources,
                                                        clips: dict[str, Clip]) -> None:
    clip = clips["25"]
    sources.sync({"clip": file_spec(clip, loop=False)})
    last = sources.frame_until("clip", 2.99, shows(clip, 2.99))
    assert picture_number(last.image) == len(clip.times) - 1
    for position in (3.0, 3.5, 5.0, 60.0):
        held = sources.frame("clip", position)
        assert held is not None and held.seq == last.seq
    # And it is still there to be shown again from the start.
    first = sources.frame_until("clip", 0.0, shows(clip, 0.0))
    assert picture_number(first.image) == 0


def test_a_seek_lands_within_one_frame_while_playing(sources: TimedSources,
                                                     clips: dict[str, Clip]) -> None:
    clip = clips["60"]
    sources.sync({"clip": file_spec(clip)})
    sources.frame_until("clip", 0.0, shows(clip, 0.0))
    for jump_to in (2.0, 0.4):  # ahead by more than a second, then back
        began = time.monotonic()
        landed = None
        while time.monotonic() - began < 1.0:
            position = jump_to + time.monotonic() - began
            frame = sources.frame("clip", position)
            assert frame is not None
            if landed is None and abs(frame.time - position) <= 1 / 60:
                landed = time.monotonic() - began
            if landed is not None:  # from then on, on time: the frame covering the position
                # (within the picker's EPSILON: a frame 1 ms ahead covers the position too)
                covering = clip.index_at(position + EPSILON)
                assert covering - picture_number(frame.image) in (0, 1)
            time.sleep(1 / PROGRAM_FPS)
        assert landed is not None and landed < 0.5, f"seek to {jump_to} took {landed}"
        print(f"seek to {jump_to} s landed after {landed * 1000:.0f} ms")
    sources.check_calls()


def test_pictures_are_scaled_to_the_box_and_a_new_box_keeps_the_process(
        sources: TimedSources, clips: dict[str, Clip]) -> None:
    clip = clips["25"]
    sources.sync({"clip": file_spec(clip, box=(160, None))})
    frame = sources.frame_until("clip", 0.0, lambda f: True)
    assert frame.image.shape == (90, 160, 3)  # the aspect ratio kept
    for box, shape in (((64, 48), (48, 64, 3)), ((None, 120), (120, 213, 3))):
        sources.sync({"clip": file_spec(clip, box=box)})
        frame = sources.frame_until("clip", 1.0, lambda f, s=shape: f.image.shape == s)
        assert picture_number(frame.image) == clip.index_at(frame.time)
    assert sources.status("clip").restarts == 0


def test_bg_mp4_shows_its_white_square_at_whole_seconds_also_after_the_loop(
        sources: TimedSources, media_assets: Path) -> None:
    sources.sync({"bg": SourceSpec("file", str(media_assets / "bg.mp4"), 640, 360)})
    for position, white in ((0.0, True), (0.5, False), (1.05, True), (9.5, False),
                            (10.0, True), (10.5, False), (21.0, True)):
        covering = int(position * 30 + 1e-6) / 30  # bg.mp4 is 30 fps
        frame = sources.frame_until("bg", position,
                                    lambda f, t=covering: abs(f.time - t) < 1e-3)
        corner = frame.image[10:70, 10:70]
        assert (corner.min() > 200) == white, (position, corner.mean())
    status = sources.status("bg")
    assert (status.width, status.height, status.fps, status.audio) == (1280, 720, 30.0, True)
    assert status.duration == pytest.approx(10.0)


@pytest.fixture
def camera(nginx_rtmp: NginxRtmp, tmp_path: Path) -> Iterator[Callable[..., Publisher]]:
    """Factory of test cameras publishing to `nginx_rtmp`; all are stopped after the test."""
    yield from cameras(nginx_rtmp, tmp_path)


def test_a_live_input_shows_frames_and_comes_back_after_its_publisher_died(
        sources: TimedSources, nginx_rtmp: NginxRtmp, camera: Callable[[str], Publisher]) -> None:
    publisher = camera("cam")
    sources.sync({"cam": SourceSpec("live", nginx_rtmp.url("cam"), None, None)})
    latencies = play_live(sources, "cam", seconds=3.0)
    status = sources.status("cam")
    assert (status.state, status.width, status.height, status.codec, status.audio) == (
        "live", 320, 180, "h264", True)
    assert len(latencies) > 60, "fewer than 2 s of 3 s of frames"
    latencies.sort()
    assert latencies[int(len(latencies) * 0.95)] < 0.1
    # Not asked for its frames (a hidden layer), the input still reads as alive.
    holds_for(lambda: time.monotonic() - sources.status("cam").last_frame_at < 0.2, 1.0,
              "the hidden input reading as alive")

    publisher.kill()
    wait_until(lambda: time.monotonic() - (sources.status("cam").last_frame_at or 0) > 1.0,
               5, "the input to go quiet")
    camera("cam")
    back = time.monotonic()
    wait_until(lambda: time.monotonic() - (sources.status("cam").last_frame_at or 0) < 0.2,
               10, "frames from the camera's return")
    print(f"back {time.monotonic() - back:.2f} s after the camera returned; "
          f"p95 latency {latencies[int(len(latencies) * 0.95)] * 1000:.0f} ms")
    assert sources.status("cam").restarts == 0  # the process reconnected by itself
    sources.check_calls()


def play_live(sources: TimedSources, key: str, seconds: float) -> list[float]:
    """Ask for `key`'s frame once a program frame for `seconds`; how long after its decoding
    each new frame was first handed out."""
    latencies = []
    seen = 0
    wait_until(lambda: sources.frame(key) is not None, 10, f"{key}'s first frame")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        frame = sources.frame(key)
        if frame is not None and frame.seq != seen:
            seen = frame.seq
            latencies.append(time.monotonic() - frame.decoded_at)
        time.sleep(1 / PROGRAM_FPS)
    return latencies


def source_process(key: str) -> multiprocessing.Process:
    return next(child for child in multiprocessing.active_children()
                if child.name == f"source {key}")


def test_faults_never_hold_up_the_render_thread(
        sources: TimedSources, clips: dict[str, Clip], tmp_path: Path, nginx_rtmp: NginxRtmp,
        camera: Callable[[str], Publisher]) -> None:
    silent, garbage = Peer(garbage=False), Peer(garbage=True)
    frozen = camera("frozen")
    huge = write_huge_clip(tmp_path / "huge.mkv")
    wanted = {
        "silent": SourceSpec("live", f"rtmp://127.0.0.1:{silent.port}/live/key", None, None),
        "garbage": SourceSpec("live", f"tcp://127.0.0.1:{garbage.port}", None, None),
        "frozen": SourceSpec("live", nginx_rtmp.url("frozen"), None, None),
        "huge": SourceSpec("file", str(huge.path), None, None),
        "killed": file_spec(clips["25"]),
        "stopped": file_spec(clips["60"]),
    }
    try:
        sources.sync(wanted)
        run_program(sources, wanted, until=lambda: all(
            sources.status(key).last_frame_at for key in ("frozen", "killed", "stopped")))
        frozen.freeze()
        os.kill(source_process("killed").pid, signal.SIGKILL)
        os.kill(source_process("stopped").pid, signal.SIGSTOP)  # the watchdog's case
        since = time.monotonic()
        run_program(sources, wanted, until=lambda: (
            sources.status("killed").restarts and sources.status("stopped").restarts
            and time.monotonic() - since > 6.0))  # more than the open and read timeouts
        for key in ("killed", "stopped"):  # started again, and playing
            sources.frame_until(key, None, lambda f, k=key: f.decoded_at > since, timeout=5)
        states = {key: sources.status(key) for key in wanted}
        assert states["huge"].state == "error"
        assert "4096x2304" in (states["huge"].error or "")
        for key in ("silent", "garbage", "frozen"):  # each reconnects by itself
            assert states[key].state in ("connecting", "error"), states[key]
            assert states[key].error and states[key].restarts == 0, states[key]
        assert sources.status("frozen").last_frame_at < since + 0.5
        print("; ".join(f"{key}: {s.state} ({s.error})" for key, s in states.items()))
        print(sources.check_calls())
    finally:
        silent.close()
        garbage.close()


def run_program(sources: TimedSources, wanted: dict[str, SourceSpec],
                until: Callable[[], object], timeout: float = 20.0) -> None:
    """Do what the render thread does once a frame (sync, a frame and a status of every
    source) at the program's rate until `until()`."""
    began = time.monotonic()
    while not until():
        assert time.monotonic() - began < timeout, {k: sources.status(k) for k in wanted}
        sources.sync(wanted)
        for key, spec in wanted.items():
            sources.frame(key, None if spec.kind == "live" else time.monotonic() - began)
            sources.status(key)
        time.sleep(1 / PROGRAM_FPS)
