"""Program audio on air, for real: API → Celery → Redis → `python -m render` (source processes,
the bed's process, the mix) → nginx-rtmp and a recording → decoded here and measured.

`bg.mp4` beeps (1 kHz, 100 ms) at each whole second on the same frame as its white square, so
sync is read from the program: each beep's first loud sample against the first frame showing
the square. Loudness is measured by FFmpeg's ebur128 filter (tests.support.audio), not by
the meter under test.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask.testing import FlaskClient

from tests.render.test_render_stream import KEY, SIZE, add_layer
from tests.render.test_sources_stream import FPS, STARTED, square_shown, video_layer
from tests.support.audio import (
    Recorded,
    dbfs,
    ffmpeg_ebur128,
    onsets,
    placed,
    read_recording,
    write_tone_clip,
)
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import Player
from tests.support.processes import wait_until
from tests.support.publisher import Publisher

RECORDED = {**SIZE, "RECORD": "on"}
FRAME = 1 / FPS


def go_live(client: FlaskClient, render_workers, nginx_rtmp: NginxRtmp,
            player: Callable[..., Player], **options: Any) -> Player:
    render_workers.start(RTMP_URL=nginx_rtmp.url(KEY), **RECORDED)
    assert client.post("/stream/start").status_code == 200
    viewer = player(nginx_rtmp.url(KEY), keep_audio=True, **options)
    viewer.wait_for_frames(5, timeout=30)
    return viewer


def stop_and_read(client: FlaskClient, settings, **options: Any) -> Recorded:
    """Stop the stream, wait for the recording's trailer, and read the newest recording."""
    assert client.post("/stream/stop").status_code == 200
    wait_until(lambda: {o["state"] for o in client.get("/stream/status").get_json()["outputs"]}
               <= {"stopped"}, 20, "the outputs to close")
    newest = max(settings.recordings_dir.rglob("*.mkv"), key=lambda path: path.stat().st_mtime)
    return read_recording(newest, **options)


def assert_continuous(recorded: Recorded) -> None:
    """The sound track lasts as long as the pictures, within a frame, without a gap."""
    assert abs(recorded.audio_duration - recorded.video_duration) <= FRAME, (
        recorded.audio_duration, recorded.video_duration)
    assert recorded.audio_gaps() == []


def patch_audio(client: FlaskClient, **changes: Any) -> dict[str, Any]:
    answer = client.patch("/stream/audio", json=changes)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def square_onsets(times: list[float], shown: list[bool]) -> list[float]:
    """The time of each first frame showing the square."""
    return [t for t, now, before in zip(times[1:], shown[1:], shown, strict=False)
            if now and not before]


def beeps(sound: np.ndarray, start: float) -> list[float]:
    """Where bg.mp4's beeps start: well above its quiet tone, whatever the normaliser's
    gain (measured on the loud half of the sound)."""
    loudest = float(np.percentile(np.abs(sound).max(axis=1), 99.9))
    return onsets(sound, start, 0.3 * loudest)


def assert_in_sync(squares: list[float], beep_times: list[float], least: int,
                   pictures: tuple[float, float]) -> None:
    """Every beep heard while there were pictures (`pictures`: the first and last frame's
    time), from STARTED on, starts within one frame of a square's first frame, and the other
    way. (In a stream's first second a square was seen 130-165 ms after its beep while the
    outputs started; the player sees that second since it starts at the first keyframe.)"""
    first = max(pictures[0], STARTED)
    beep_times = [b for b in beep_times if first + FRAME < b < pictures[1] - FRAME]
    assert len(beep_times) >= least and beep_times[-1] - beep_times[0] >= 29, beep_times
    offsets = [min(squares, key=lambda s, b=b: abs(s - b)) - b for b in beep_times]
    assert max(abs(offset) for offset in offsets) <= FRAME, [round(o, 3) for o in offsets]
    print(f"{len(offsets)} beeps, square minus beep {min(offsets) * 1000:.1f} to "
          f"{max(offsets) * 1000:.1f} ms")
    # Between the first and the last beep counted, every square has its beep (at the edges a
    # square may come before any sound was heard, or after the recording's sound ended).
    inside = [s for s in squares if beep_times[0] - 0.5 < s < beep_times[-1] + 0.5]
    unmatched = [s for s in inside if min(abs(s - b) for b in beep_times) > FRAME]
    assert unmatched == [], unmatched


