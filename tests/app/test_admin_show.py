"""The admin page's show control (issue 16) in a real browser: the scenes strip (save the layers
on air, take one with a fade), the transition beside the layer edits (sent with a change, its
400 beside its field), undo and redo by button and keyboard, the history list, and the cues
list (a cue from the current layers counts down and is cancelled).

Debian's chromium driven by Playwright against the whole system as `make run` starts it; what
the page did is checked through the API. Screenshots go to test-output/admin-page/show-*."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.app.test_admin_audio import Api
from tests.app.test_admin_page import Console, shot
from tests.support.processes import wait_until
from tests.support.stack import Stack

pytestmark = pytest.mark.system

RED = "#ff0000"
BLUE = "#0000ff"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system, reading twice a second."""
    running = Stack(tmp_path_factory.mktemp("show") / "data",
                    env={"POLL_INTERVAL": "500", "PREVIEW_FPS": "10"}).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api(stack: Stack) -> Api:
    return Api(stack.url)


@pytest.fixture(scope="module")
def box(api: Api) -> str:
    """A red box on air; its id."""
    layer = api.call("POST", "/stream/layers", json={
        "type": "color", "name": "Box", "content": {"color": RED},
        "transform": {"x": 0, "y": 0, "width": 320, "height": 180}})
    return str(layer["id"])


@pytest.fixture(scope="module")
def page(browser: Browser, stack: Stack, box: str) -> Iterator[Page]:
    """One admin page for the module, its preview connected (layerUpdate events come)."""
    opened = browser.new_page(viewport={"width": 1280, "height": 1000})
    opened.goto(stack.url)
    expect(opened.locator("#layer-list")).to_contain_text("Box")
    expect(opened.locator("#preview-stats")).to_contain_text("fps", timeout=20_000)
    yield opened
    opened.close()


def colour(api: Api, layer_id: str) -> str:
    return str(api.layer(layer_id)["content"]["color"]).lower()


def field_error(scope: Locator, name: str) -> Locator:
    """The API's message beside the control called `name`."""
    return scope.locator(".field", has=scope.page.locator(f"[name='{name}']")).locator(
        ".field-error")


def test_a_scene_saved_from_the_page_is_taken_back_with_a_fade(
        api: Api, page: Page, box: str) -> None:
    console = Console(page)
    scenes = page.locator("#scene-list")
    page.get_by_label("Scene name").fill("Red box")
    page.get_by_role("button", name="Save the layers on air as a scene").click()
    expect(scenes).to_contain_text("Red box")
    expect(scenes).to_contain_text("1 layer")
    saved = next(scene for scene in api.call("GET", "/stream/scenes") if scene["name"] == "Red box")
    assert [layer["content"]["color"] for layer in saved["layers"]] == [RED]

    # A name taken already: the 409 shows beside the name.
    page.get_by_label("Scene name").fill("Red box")
    page.get_by_role("button", name="Save the layers on air as a scene").click()
    expect(field_error(page.locator("#scene-form"), "scene-name")).to_be_visible()

    api.call("PATCH", f"/stream/layers/{box}", json={"content": {"color": BLUE}})
    wait_until(lambda: colour(api, box) == BLUE, 10, "the box turned blue")
    page.get_by_label("Take with", exact=True).select_option("fade")
    page.get_by_label("Take duration (ms)").fill("600")
    with page.expect_request(lambda request: request.url.endswith("/take")) as taking:
        page.get_by_role("button", name="Take Red box").click()
    assert taking.value.post_data_json == {"transition": {"type": "fade", "durationMs": 600}}
    wait_until(lambda: colour(api, box) == RED, 10, "the scene's red back on air")
    expect(page.locator("#history-list li").first).to_contain_text("scene.take")
    shot(page, "show-01-scene-taken")

    # A take's bad duration shows beside the take's duration.
    page.get_by_label("Take duration (ms)").fill("70000")
    page.get_by_role("button", name="Take Red box").click()
    expect(field_error(page.locator("#take-settings"), "take.durationMs")).to_be_visible()
    page.get_by_label("Take duration (ms)").fill("0")

    # Renamed in its card, then deleted after the confirmation.
    page.get_by_role("button", name="Rename Red box").click()
    page.get_by_label("New name").fill("Opening")
    page.get_by_role("button", name="Save name").click()
    expect(scenes).to_contain_text("Opening")
    assert [scene["name"] for scene in api.call("GET", "/stream/scenes")] == ["Opening"]
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete scene Opening").click()
    expect(page.locator("#scenes-empty")).to_be_visible()
    assert api.call("GET", "/stream/scenes") == []
    assert [error for error in console.errors if "status of 4" not in error] == []


