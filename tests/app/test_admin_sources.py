"""The admin page's sources (issue 14) in a real browser: video and input layers made in the
layer form, a video's playback controls with its position moving, an input's state on its row,
uploads with a progress bar, and a poster for each video.

Debian's chromium driven by Playwright against the whole system as `make run` starts it, with
an API token (posters and uploads must send it as every call does), a real nginx-rtmp and a
test camera publishing to it (tests.support.publisher). Screenshots go to
test-output/admin-page/sources-*.png."""

from __future__ import annotations

import json
import re
import secrets
import wave
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, Locator, Page, expect

from tests.app.test_admin_page import Console, shot
from tests.support.clips import write_clip
from tests.support.nginx_rtmp import NginxRtmp
from tests.support.processes import free_port, wait_until
from tests.support.publisher import Publisher
from tests.support.stack import QUICK, Stack

pytestmark = pytest.mark.system

TOKEN = "sources-page-token-0123456789"
CLIP_SECONDS = 4


def write_tone(path: Path, seconds: float) -> None:
    """A 440 Hz tone, 48 kHz 16-bit stereo WAV: about 190 KB a second, uncompressed."""
    samples = np.arange(int(48_000 * seconds)) / 48_000
    tone = (0.2 * 32767 * np.sin(2 * np.pi * 440 * samples)).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(48_000)
        out.writeframes(np.repeat(tone, 2).tobytes())


class Api:
    """The API with the token, as a test script calls it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        answer.raise_for_status()
        return None if answer.status_code == 204 else answer.json()

    def layer(self, layer_id: str) -> dict[str, Any]:
        return self.call("GET", f"/stream/layers/{layer_id}")

    def upload(self, path: Path) -> None:
        with path.open("rb") as file:
            self.call("POST", "/media", files={"file": (path.name, file)})


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system with an API token, reading layers twice a second."""
    running = Stack(tmp_path_factory.mktemp("sources") / "data",
                    env={**QUICK, "API_TOKEN": TOKEN}).start()
    yield running
    running.stop_in_background()


@pytest.fixture(scope="module")
def api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Api:
    """The API, with a clip, a slate image and a sound in the library."""
    client = Api(stack.url)
    folder = tmp_path_factory.mktemp("library")
    write_clip(folder / "clip.mp4", fps=25, seconds=CLIP_SECONDS)
    Image.new("RGB", (320, 180), (200, 0, 200)).save(folder / "slate.png")
    write_tone(folder / "tone.wav", 2)
    for name in ("clip.mp4", "slate.png", "tone.wav"):
        client.upload(folder / name)
    return client


@pytest.fixture
def page(browser: Browser, stack: Stack) -> Iterator[Page]:
    """The admin page in a tab that has the token already (as after the token dialog)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(
        f"try {{ sessionStorage.setItem('stream-manager-token', {json.dumps(TOKEN)}); }}"
        " catch {}")  # about:blank has no storage
    opened = context.new_page()
    opened.goto(stack.url)
    expect(opened.locator("#status-state")).not_to_have_text("loading…")
    yield opened
    context.close()


def layer_row(page: Page, name: str) -> Locator:
    """The Layers panel's row of the layer called `name`."""
    return page.locator("#layer-list li").filter(
        has=page.locator(".name", has_text=re.compile(f"^{re.escape(name)}$")))


def options(select: Locator) -> list[str]:
    return select.locator("option").evaluate_all("(nodes) => nodes.map((node) => node.value)")