def test_a_clips_sound_stays_on_its_picture_across_loops_and_a_pause(
        client: FlaskClient, render_workers, nginx_rtmp, player, settings,
        media_assets: Path) -> None:
    shutil.copy(media_assets / "bg.mp4", settings.media_root / "bg.mp4")
    layer = video_layer(client, "bg.mp4")
    viewer = go_live(client, render_workers, nginx_rtmp, player, measure=square_shown)
    began = time.monotonic()
    playback = f"/stream/layers/{layer['id']}/playback"
    # 34 s of program (judged from STARTED on: at least 30 s of beeps): the 10 s clip loops
    # three times, and pauses for 2 s in between.
    wait_until(lambda: time.monotonic() - began > 14.3, 20, "14 s on air")
    assert client.post(playback, json={"action": "pause"}).status_code == 200
    wait_until(lambda: time.monotonic() - began > 16.3, 5, "a 2 s pause")
    assert client.post(playback, json={"action": "play"}).status_code == 200
    frames = viewer.wait_for_frames(34 * FPS, timeout=55)
    viewer.close()
    recorded = stop_and_read(client, settings, measure=square_shown)

    # Pulled back from nginx-rtmp.
    pulled = [frame for frame in frames if frame.pts is not None]
    squares = square_onsets([f.pts or 0.0 for f in pulled], [bool(f.measured) for f in pulled])
    sound, start = placed([(record.pts, record.samples) for record in viewer.audio
                           if record.pts is not None])
    assert_in_sync(squares, beeps(sound, start), least=29,
                   pictures=(pulled[0].pts or 0.0, pulled[-1].pts or 0.0))
    # And in the recording.
    times, shown = zip(*recorded.video_measured, strict=True)
    squares = square_onsets(list(times), list(shown))
    assert_in_sync(squares, beeps(recorded.sound, recorded.sound_start), least=29,
                   pictures=(times[0], times[-1]))
    assert_continuous(recorded)


def test_the_bed_plays_at_the_target_loudness_under_a_true_peak_ceiling(
        client: FlaskClient, render_workers, nginx_rtmp, player, settings,
        media_assets: Path) -> None:
    shutil.copy(media_assets / "bed.m4a", settings.media_root / "bed.m4a")
    patch_audio(client, bed={"playlist": ["bed.m4a"], "volume": 1.0},
                loudness={"enabled": True, "targetLufs": -14, "truePeakDb": -1.0})
    add_layer(client, name="backdrop", type="color", content={"color": "#202020"})
    go_live(client, render_workers, nginx_rtmp, player)
    began = time.monotonic()
    wait_until(lambda: time.monotonic() - began > 11, 20, "11 s of the bed")
    levels = client.get("/stream/audio").get_json()["levels"]
    assert levels["bed"]["track"] == "bed.m4a" and levels["bed"]["state"] == "playing"
    recorded = stop_and_read(client, settings)
    assert_continuous(recorded)
    measured = ffmpeg_ebur128(recorded.sound)
    assert measured["I"] == pytest.approx(-14, abs=1.0)
    assert measured["true_peak"] <= -1.0 + 0.5
    # The meter agrees with the independent one (the bed is steady noise: any 3 s will do).
    assert levels["program"]["shortTermLufs"] == pytest.approx(measured["S"], abs=1.0)

    # Without normalisation the bed keeps its own loudness.
    patch_audio(client, loudness={"enabled": False})
    assert client.post("/stream/start").status_code == 200
    began = time.monotonic()
    wait_until(lambda: time.monotonic() - began > 6, 15, "6 s of the bed")
    recorded = stop_and_read(client, settings)
    assert_continuous(recorded)
    assert ffmpeg_ebur128(recorded.sound)["I"] == pytest.approx(-33, abs=1.5)