def test_layer_edits_carry_the_transition_and_its_error_shows_beside_it(
        page: Page, box: str) -> None:
    row_visible = page.get_by_label("Visible: Box")
    page.get_by_label("Transition (ms)", exact=True).fill("400")
    page.get_by_label("Easing", exact=True).select_option("easeOut")
    with page.expect_request(lambda request: request.url.endswith("/visibility")) as hiding:
        row_visible.uncheck()
    assert hiding.value.post_data_json == {
        "visible": False, "transition": {"durationMs": 400, "easing": "easeOut"}}
    page.get_by_label("Transition (ms)", exact=True).fill("70000")
    row_visible.click()  # refused: the box stays hidden
    note = field_error(page.locator("#layer-transition"), "transition.durationMs")
    expect(note).to_be_visible()
    expect(row_visible).not_to_be_checked()  # the read after the refusal shows it hidden
    page.get_by_label("Transition (ms)", exact=True).fill("0")
    with page.expect_request(lambda request: request.url.endswith("/visibility")) as showing:
        row_visible.check()
    assert showing.value.post_data_json == {"visible": True}
    expect(note).to_be_hidden()
    expect(row_visible).to_be_checked()


def test_undo_and_redo_by_button_and_keyboard(api: Api, page: Page, box: str) -> None:
    def opacity() -> float:
        return float(api.layer(box)["opacity"])

    undos: list[str] = []
    page.on("request", lambda request: undos.append(request.url)
            if request.url.endswith("/stream/undo") else None)
    api.call("PATCH", f"/stream/layers/{box}", json={"opacity": 0.5})
    latest = page.locator("#history-list li").first
    expect(latest.locator(".op")).to_have_text("layer.update")
    expect(latest.locator(".source")).to_have_text("api")
    expect(latest.locator(".role")).to_have_text("operator")
    expect(latest.locator(".layers-touched")).to_have_text("Box")
    patched = latest.locator(".seq").text_content()

    page.get_by_role("button", name="Undo").click()
    wait_until(lambda: opacity() == 1.0, 10, "the undo by button")
    expect(latest.locator(".source")).to_have_text("undo")
    expect(page.locator("#undo-note")).to_have_text(f"Undid change {patched}")
    undone = page.locator("#history-list li", has=page.locator(".seq", has_text=re.compile(
        f"^{patched}$")))
    expect(undone.locator(".undone")).to_have_text("undone")
    page.get_by_role("button", name="Redo").click()
    wait_until(lambda: opacity() == 0.5, 10, "the redo by button")
    expect(latest.locator(".source")).to_have_text("redo")

    page.keyboard.press("Control+z")
    wait_until(lambda: opacity() == 1.0, 10, "the undo by Ctrl+Z")
    page.keyboard.press("Control+Shift+Z")
    wait_until(lambda: opacity() == 0.5, 10, "the redo by Ctrl+Shift+Z")
    page.keyboard.press("Control+z")
    wait_until(lambda: opacity() == 1.0, 10, "the undo by Ctrl+Z again")
    page.keyboard.press("Control+y")
    wait_until(lambda: opacity() == 0.5, 10, "the redo by Ctrl+Y")
    shot(page, "show-02-undo-redo")

    # Typing in a field, Ctrl+Z is the field's own: nothing is sent. A new change clears the
    # redo stack: Redo then says so quietly, without an alert.
    sent = len(undos)
    page.get_by_label("Scene name").fill("typing")
    page.get_by_label("Scene name").press("Control+z")
    api.call("PATCH", f"/stream/layers/{box}", json={"opacity": 0.75})
    with page.expect_response(lambda answer: answer.url.endswith("/stream/redo")) as redo:
        page.get_by_role("button", name="Redo").click()
    assert redo.value.status == 409
    assert len(undos) == sent
    expect(page.locator("#undo-note")).to_have_text(re.compile("nothing to redo", re.I))
    expect(page.locator("#undo-note")).not_to_have_class(re.compile("error"))
    assert opacity() == 0.75


def test_a_cue_from_the_layers_counts_down_and_is_cancelled(
        api: Api, page: Page, box: str) -> None:
    form = page.locator("#cue-form")
    # A cue without a name: the 400 shows beside the name.
    form.get_by_label("Cue name").fill("")
    form.get_by_role("button", name="Add cue").click()
    expect(field_error(form, "cue-name")).to_be_visible()

    form.get_by_label("Cue name").fill("Box back")
    form.get_by_label("Action").select_option("layers")
    form.get_by_label("When").select_option("in")
    form.get_by_label("In (seconds)").fill("60")
    with page.expect_request(lambda request: request.url.endswith("/stream/cues")
                             and request.method == "POST") as adding:
        form.get_by_role("button", name="Add cue").click()
    body: dict[str, Any] = adding.value.post_data_json or {}
    assert body["inMs"] == 60_000
    assert body["action"]["kind"] == "batch"
    assert [(operation["op"], operation["id"]) for operation in body["action"]["operations"]] \
        == [("update", box)]
    assert body["action"]["operations"][0]["changes"]["content"]["color"] == RED

    row = page.locator("#cue-list li", has_text="Box back")
    countdown = row.locator(".countdown")
    expect(countdown).to_have_text(re.compile(r"in 00:0[01]:\d\d"))
    first = countdown.text_content()
    expect(countdown).not_to_have_text(first or "", timeout=3000)  # it counts down
    expect(row).to_contain_text("set 1 layer")
    shot(page, "show-03-cue-counting-down")

    row.get_by_role("button", name="Cancel cue Box back").click()
    expect(row).to_have_count(0)
    cues = api.call("GET", "/stream/cues")
    assert all(cue["state"] != "scheduled" for cue in cues if cue["name"] == "Box back")