def test_the_form_offers_each_media_field_its_kind_and_adds_video_and_input_layers(
        api: Api, page: Page) -> None:
    console = Console(page)
    library = api.call("GET", "/media")
    assert {item["name"]: item["kind"] for item in library} == {
        "clip.mp4": "video", "slate.png": "image", "tone.wav": "audio"}
    types = {entry["type"]: entry for entry in api.call("GET", "/stream/layer-types")}
    form = page.locator("#layer-form")
    type_select = form.get_by_label("Type")
    expect(type_select).to_be_enabled()

    # Every media field of every type offers the library's files of its kind, and only those.
    for layer_type in types.values():
        type_select.select_option(layer_type["type"])
        for field in layer_type["fields"]:
            if field["kind"] != "media" or "choices" in field:
                continue
            wanted = sorted(item["name"] for item in library
                            if item["kind"] == field.get("accept", "image"))
            offered = options(form.locator(f"[name='content.{field['name']}']"))
            assert sorted(name for name in offered if name) == wanted, (
                layer_type["type"], field["name"])

    # A video layer: the clip chosen from the library.
    type_select.select_option("video")
    form.get_by_label("Name").fill("Form clip")
    form.get_by_label("Video", exact=True).select_option("clip.mp4")
    form.get_by_label("Loop").uncheck()
    form.get_by_role("button", name="Add layer").click()
    expect(layer_row(page, "Form clip")).to_have_count(1)
    clip = next(layer for layer in api.call("GET", "/stream/layers")
                if layer["name"] == "Form clip")
    assert (clip["type"], clip["content"]["source"], clip["content"]["loop"]) == (
        "video", "clip.mp4", False)

    # An input layer: a pasted URL, the slate fallback and its image. The slate is asked for
    # only with that fallback.
    key = f"key-{secrets.token_hex(8)}"
    type_select.select_option("input")
    slate = form.get_by_label("Slate", exact=True)
    fallback = form.get_by_label("Fallback")
    fallback.select_option("last")
    expect(slate).to_be_hidden()
    fallback.select_option("slate")
    expect(slate).to_be_visible()
    form.get_by_label("Name").fill("Form camera")
    form.get_by_label("URL").fill(f"rtmp://127.0.0.1:{free_port()}/live/{key}")
    slate.select_option("slate.png")
    form.get_by_role("button", name="Add layer").click()
    expect(layer_row(page, "Form camera")).to_have_count(1)
    camera = next(layer for layer in api.call("GET", "/stream/layers")
                  if layer["name"] == "Form camera")
    assert (camera["content"]["fallback"], camera["content"]["slate"]) == ("slate", "slate.png")
    assert key not in camera["content"]["url"]  # masked in reads
    shot(page, "sources-01-form")

    # Editing it shows the masked URL; saving it unchanged keeps the real one (the fallback
    # changed to "hide": the slate goes, sent as null).
    page.get_by_role("button", name="Edit Form camera").click()
    expect(form.get_by_label("URL")).to_have_value(camera["content"]["url"])
    fallback.select_option("hide")
    form.get_by_role("button", name="Save changes").click()
    wait_until(lambda: api.layer(camera["id"])["content"]["fallback"] == "hide", 10,
               "the fallback saved")
    assert api.layer(camera["id"])["content"]["slate"] is None
    assert api.layer(camera["id"])["content"]["url"] == camera["content"]["url"]

    for layer in (clip, camera):
        api.call("DELETE", f"/stream/layers/{layer['id']}")
    assert console.errors == []


def shown_position(row: Locator) -> float:
    """The position a video row shows ("1:02.3 / 4:00.0" → 62.3)."""
    text = (row.locator(".position").text_content() or "").split("/")[0].strip()
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def api_position(layer: dict[str, Any], now_ms: float) -> float:
    """Where the API says the video is at `now_ms`, within its duration."""
    playback = layer["playback"]
    at = float(playback["position"])
    if playback["state"] == "playing":
        at += max(0.0, now_ms - playback["since"]) / 1000
    duration = playback["duration"]
    return at % duration if layer["content"]["loop"] else min(at, duration)


