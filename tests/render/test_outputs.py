"""Outputs against a real nginx-rtmp, pulled back and decoded by a real player."""

from __future__ import annotations

import logging
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import av
import pytest

from core.outputs import OutputTarget, public_name
from render.backoff import Backoff
from render.outputs import Destination
from tests.render.conftest import FPS, HEIGHT, RED_BGR, WIDTH
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import Player
from tests.support.processes import free_port, wait_until

KEY = "secretkey123"


def rtmp(url: str, name: str | None = None) -> OutputTarget:
    """The target of one RTMP URL (key included), named as the store names it by default."""
    return OutputTarget(id=secrets.token_hex(6), name=name or public_name(url), kind="rtmp",
                        address=url)


def rtmp_target(server: NginxRtmp, key: str = KEY) -> OutputTarget:
    """The target of one RTMP URL of `server`."""
    return rtmp(server.url(key))


def wait_for_state(destination: Destination, state: str, timeout: float) -> None:
    """Poll the destination's state until it is `state`."""
    wait_until(lambda: destination.status()["state"] == state, timeout,
               f"{destination.name} {state} (status {destination.status()})")


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never reads or answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_stream_plays_back_as_configured(nginx_rtmp: NginxRtmp, destination, feeder,
                                         player: Callable[[str], Player]) -> None:
    output = destination(rtmp_target(nginx_rtmp))
    feeder([output])
    wait_for_state(output, "live", 10)
    viewer = player(nginx_rtmp.url(KEY))
    frames = viewer.wait_for_frames(4 * FPS + 1, timeout=15)

    assert viewer.info is not None
    assert (viewer.info.video_codec, viewer.info.width, viewer.info.height) == (
        "h264", WIDTH, HEIGHT)
    assert viewer.info.fps == pytest.approx(FPS)
    assert (viewer.info.audio_codec, viewer.info.audio_rate, viewer.info.audio_channels) == (
        "aac", 48_000, 2)
    wait_until(lambda: viewer.audio_frames > 50, 5, "decoded audio")
    keyframes = [frame.pts for frame in frames if frame.keyframe]
    assert len(keyframes) >= 2
    gaps = [b - a for a, b in zip(keyframes, keyframes[1:], strict=False)]
    assert gaps == pytest.approx([2.0] * len(gaps), abs=0.01)
    assert viewer.pixel(WIDTH // 2, HEIGHT // 2) == pytest.approx(RED_BGR, abs=12)
    status = output.status()
    assert status["packets_sent"] > 4 * FPS and status["bytes_sent"] > 10_000


def test_reconnects_after_the_ingest_restarts(nginx_rtmp: NginxRtmp, destination, feeder,
                                              player: Callable[[str], Player]) -> None:
    output = destination(rtmp_target(nginx_rtmp))
    feeding = feeder([output])
    wait_for_state(output, "live", 10)

    nginx_rtmp.kill()
    wait_for_state(output, "reconnecting", 5)
    time.sleep(5)  # the outage itself, as the scenario specifies: not a wait for readiness
    nginx_rtmp.start()
    wait_for_state(output, "live", 20)

    back = time.monotonic()
    viewer = player(nginx_rtmp.url(KEY))
    viewer.wait_for_frames(FPS, timeout=15, since=back)
    assert viewer.pixel(10, 10) == pytest.approx(RED_BGR, abs=12)
    assert output.status()["reconnects"] >= 1
    assert feeding.slowest_send < 0.01


def test_a_frozen_ingest_never_blocks_send(nginx_rtmp: NginxRtmp, destination, feeder,
                                           player: Callable[[str], Player]) -> None:
    output = destination(rtmp_target(nginx_rtmp), stall_timeout=2.0)
    # A high constant bitrate (x264 pads with filler) fills the socket buffers within the
    # freeze, so the watchdog sees the stall; at low rates only the thaw reveals it.
    feeding = feeder([output], bitrate=6_000_000)
    wait_for_state(output, "live", 10)

    nginx_rtmp.freeze()
    frozen = time.monotonic()
    # Writes keep succeeding until the kernel's socket buffers are full (3.7 s at 6 Mbps when
    # the machine is idle, longer when a loaded CI machine feeds slower: see
    # docs/field-notes.md), then the 2 s stall timeout fires.
    wait_until(lambda: feeding.saw(output, "reconnecting"), 25, "the watchdog's restart")
    assert "no progress" in output.status()["error"]
    wait_until(lambda: time.monotonic() - frozen > 10, 10, "ten seconds frozen")
    nginx_rtmp.thaw()
    wait_for_state(output, "live", 20)

    back = time.monotonic()
    viewer = player(nginx_rtmp.url(KEY))
    viewer.wait_for_frames(FPS, timeout=15, since=back)
    assert feeding.slowest_send < 0.01, f"send() took {feeding.slowest_send * 1000:.1f} ms"


def test_a_silent_ingest_does_not_stall_the_others(nginx_rtmp: NginxRtmp, silent_port: int,
                                                   destination, feeder,
                                                   player: Callable[[str], Player]) -> None:
    silent_url = f"rtmp://127.0.0.1:{silent_port}/live/{KEY}"
    stuck_target, good_target = rtmp(silent_url), rtmp(nginx_rtmp.url(KEY))
    stuck = destination(stuck_target, connect_timeout=2.0)
    good = destination(good_target)
    feeding = feeder([stuck, good])
    wait_for_state(good, "live", 10)
    viewer = player(nginx_rtmp.url(KEY))
    viewer.wait_for_frames(1, timeout=10)

    watched = time.monotonic()
    wait_for_state(stuck, "reconnecting", 10)
    assert "no answer" in stuck.status()["error"]
    assert feeding.states[stuck.name][:2] == ["connecting", "reconnecting"]
    wait_until(lambda: time.monotonic() - watched > 3, 5, "three more seconds")
    arrivals = [frame.arrival for frame in viewer.frames_since(watched)]
    assert len(arrivals) >= 2 * FPS
    assert max(b - a for a, b in zip(arrivals, arrivals[1:], strict=False)) < 0.5
    assert good.status()["state"] == "live"
    assert feeding.slowest_send < 0.01


def test_recording_is_a_complete_matroska_file(tmp_path: Path, destination, feeder) -> None:
    target = OutputTarget(id="rec", name="stream", kind="record",
                          address=str(tmp_path / "recordings"))
    recording = destination(target)
    feeding = feeder([recording])
    wait_for_state(recording, "live", 10)
    # Packets of both tracks: about FPS video and 47 audio packets a second.
    wait_until(lambda: recording.status()["packets_sent"] > 3 * (FPS + 47), 10, "3 s recorded")
    feeding.stop()
    recording.close()

    (path,) = (tmp_path / "recordings").glob("stream-*.mkv")
    assert recording.status() | {"file": str(path), "state": "stopped"} == recording.status()
    with av.open(str(path)) as container:
        assert container.duration is not None and container.duration / 1e6 > 2.5
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, audio.codec_context.name) == ("h264", "aac")
        assert (audio.codec_context.sample_rate, audio.codec_context.channels) == (48_000, 2)
        decoded = {"video": 0, "audio": 0}
        for packet in container.demux(video, audio):
            decoded[packet.stream.type] += len(packet.decode())
    assert decoded["video"] >= 3 * FPS and decoded["audio"] >= 3 * 46


