"""The admin page's audio panel (issue 15) in a real browser: the master and loudness settings
(a bad target refused beside its field), the bed's playlist built from the library with its
settings and transport, a layer's volume slider and mute button, and the meters drawn from
`audioLevels` preview messages.

Debian's chromium driven by Playwright against the whole system as `make run` starts it. The
meters' levels are published through the store (`LiveState.publish_audio_levels`, as the render
worker publishes them) with the render workers stopped, so the bars show exactly what the test
sent; the real preview process relays them. Screenshots go to test-output/admin-page/audio-*."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Locator, Page, expect

from core.config import load_settings
from core.redis_client import connect
from core.store import StateStore
from tests.app.test_admin_page import Console, shot
from tests.app.test_admin_sources import write_tone
from tests.support.clips import write_clip
from tests.support.processes import free_port, wait_until
from tests.support.stack import QUICK, Stack

pytestmark = pytest.mark.system

DEFAULTS = {
    "master": {"volume": 1.0, "muted": False},
    "bed": {"playlist": [], "loop": True, "shuffle": False, "volume": 0.5, "crossfadeMs": 2000,
            "duckDb": 0.0},
    "loudness": {"enabled": True, "targetLufs": -14.0, "truePeakDb": -1.0},
}
# The colours of the meters' zones (style.css).
GREEN = "rgb(47, 191, 113)"
RED = "rgb(255, 77, 77)"


class Api:
    """The API as a test script calls it."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.session.request(method, f"{self.base}{path}", timeout=30, **kwargs)
        answer.raise_for_status()
        return None if answer.status_code == 204 else answer.json()

    def audio(self) -> dict[str, Any]:
        return self.call("GET", "/stream/audio")

    def layer(self, layer_id: str) -> dict[str, Any]:
        return self.call("GET", f"/stream/layers/{layer_id}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system, reading twice a second."""
    running = Stack(tmp_path_factory.mktemp("audio") / "data", env=QUICK).start()
    yield running
    running.stop_in_background()


@pytest.fixture(scope="module")
def api(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Api:
    """The API, with a sound and a clip in the library."""
    client = Api(stack.url)
    folder = tmp_path_factory.mktemp("library")
    write_tone(folder / "tone.wav", 2)
    write_clip(folder / "clip.mp4", fps=25, seconds=1)
    for name in ("tone.wav", "clip.mp4"):
        with (folder / name).open("rb") as file:
            client.call("POST", "/media", files={"file": (name, file)})
    return client


@pytest.fixture
def page(browser: Browser, stack: Stack, api: Api) -> Iterator[Page]:
    """The admin page, with the audio settings at their defaults."""
    api.call("PATCH", "/stream/audio", json=DEFAULTS)
    opened = browser.new_page(viewport={"width": 1280, "height": 900})
    opened.goto(stack.url)
    expect(opened.locator("#status-state")).not_to_have_text("loading…")
    expect(opened.get_by_label("Master volume")).to_have_value("1")
    yield opened
    opened.close()


def field_error(form: Locator, name: str) -> Locator:
    """The API's message beside the control called `name`."""
    return form.locator(".field", has=form.page.locator(f"[name='{name}']")).locator(
        ".field-error")


def next_audio_read(page: Page) -> None:
    """Waits until the page has read the audio settings once more (its polling)."""
    with page.expect_response(lambda answer: answer.url.endswith("/stream/audio")
                              and answer.request.method == "GET"):
        pass


def test_master_and_loudness_settings_are_saved_and_a_bad_target_shown_beside_its_field(
        api: Api, page: Page) -> None:
    console = Console(page)
    # The master volume: sent when the slider is let go, its value shown beside it.
    page.get_by_label("Master volume").fill("2.5")
    wait_until(lambda: api.audio()["master"]["volume"] == 2.5, 10, "the master volume saved")
    expect(page.locator("#a-master .volume-value")).to_have_text("2.50")
    mute = page.get_by_role("button", name="Mute master")
    mute.click()
    wait_until(lambda: api.audio()["master"]["muted"], 10, "the master muted")
    expect(mute).to_have_attribute("aria-pressed", "true")
    mute.click()
    wait_until(lambda: not api.audio()["master"]["muted"], 10, "the master unmuted")
    expect(mute).to_have_attribute("aria-pressed", "false")

    # The loudness form: typed numbers go with Apply.
    form = page.locator("#loudness-form")
    target = form.get_by_label("Target (LUFS)")
    expect(target).to_have_value("-14")
    target.fill("-16")
    form.get_by_label("True-peak ceiling (dBTP)").fill("-2")
    form.get_by_role("button", name="Apply loudness").click()
    wait_until(lambda: api.audio()["loudness"] == {
        "enabled": True, "targetLufs": -16, "truePeakDb": -2}, 10, "the loudness saved")
    version = api.audio()["version"]

    # Out of range: the API's message beside the target; nothing changes, and what the
    # operator typed stays while the page keeps reading.
    target.fill("-40")
    form.get_by_role("button", name="Apply loudness").click()
    expect(field_error(form, "loudness.targetLufs")).to_contain_text(re.compile(r"-31|-5"))
    expect(target).to_have_attribute("aria-invalid", "true")
    shot(page, "audio-01-target-refused")
    assert api.audio()["loudness"]["targetLufs"] == -16
    assert api.audio()["version"] == version
    next_audio_read(page)
    expect(target).to_have_value("-40")
    target.fill("-23")
    form.get_by_role("button", name="Apply loudness").click()
    expect(field_error(form, "loudness.targetLufs")).to_have_count(0)
    wait_until(lambda: api.audio()["loudness"]["targetLufs"] == -23, 10, "the fixed target")

    # The normaliser's switch acts at once.
    page.get_by_label("Normalise loudness").uncheck()
    wait_until(lambda: not api.audio()["loudness"]["enabled"], 10, "normalisation off")
    page.get_by_label("Normalise loudness").check()
    wait_until(lambda: api.audio()["loudness"]["enabled"], 10, "normalisation on")

    # A change made elsewhere shows at the next read.
    api.call("PATCH", "/stream/audio", json={"master": {"volume": 0.5},
                                             "loudness": {"truePeakDb": -3}})
    expect(page.get_by_label("Master volume")).to_have_value("0.5")
    expect(form.get_by_label("True-peak ceiling (dBTP)")).to_have_value("-3")
    shot(page, "audio-02-master-and-loudness")
    # The 400 for the target was the point.
    assert [error for error in console.errors if "status of 400" not in error] == []


def bed_cued(api: Api, cue: int, action: str) -> bool:
    bed = api.audio()["bed"]
    return bool(bed["cue"] == cue and bed["cueAction"] == action)


def playlist_names(page: Page) -> list[str]:
    return page.locator("#bed-playlist .name").all_inner_texts()


def test_the_bed_playlist_is_built_from_the_library_and_its_transport_sets_its_state(
        api: Api, page: Page, tmp_path: Path) -> None:
    console = Console(page)
    audio = page.locator("#audio-settings")
    expect(page.locator("#bed-empty")).to_be_visible()
    # A sound uploaded from the page is offered at once, beside the one already there.
    write_tone(tmp_path / "chime.wav", 1)
    page.get_by_label("Media file").set_input_files(str(tmp_path / "chime.wav"))
    page.locator("#media-form").get_by_role("button", name="Upload").click()
    pick = audio.get_by_label("Audio file")
    expect(pick.locator("option")).to_have_count(2)
    assert sorted(pick.locator("option").all_inner_texts()) == ["chime.wav", "tone.wav"]

    add = audio.get_by_role("button", name="Add to playlist")
    pick.select_option("tone.wav")
    add.click()
    pick.select_option("chime.wav")
    add.click()
    wait_until(lambda: api.audio()["bed"]["playlist"] == ["tone.wav", "chime.wav"], 10,
               "two tracks")
    expect(page.locator("#bed-playlist li")).to_have_count(2)
    expect(page.locator("#bed-empty")).to_be_hidden()
    audio.get_by_role("button", name="Move chime.wav (2) up").click()
    wait_until(lambda: api.audio()["bed"]["playlist"] == ["chime.wav", "tone.wav"], 10,
               "chime first")
    wait_until(lambda: playlist_names(page) == ["chime.wav", "tone.wav"], 10, "shown in order")
    audio.get_by_role("button", name="Remove tone.wav (2)").click()
    wait_until(lambda: api.audio()["bed"]["playlist"] == ["chime.wav"], 10, "tone removed")
    pick.select_option("tone.wav")
    add.click()
    wait_until(lambda: api.audio()["bed"]["playlist"] == ["chime.wav", "tone.wav"], 10,
               "tone added again")

    # Switches and the slider at once; typed numbers with Apply, a bad one beside its field.
    audio.get_by_label("Loop", exact=True).uncheck()
    audio.get_by_label("Shuffle", exact=True).check()
    audio.get_by_label("Bed volume").fill("0.8")
    wait_until(lambda: (bed := api.audio()["bed"])["loop"] is False and bed["shuffle"]
               and bed["volume"] == 0.8, 10, "loop, shuffle and volume saved")
    form = page.locator("#bed-form")
    form.get_by_label("Crossfade (ms)").fill("500")
    form.get_by_label("Duck under layers (dB)").fill("50")
    form.get_by_role("button", name="Apply bed settings").click()
    expect(field_error(form, "bed.duckDb")).to_be_visible()
    assert api.audio()["bed"]["crossfadeMs"] == 2000  # all or nothing
    form.get_by_label("Duck under layers (dB)").fill("6")
    form.get_by_role("button", name="Apply bed settings").click()
    wait_until(lambda: (bed := api.audio()["bed"])["crossfadeMs"] == 500
               and bed["duckDb"] == 6, 10, "crossfade and duck saved")

    # The transport: Pause and Play set the state the API reads; the others cue the player.
    transport = page.get_by_role("group", name="Bed transport")
    play = transport.get_by_role("button", name="Play", exact=True)
    pause = transport.get_by_role("button", name="Pause", exact=True)
    expect(play).to_be_disabled()
    pause.click()
    wait_until(lambda: api.audio()["bed"]["state"] == "paused", 10, "the bed paused")
    expect(play).to_be_enabled()
    expect(pause).to_be_disabled()
    expect(page.locator("#bed-state")).to_have_text("paused")
    shot(page, "audio-03-bed-paused")
    play.click()
    wait_until(lambda: api.audio()["bed"]["state"] == "playing", 10, "the bed playing")
    expect(pause).to_be_enabled()
    for action in ("next", "previous", "restart"):
        cue = api.audio()["bed"]["cue"]
        transport.get_by_role("button", name=action.capitalize(), exact=True).click()
        wait_until(partial(bed_cued, api, cue + 1, action), 10, f"the bed cued: {action}")
    shot(page, "audio-04-bed")
    # The 400 for the duck was the point.
    assert [error for error in console.errors if "status of 400" not in error] == []


def layer_row(page: Page, name: str) -> Locator:
    return page.locator("#layer-list li").filter(
        has=page.locator(".name", has_text=re.compile(f"^{re.escape(name)}$")))


def test_a_layer_row_sets_its_volume_and_mutes_it(api: Api, page: Page) -> None:
    console = Console(page)
    clip = api.call("POST", "/stream/layers", json={
        "name": "Clip", "type": "video", "content": {"source": "clip.mp4"}})
    camera = api.call("POST", "/stream/layers", json={
        "name": "Camera", "type": "input",
        "content": {"url": f"rtmp://127.0.0.1:{free_port()}/live/x"}})
    box = api.call("POST", "/stream/layers", json={
        "name": "Box", "type": "color", "content": {"color": "#0000ff"}})
    slider = page.get_by_label("Volume of Clip")
    expect(slider).to_have_value("1")
    expect(layer_row(page, "Camera").get_by_label("Volume of Camera")).to_be_visible()
    expect(layer_row(page, "Box")).to_have_count(1)
    assert layer_row(page, "Box").locator(".sound").count() == 0  # no sound, no controls

    slider.fill("2.5")
    wait_until(lambda: api.layer(clip["id"])["content"]["volume"] == 2.5, 10, "the volume")
    expect(layer_row(page, "Clip").locator(".volume-value")).to_have_text("2.50")
    mute = page.get_by_role("button", name="Mute Clip")
    mute.click()
    wait_until(lambda: api.layer(clip["id"])["content"]["muted"], 10, "the clip muted")
    expect(mute).to_have_attribute("aria-pressed", "true")
    shot(page, "audio-05-layer-muted")
    mute.click()
    wait_until(lambda: not api.layer(clip["id"])["content"]["muted"], 10, "the clip unmuted")
    expect(mute).to_have_attribute("aria-pressed", "false")
    assert api.layer(clip["id"])["content"]["volume"] == 2.5

    # A change made elsewhere shows on the row.
    api.call("PATCH", f"/stream/layers/{clip['id']}", json={"content": {"volume": 0.5}})
    expect(slider).to_have_value("0.5")
    for layer in (clip, camera, box):
        api.call("DELETE", f"/stream/layers/{layer['id']}")
    assert console.errors == []


class LevelsPublisher:
    """Publishes a levels object ten times a second, as the render worker does."""

    def __init__(self, stack: Stack) -> None:
        settings = load_settings(stack.env)
        self.client = connect(settings)
        self.live = StateStore.from_settings(settings, self.client).live
        self.levels: dict[str, Any] | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopping.wait(0.1):
            if self.levels is not None:
                self.live.publish_audio_levels(self.levels)

    def __enter__(self) -> LevelsPublisher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join()
        self.client.close()


def levels(layer_id: str, layer_peak: float, momentary: float | None) -> dict[str, Any]:
    return {
        "program": {"momentaryLufs": momentary, "shortTermLufs": -14.0,
                    "integratedLufs": -14.1, "truePeakDb": -1.3, "peakDb": -1.5,
                    "rmsDb": -17.0, "gainDb": 18.7},
        "layers": {layer_id: {"peakDb": layer_peak, "rmsDb": layer_peak - 8}},
        "bed": {"peakDb": -30.0, "rmsDb": -40.0, "state": "playing", "track": "tone.wav",
                "index": 0, "position": 1.23, "duration": 2.0},
    }


def meter(page: Page, name: str) -> Locator:
    return page.locator("#audio-meters .meter").filter(
        has=page.locator(".meter-name", has_text=re.compile(f"^{re.escape(name)}$")))


def bar_fraction(bar: Locator) -> float:
    """How much of its track a bar fills."""
    return float(bar.evaluate("""(node) => node.getBoundingClientRect().width
        / node.parentElement.clientWidth"""))


def colour(bar: Locator) -> str:
    return str(bar.evaluate("(node) => getComputedStyle(node).backgroundColor"))


def test_the_meters_draw_the_preview_levels_and_grey_out_without_them(
        api: Api, page: Page, stack: Stack) -> None:
    console = Console(page)
    api.call("PATCH", "/stream/audio", json={"bed": {"playlist": ["tone.wav"]}})
    clip = api.call("POST", "/stream/layers", json={
        "name": "Meter clip", "type": "video", "content": {"source": "clip.mp4"}})
    expect(layer_row(page, "Meter clip")).to_have_count(1)
    stack.supervisorctl("stop", "render:*")  # only the test's levels reach the page
    try:
        expect(page.locator("#meters-state")).to_have_text("no signal", timeout=5000)
        with LevelsPublisher(stack) as publisher:
            publisher.levels = levels(clip["id"], -1.0, None)
            layer = meter(page, "Meter clip")
            expect(layer).to_have_attribute("data-zone", "red")
            expect(layer.locator(".meter-text")).to_have_text("-1.0 dB peak · -9.0 dB RMS")
            wait_until(lambda: abs(bar_fraction(layer.locator(".meter-peak")) - 59 / 60) < 0.02,
                       5, "the peak bar nearly full")
            assert colour(layer.locator(".meter-level")) == RED
            expect(page.locator("#meters-state")).to_have_text("")

            program = meter(page, "Program")
            expect(program).to_have_attribute("data-zone", "red")
            expect(program.locator(".meter-text")).to_have_text(
                "-1.3 dBTP true peak · -14.0 LUFS short-term")
            figures = program.locator(".loudness dd")
            expect(figures).to_have_text(
                ["— LUFS", "-14.0 LUFS", "-14.1 LUFS", "-1.3 dBTP", "+18.7 dB"])
            bed = meter(page, "Bed")
            expect(bed).to_have_attribute("data-zone", "green")
            expect(bed.locator(".meter-text")).to_have_text("-30.0 dB peak · -40.0 dB RMS")
            expect(page.locator("#bed-now")).to_have_text(
                "tone.wav (1 of 1) · 0:01.2 / 0:02.0 · playing")
            expect(page.locator("#bed-playlist li").first).to_have_attribute(
                "aria-current", "true")
            shot(page, "audio-06-meters-red")

            # Quieter: the layer's bar turns green and shrinks to half; loudness is measured.
            publisher.levels = levels(clip["id"], -30.0, -13.5)
            expect(layer).to_have_attribute("data-zone", "green")
            expect(layer.locator(".meter-text")).to_have_text("-30.0 dB peak · -38.0 dB RMS")
            wait_until(lambda: abs(bar_fraction(layer.locator(".meter-peak")) - 0.5) < 0.02,
                       5, "the peak bar at half")
            assert colour(layer.locator(".meter-level")) == GREEN
            expect(figures.first).to_have_text("-13.5 LUFS")
            shot(page, "audio-07-meters-green")
        # No levels for 2 s: the meters say so.
        expect(page.locator("#audio-meters")).to_have_attribute("data-signal", "none",
                                                                 timeout=5000)
        expect(page.locator("#meters-state")).to_have_text("no signal")
        expect(meter(page, "Program").locator(".meter-text")).to_have_text("no signal")
        expect(meter(page, "Meter clip")).to_have_count(0)
        shot(page, "audio-08-no-signal")
    finally:
        stack.supervisorctl("start", "render:*")
    api.call("DELETE", f"/stream/layers/{clip['id']}")
    assert console.errors == []