def test_a_video_row_plays_pauses_seeks_and_restarts_with_its_position_moving(
        api: Api, page: Page) -> None:
    console = Console(page)
    clip = api.call("POST", "/stream/layers", json={
        "name": "Clip", "type": "video", "content": {"source": "clip.mp4", "loop": True}})
    row = layer_row(page, "Clip")
    expect(row.locator(".playback-state")).to_have_text("playing", timeout=15_000)
    expect(row.locator(".position")).to_have_text(re.compile(r" / 0:0[34]\.\d$"))
    duration = api.layer(clip["id"])["playback"]["duration"]

    # Playing: the position moves, agrees with the API's, and wraps at the loop point.
    first = shown_position(row)
    wait_until(lambda: shown_position(row) != first, 5, "the shown position to move")
    now_ms = datetime.now().timestamp() * 1000
    expected = api_position(api.layer(clip["id"]), now_ms)
    apart = abs(shown_position(row) - expected)
    assert min(apart, duration - apart) < 0.5
    seen = [shown_position(row)]

    def wrapped() -> bool:
        seen.append(shown_position(row))
        return seen[-1] < seen[-2]

    wait_until(wrapped, duration + 3, "the position to wrap at the loop point", 0.1)
    assert all(0 <= position <= duration for position in seen)
    shot(page, "sources-02-video-playing")

    # Pause: the API says paused, and the row shows its position, which stands still.
    expect(row.get_by_role("button", name="Play Clip")).to_be_disabled()
    row.get_by_role("button", name="Pause Clip").click()
    expect(row.locator(".playback-state")).to_have_text("paused")
    paused = api.layer(clip["id"])["playback"]
    assert paused["state"] == "paused"
    assert abs(shown_position(row) - paused["position"]) < 0.1
    still = row.locator(".position").text_content()
    page.wait_for_timeout(1000)  # a second in which nothing may move
    expect(row.locator(".position")).to_have_text(still or "")

    # Seek: the field takes seconds; Enter or the button sends them.
    row.get_by_label("Seek Clip to (seconds)").fill("2.5")
    row.get_by_role("button", name="Seek Clip", exact=True).click()
    expect(row.locator(".position")).to_contain_text("0:02.5 /")
    assert abs(api.layer(clip["id"])["playback"]["position"] - 2.5) < 0.05
    shot(page, "sources-03-video-seeked")

    # Play goes on from there; Restart goes back to the start.
    row.get_by_role("button", name="Play Clip").click()
    expect(row.locator(".playback-state")).to_have_text("playing")
    wait_until(lambda: shown_position(row) > 2.6, 5, "playing on from 2.5 s")
    row.get_by_label("Seek Clip to (seconds)").fill("3.5")
    row.get_by_label("Seek Clip to (seconds)").press("Enter")
    wait_until(lambda: api.layer(clip["id"])["playback"]["position"] >= 3.5, 5, "seek by Enter")
    row.get_by_role("button", name="Restart Clip").click()
    wait_until(lambda: shown_position(row) < 1.0, 5, "the position back at the start")
    assert api.layer(clip["id"])["playback"]["state"] == "playing"

    # A seek the API refuses: its message, naming the field, above the list.
    row.get_by_label("Seek Clip to (seconds)").fill("-3")
    row.get_by_role("button", name="Seek Clip", exact=True).click()
    expect(page.locator("#layers-error")).to_contain_text("position")

    # Every control of the row has a name a screen reader says.
    unlabelled = row.evaluate("""(node) => Array.from(node.querySelectorAll("button, input"))
        .filter((control) => !control.getAttribute("aria-label") && !(control.labels || []).length)
        .map((control) => control.outerHTML.slice(0, 80))""")
    assert unlabelled == []
    # And it fits a phone: the controls wrap, the page does not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "sources-03b-video-phone")
    api.call("DELETE", f"/stream/layers/{clip['id']}")
    assert [error for error in console.errors if "status of 400" not in error] == []


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[NginxRtmp]:
    """A real nginx-rtmp ingest for the publisher and the input layer."""
    server = NginxRtmp(tmp_path / "nginx").start()
    yield server
    server.stop()


def test_an_input_row_shows_live_then_lost_since_when_and_its_error(
        api: Api, page: Page, ingest: NginxRtmp, tmp_path: Path) -> None:
    console = Console(page)
    key = f"camera-{secrets.token_hex(8)}"
    push = Publisher(ingest.url(key), tmp_path / "publisher.log", fps=25).start()
    try:
        camera = api.call("POST", "/stream/layers", json={
            "name": "Camera", "type": "input",
            "content": {"url": ingest.url(key), "fallback": "slate", "slate": "slate.png"}})
        row = layer_row(page, "Camera")
        state = row.locator(".input-state")
        expect(state).to_have_text("live", timeout=20_000)
        expect(row.locator(".input-details")).to_have_text("320×180 · 25 fps · h264 · audio")
        shot(page, "sources-04-input-live")

        # The publisher dies: the row says lost, since the instant the API gives.
        push.kill()
        expect(state).to_have_text(re.compile(r"^lost since \d\d:\d\d:\d\d$"), timeout=10_000)
        lost_since = api.layer(camera["id"])["input"]["lostSince"]
        expect(state).to_have_text(
            f"lost since {datetime.fromtimestamp(lost_since / 1000):%H:%M:%S}")
        shot(page, "sources-05-input-lost")
        # Back by itself when the publisher is.
        push = Publisher(ingest.url(key), tmp_path / "publisher.log", fps=25).start()
        expect(state).to_have_text("live", timeout=20_000)
    finally:
        push.stop()
    assert key not in page.content()  # the key is masked in every read the page shows

    # Nothing listens there: the row shows the input's error.
    refused = api.call("POST", "/stream/layers", json={
        "name": "Nowhere", "type": "input",
        "content": {"url": f"rtmp://127.0.0.1:{free_port()}/live/x"}})
    problem = layer_row(page, "Nowhere").locator(".problem:visible")
    expect(problem.first).not_to_be_empty(timeout=20_000)
    read = api.layer(refused["id"])
    assert problem.first.text_content() in (read["input"]["error"], read["error"])
    shot(page, "sources-06-input-error")
    for layer in (camera, refused):
        api.call("DELETE", f"/stream/layers/{layer['id']}")
    assert console.errors == []


