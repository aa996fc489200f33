"""The render worker's Prometheus metrics, scraped from real `python -m render` processes
streaming to a real nginx-rtmp: figures move while it streams, outputs report their state,
bytes and reconnects, and the standby says it is not active."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support.metrics import Scrape, scrape
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.processes import wait_until

SIZE = {"OUTPUT_WIDTH": "320", "OUTPUT_HEIGHT": "180", "RENDER_FPS": "30", "RECORD": "off"}


def _with_channel(found: Scrape) -> Scrape | None:
    return found if found.has("stream_manager_render_target_fps") else None


def test_render_metrics_move_while_streaming(client: FlaskClient, render_workers,
                                             nginx_rtmp: NginxRtmp) -> None:
    assert client.post("/stream/layers", json={
        "type": "text", "content": {"text": "metrics"}}).status_code == 201
    active = render_workers.start(RTMP_URL=nginx_rtmp.url("key123"), **SIZE)
    url = render_workers.metrics_url(active)
    # The node serves its channel process's metrics once that process named its port.
    idle = wait_until(lambda: _with_channel(scrape(url)), 20, "the channel's render metrics")
    assert idle.total("stream_manager_render_streaming") == 0
    assert idle.total("stream_manager_render_target_fps") == 30
    assert idle.families["stream_manager_render_frame_seconds"] == "histogram"

    assert client.post("/stream/start").status_code == 200
    output = f"rtmp://127.0.0.1:{nginx_rtmp.port}/live"
    wait_until(lambda: scrape(url).total("stream_manager_render_output_state", output=output,
                                         state="live") == 1, 20, "the output to go live")
    first = scrape(url)
    wait_until(lambda: scrape(url).total("stream_manager_render_frames_total")
               >= first.total("stream_manager_render_frames_total") + 60, 10, "60 more frames")
    now = scrape(url)
    assert now.total("stream_manager_render_active") == 1
    assert now.total("stream_manager_render_streaming") == 1
    assert 25 <= now.total("stream_manager_render_fps") <= 32
    assert now.total("stream_manager_render_frame_seconds_count") >= 60
    assert now.total("stream_manager_render_output_sent_bytes_total", output=output) \
        > first.total("stream_manager_render_output_sent_bytes_total", output=output) > 0
    assert now.labels("stream_manager_render_dropped_frames_total", "reason") == {
        "late", "repeated"}
    assert now.total("stream_manager_render_encoder_queue_packets", output=output) >= 0
    assert now.total("stream_manager_render_layer_raster_seconds_count", type="text") >= 1
    assert len(now.labels("stream_manager_render_layer_last_raster_seconds", "layer")) == 1
    assert "key123" not in str(now.samples)  # output names never carry the stream key

    # A restart of the ingest is a reconnect.
    nginx_rtmp.kill()
    nginx_rtmp.start()
    wait_until(lambda: scrape(url).total("stream_manager_render_output_reconnects_total",
                                         output=output) >= 1, 30, "a counted reconnect")
    wait_until(lambda: scrape(url).total("stream_manager_render_output_state", output=output,
                                         state="live") == 1, 30, "the output to be live again")


def test_a_standby_reports_itself_inactive(client: FlaskClient, render_workers) -> None:
    first = render_workers.start(**SIZE)
    wait_until(lambda: scrape(render_workers.metrics_url(first))
               .total("stream_manager_render_active") == 1, 20, "the first to hold the lease")
    second = render_workers.start(**SIZE)
    standby = wait_until(lambda: _with_channel(scrape(render_workers.metrics_url(second))), 20,
                         "the standby's metrics")
    assert standby.total("stream_manager_render_active") == 0
    assert standby.total("stream_manager_render_streaming") == 0