def test_the_stream_key_never_leaks(nginx_rtmp: NginxRtmp, destination, feeder,
                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    refused_port = free_port()  # connection refused: FFmpeg's error names the full URL
    urls = (f"rtmp://user:hunter2@127.0.0.1:{refused_port}/live/{KEY}?token={KEY}",
            f"rtmp://127.0.0.1:{refused_port}/live/{KEY}", nginx_rtmp.url(KEY))
    targets = [rtmp(urls[0]), rtmp(urls[1], f"{public_name(urls[1])}#2"), rtmp(urls[2])]
    assert [t.name for t in targets] == [f"rtmp://127.0.0.1:{refused_port}/live",
                                         f"rtmp://127.0.0.1:{refused_port}/live#2",
                                         f"rtmp://127.0.0.1:{nginx_rtmp.port}/live"]
    outputs = [destination(target) for target in targets]
    feeder(outputs)
    for output in outputs[:2]:
        wait_until(lambda o=output: o.status()["reconnects"] >= 2, 15, "two failed attempts")
    wait_for_state(outputs[2], "live", 10)
    outputs[2].close()

    seen = " ".join([repr(targets), *(str(o.status()) for o in outputs), caplog.text])
    assert "Connection refused" in seen and "stopped" in seen
    assert KEY not in seen and "hunter2" not in seen


def test_an_ingest_that_keeps_refusing_reads_failed_and_is_still_retried(
        destination, feeder) -> None:
    refused = rtmp(f"rtmp://127.0.0.1:{free_port()}/live/{KEY}")
    output = destination(refused, backoff=Backoff(base=0.05, cap=0.2), failed_after=3)
    feeder([output])
    wait_until(lambda: output.status()["state"] == "reconnecting", 10, "a first failure")
    wait_until(lambda: output.status()["state"] == "failed", 15, "three failures in a row")
    reconnects = output.status()["reconnects"]
    wait_until(lambda: output.status()["reconnects"] > reconnects, 10, "still retrying")
    assert output.status()["state"] == "failed"