def test_uploads_show_their_progress_and_each_video_its_poster(
        api: Api, page: Page, tmp_path: Path) -> None:
    console = Console(page)
    # The posters of the library's videos: fetched with the token, shown from a Blob.
    poster = page.locator("#media-list li", has_text="clip.mp4").locator("img.poster")
    expect(poster).to_have_attribute("src", re.compile("^blob:"))
    wait_until(lambda: poster.evaluate("(image) => image.complete && image.naturalWidth > 0"),
               10, "the poster decoded")
    assert page.locator("#media-list li", has_text="slate.png").locator("img").count() == 0
    expect(page.locator("#media-list li", has_text="tone.wav")).to_contain_text("0:02.0")

    # A 12 MB sound over an upload throttled to 3 MB/s: the bar moves through the upload and
    # goes when the file is in the library.
    sound = tmp_path / "long tone.wav"
    write_tone(sound, 60)
    network = page.context.new_cdp_session(page)
    network.send("Network.enable")
    network.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 3e6})
    page.evaluate("""() => {
        const bar = document.getElementById("media-progress");
        window.progressSeen = [];
        new MutationObserver(() => window.progressSeen.push(bar.value / bar.max))
            .observe(bar, { attributes: true, attributeFilter: ["value"] });
    }""")
    page.get_by_label("Media file").set_input_files(str(sound))
    page.locator("#media-form").get_by_role("button", name="Upload").click()
    expect(page.locator("#media-upload")).to_be_visible()
    expect(page.locator("#media-progress-text")).to_contain_text("Uploading long tone.wav")
    shot(page, "sources-07-uploading")
    expect(page.locator("#media-list")).to_contain_text("long tone.wav", timeout=30_000)
    expect(page.locator("#media-upload")).to_be_hidden()
    seen = page.evaluate("window.progressSeen")
    assert sum(0 < part < 1 for part in seen) >= 3, seen
    assert seen == sorted(seen) and seen[-1] == 1
    network.send("Network.emulateNetworkConditions", {
        "offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})

    # A video uploaded from the page gets its poster too.
    clip = tmp_path / "second clip.mp4"
    write_clip(clip, fps=25, seconds=1)
    page.get_by_label("Media file").set_input_files(str(clip))
    page.locator("#media-form").get_by_role("button", name="Upload").click()
    uploaded = page.locator("#media-list li", has_text="second clip.mp4")
    expect(uploaded).to_contain_text("320×180")
    wait_until(lambda: uploaded.locator("img.poster").evaluate(
        "(image) => image.complete && image.naturalWidth > 0"), 10, "the new clip's poster")

    # Text renamed .mp4: refused, the message naming the file.
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video at all\n" * 100)
    page.get_by_label("Media file").set_input_files(str(fake))
    page.locator("#media-form").get_by_role("button", name="Upload").click()
    beside = page.locator("#media-form .field-error")
    expect(beside).to_contain_text("notes.mp4")
    expect(page.get_by_label("Media file")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#media-list")).not_to_contain_text("notes.mp4")
    shot(page, "sources-08-library")
    # The 400 for the text file was the point.
    assert [error for error in console.errors if "status of 400" not in error] == []