def test_a_muted_layer_is_silent_and_a_hidden_one_fades_out_without_a_click(
        client: FlaskClient, render_workers, nginx_rtmp, player, settings,
        tmp_path: Path) -> None:
    write_tone_clip(settings.media_root / "tone.mp4", seconds=4)
    layer = video_layer(client, "tone.mp4")
    url = f"/stream/layers/{layer['id']}"
    viewer = go_live(client, render_workers, nginx_rtmp, player)
    wait_until(lambda: (client.get("/stream/audio").get_json()["levels"] or {})
               .get("layers", {}).get(layer["id"], {}).get("peakDb", -120) > -20, 15,
               "the tone on air")
    # A second of steady tone to compare the cut with: a second of stream seen after it.
    viewer.wait_for_frames(30, timeout=5, since=time.monotonic())
    assert client.post(f"{url}/visibility", json={"visible": False}).status_code == 200
    wait_until(lambda: client.get("/stream/audio").get_json()["levels"]["layers"][layer["id"]]
               ["peakDb"] <= -120, 5, "the hidden layer silent")
    assert client.post(f"{url}/visibility", json={"visible": True}).status_code == 200
    assert client.patch(url, json={"content": {"muted": True}}).status_code == 200
    muted_at = time.monotonic()
    wait_until(lambda: time.monotonic() - muted_at > 3, 5, "3 s muted")
    recorded = stop_and_read(client, settings)
    assert_continuous(recorded)

    sound = recorded.sound[:, 0]
    loud = np.abs(sound) > 0.05
    # The cut: the last loud sample before the first silence longer than 100 ms.
    heard = np.flatnonzero(loud)
    gaps = np.flatnonzero(np.diff(heard) > 4800)
    cut = int(heard[gaps[0]] if len(gaps) else heard[-1])
    assert cut > 48_000, "less than a second of tone before the layer was hidden"
    steady = sound[cut - 48_000:cut - 4800]
    amplitude = float(np.abs(steady).max())
    # A 1 kHz sine steps by at most 2 pi 1000 / 48000 of its amplitude a sample; a 20 ms fade
    # adds amplitude / 960. A cut would step by up to the whole amplitude.
    allowed = amplitude * (2 * np.pi * 1000 / 48_000 + 1 / 960) * 1.25
    around = sound[cut - 2400:cut + 2400]
    assert float(np.abs(np.diff(around)).max()) <= allowed
    # Muted: silent, the last second and a half before the stop.
    assert dbfs(recorded.sound[-72_000:]) < -70


def test_the_sound_track_has_no_gap_across_an_input_that_dies_and_returns(
        client: FlaskClient, render_workers, nginx_rtmp, player, settings,
        tmp_path: Path) -> None:
    camera = Publisher(nginx_rtmp.url("camera"), tmp_path / "camera.log", beep=True).start()
    try:
        layer = add_layer(client, name="camera", type="input",
                          content={"url": nginx_rtmp.url("camera"), "fallback": "last"},
                          transform={"x": 0, "y": 0, "width": 320, "height": 180})
        go_live(client, render_workers, nginx_rtmp, player)

        def input_state() -> str:
            return str(client.get(f"/stream/layers/{layer['id']}").get_json()["input"]["state"])

        # (The levels are a snapshot of one frame a second, as often as the beeps: the input's
        # state says when it is on air; the recording says what was heard.)
        wait_until(lambda: input_state() == "live", 15, "the camera on air")
        on_air = time.monotonic()
        wait_until(lambda: time.monotonic() - on_air > 2.5, 5, "two beeps")
        camera.kill()
        wait_until(lambda: input_state() == "lost", 8, "the input lost")
        camera = Publisher(nginx_rtmp.url("camera"), tmp_path / "again.log", beep=True).start()
        wait_until(lambda: input_state() == "live", 15, "the camera back on air")
        back = time.monotonic()
        wait_until(lambda: time.monotonic() - back > 2.5, 5, "two beeps")
    finally:
        camera.stop()
    recorded = stop_and_read(client, settings)
    assert_continuous(recorded)
    # The beeps (one a second) were heard before the loss and after the return, with the
    # silence of the loss between them.
    heard = onsets(recorded.sound, recorded.sound_start, 0.05)
    assert max(np.diff(heard), default=0) > 1.5, heard
