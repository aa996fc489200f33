"""The admin page in a real browser: Debian's chromium driven by Playwright, against the whole
system as `make run` starts it (API, Celery worker, render worker, preview, Redis).

Each step saves a screenshot under test-output/admin-page/ (look at them)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from tests.support.nginx_rtmp import NginxRtmp
from tests.support.player import Player
from tests.support.processes import wait_until
from tests.support.stack import QUICK, Stack

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "admin-page"

pytestmark = pytest.mark.system


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system, started by `make run`, small enough for a quick preview."""
    running = Stack(tmp_path_factory.mktemp("admin") / "data", env=QUICK).start()
    yield running
    running.stop_in_background()


class Console:
    """Errors the page logs or throws."""

    def __init__(self, page: Page) -> None:
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def canvas_centre(page: Page) -> tuple[int, int, int]:
    """The preview canvas's pixel at its centre (red, green, blue)."""
    return tuple(page.evaluate("""() => {
        const canvas = document.getElementById("preview-canvas");
        const x = Math.floor(canvas.width / 2), y = Math.floor(canvas.height / 2);
        return Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data).slice(0, 3);
    }"""))


def greenish(rgb: tuple[int, int, int]) -> bool:
    red, green, blue = rgb
    return green > 200 and red < 60 and blue < 60


def test_a_show_run_from_the_page(stack: Stack, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console(page)
    page.goto(stack.url)
    expect(page.locator("#status-state")).to_have_text(re.compile("Stopped"))
    expect(page.locator("#preview-stats")).to_contain_text("fps", timeout=20_000)
    shot(page, "01-loaded")
    assert console.errors == []

    # Add a green box over the whole output through the form; the preview turns green.
    form = page.locator("#layer-form")
    form.get_by_label("Type").select_option("color")
    form.get_by_label("Name").fill("Green box")
    form.get_by_label("Colour").fill("#00ff00")
    form.get_by_label("Width").fill("1280")
    form.get_by_label("Height").fill("720")
    form.get_by_role("button", name="Add layer").click()
    expect(page.locator("#layer-list")).to_contain_text("Green box")
    wait_until(lambda: greenish(canvas_centre(page)), 20, "green on the preview canvas")
    shot(page, "02-green-layer-added")

    # Hide it: the green goes from the preview.
    page.get_by_label("Visible: Green box").uncheck()
    wait_until(lambda: not greenish(canvas_centre(page)), 20, "the green to go")
    shot(page, "03-layer-hidden")

    # Start: the status turns live, and only Stop and Pause make sense now.
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#status-state")).to_have_text(re.compile("Live"), timeout=10_000)
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_disabled()
    expect(page.get_by_role("button", name="Stop", exact=True)).to_be_enabled()
    expect(page.get_by_role("button", name="Resume", exact=True)).to_be_disabled()
    frames = page.locator("#status-figures dd").nth(1)
    expect(frames).not_to_have_text("0", timeout=15_000)  # the render worker's count moves
    expect(page.locator("#status-figures")).to_contain_text(re.compile(r"[1-9]\d*\.\d / 30"))
    shot(page, "04-live")

    # A chat message, listed.
    chat = page.locator("#chat-form")
    chat.get_by_label("Message").fill("Hello from the browser test")
    chat.get_by_role("button", name="Post").click()
    expect(page.locator("#chat-list")).to_contain_text("Hello from the browser test")
    shot(page, "05-chat-posted")

    # A validation error from the API, beside its field.
    form.get_by_label("Name").fill("Too opaque")
    form.get_by_label("Opacity").fill("5")
    form.get_by_role("button", name="Add layer").click()
    beside = form.locator(".field", has=page.locator("input[name='opacity']")).locator(
        ".field-error")
    expect(beside).to_be_visible()
    expect(beside).to_contain_text(re.compile("1|less|between", re.IGNORECASE))
    expect(form.get_by_label("Opacity")).to_have_attribute("aria-invalid", "true")
    shot(page, "06-validation-error")

    # Stop.
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator("#status-state")).to_have_text(re.compile("Stopped"), timeout=10_000)
    expect(page.get_by_role("button", name="Start", exact=True)).to_be_enabled()
    shot(page, "07-stopped")
    # Chromium logs the answer to the invalid layer as a failed load; that 400 was the point.
    assert [error for error in console.errors if "status of 400" not in error] == []
    page.close()


def test_the_page_fits_a_phone_and_every_control_is_labelled(
        stack: Stack, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                            has_touch=True)
    console = Console(page)
    page.goto(stack.url)
    expect(page.locator("#status-state")).not_to_have_text("loading…")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    unlabelled = page.evaluate("""() => Array.from(
        document.querySelectorAll("button, input, select, canvas"))
        .filter((node) => !node.closest("[hidden]") && !node.closest("dialog"))
        .filter((node) => !(node.labels && node.labels.length) &&
                          !node.getAttribute("aria-label") && !node.textContent.trim())
        .map((node) => node.outerHTML.slice(0, 80))""")
    assert unlabelled == []
    # The keyboard reaches the stream controls.
    page.locator("#preview-quality").focus()
    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "control-start":
            break
    assert page.evaluate("document.activeElement.id") == "control-start"
    # The quality selector switches the preview: the canvas takes the low frames' size.
    expect(page.locator("#preview-stats")).to_contain_text("fps", timeout=20_000)
    page.get_by_label("Quality").select_option("low")
    wait_until(lambda: page.evaluate("document.getElementById('preview-canvas').width") == 320,
               10, "the canvas at the low quality's width")
    shot(page, "08-phone")
    assert console.errors == []
    page.close()


def content_controls(page: Page) -> list[dict[str, Any]]:
    """The form's content controls as the page built them: name and constraints."""
    return page.evaluate("""() => Array.from(
        document.querySelectorAll("#layer-form [name^='content.']"), (node) => ({
            name: node.name.slice("content.".length), tag: node.tagName.toLowerCase(),
            type: node.type, required: node.required,
            min: node.getAttribute("min"), max: node.getAttribute("max"),
            minLength: node.getAttribute("minlength"), maxLength: node.getAttribute("maxlength"),
            value: node.type === "checkbox" ? node.checked : node.value,
            label: node.labels.length ? node.labels[0].textContent : null}))""")


def number(text: object) -> float | None:
    """An attribute or value the page wrote for a number ("0.5", "" or None), as a float."""
    return None if text in (None, "") else float(str(text))


def assert_built_from(control: dict[str, Any], field: dict[str, Any]) -> None:
    """The page's control for `field` (of `GET /stream/layer-types`) has its kind,
    constraints and default (a new layer's form holds the defaults)."""
    where = field["name"]
    assert control["label"], f"{where} has no label"
    assert control["required"] == field["required"], where
    if field["kind"] == "media" or "choices" in field:
        assert control["tag"] == "select", where
    elif field["kind"] == "boolean":
        assert (control["type"], control["value"]) == ("checkbox", bool(field["default"])), where
    elif field["kind"] in ("integer", "number"):
        assert control["type"] == "number", where
        assert number(control["min"]) == field.get("min"), where
        assert number(control["max"]) == field.get("max"), where
        assert number(control["value"]) == field["default"], where
    else:
        assert control["type"] == "text", where
        assert number(control["minLength"]) == field.get("minLength"), where
        assert number(control["maxLength"]) == field.get("maxLength"), where
        assert control["value"] == (field["default"] or ""), where


def test_the_layer_form_is_built_from_the_layer_types_endpoint(
        stack: Stack, browser: Browser) -> None:
    types = requests.get(f"{stack.url}/stream/layer-types", timeout=5).json()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console(page)
    page.goto(stack.url)
    form = page.locator("#layer-form")
    type_select = form.get_by_label("Type")
    expect(type_select).to_be_enabled()
    options = type_select.locator("option")
    assert options.evaluate_all("(nodes) => nodes.map((node) => node.value)") == [
        layer_type["type"] for layer_type in types]

    # Each type shows exactly its fields, with the endpoint's kinds, ranges and defaults.
    for layer_type in types:
        type_select.select_option(layer_type["type"])
        expect(page.locator("#f-type-about")).to_have_text(layer_type["description"])
        built = content_controls(page)
        assert [control["name"] for control in built] == [
            field["name"] for field in layer_type["fields"]], layer_type["type"]
        for control, field in zip(built, layer_type["fields"], strict=True):
            assert_built_from(control, field)
    shot(page, "08b-form-from-layer-types")

    # One type by hand: text's font size, as the endpoint ranges and defaults it.
    font_size = next(field for field in next(t for t in types if t["type"] == "text")["fields"]
                     if field["name"] == "fontSize")
    type_select.select_option("text")
    expect(form.get_by_label("Font size")).to_have_attribute("min", str(font_size["min"]))
    expect(form.get_by_label("Font size")).to_have_attribute("max", str(font_size["max"]))
    expect(form.get_by_label("Font size")).to_have_value(str(font_size["default"]))

    # Editing a layer shows its values; saving sends the numbers as numbers, and the API's
    # error for a content field shows beside the generated field.
    clock = requests.post(f"{stack.url}/stream/layers", timeout=5, json={
        "name": "Form clock", "type": "clock",
        "content": {"format": "%H:%M", "fontSize": 60}}).json()
    expect(page.locator("#layer-list")).to_contain_text("Form clock")
    page.get_by_role("button", name="Edit Form clock").click()
    expect(form.get_by_label("Font size")).to_have_value("60")
    expect(form.get_by_label("Format")).to_have_value("%H:%M")
    form.get_by_label("Font size").fill("2")
    form.get_by_role("button", name="Save changes").click()
    beside = form.locator(".field", has=page.locator("input[name='content.fontSize']")).locator(
        ".field-error")
    expect(beside).to_be_visible()
    expect(form.get_by_label("Font size")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Font size").fill("72")
    form.get_by_role("button", name="Save changes").click()
    wait_until(lambda: requests.get(f"{stack.url}/stream/layers/{clock['id']}", timeout=5)
               .json()["content"] == {"format": "%H:%M", "fontSize": 72, "color": "#ffffff"},
               10, "the clock's new font size")
    requests.delete(f"{stack.url}/stream/layers/{clock['id']}", timeout=5).raise_for_status()
    # The 400 for the font size was the point.
    assert [error for error in console.errors if "status of 400" not in error] == []
    page.close()


def layer_names(page: Page) -> list[str]:
    return page.locator("#layer-list .name").all_inner_texts()


def test_edit_conflict_media_reorder_delete_and_outages(
        stack: Stack, browser: Browser, tmp_path: Path) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console(page)
    page.goto(stack.url)
    api = requests.Session()
    api.post(f"{stack.url}/stream/layers", json={
        "name": "Lower", "type": "color", "content": {"color": "#0000ff"}}).raise_for_status()
    text = api.post(f"{stack.url}/stream/layers", json={
        "name": "Caption", "type": "text", "content": {"text": "Hi"}}).json()
    expect(page.locator("#layer-list")).to_contain_text("Caption")  # via layerUpdate

    # Reorder with the buttons: Caption is on top; moving it down puts Lower on top.
    top_first = layer_names(page)
    assert top_first.index("Caption") < top_first.index("Lower")
    page.get_by_role("button", name="Move Caption down").click()
    wait_until(lambda: (names := layer_names(page)).index("Lower") < names.index("Caption"),
               10, "Caption below Lower")
    # And by dragging: Caption dropped onto Lower lands just above it.
    rows = page.locator("#layer-list li")
    # By hand rather than drag_to: Chromium starts an HTML5 drag on the first move and needs
    # another move over the target for dragover, or the drop can be lost on a busy page.
    rows.filter(has_text="Caption").hover()
    page.mouse.down()
    target = rows.filter(has_text="Lower")
    target.hover(position={"x": 20, "y": 10})
    target.hover(position={"x": 40, "y": 20})
    page.mouse.up()
    wait_until(lambda: (names := layer_names(page)).index("Caption") < names.index("Lower"),
               10, "Caption above Lower again")

    # Edit while someone else changes the layer: 412, the new state shown, re-applied.
    page.get_by_role("button", name="Edit Caption").click()
    form = page.locator("#layer-form")
    form.get_by_label("Text", exact=True).fill("Mine")
    api.patch(f"{stack.url}/stream/layers/{text['id']}",
              json={"name": "Caption (theirs)"}).raise_for_status()
    form.get_by_role("button", name="Save changes").click()
    expect(page.locator("#conflict")).to_be_visible()
    expect(page.locator("#conflict-current")).to_contain_text("Caption (theirs)")
    shot(page, "09-conflict")
    page.get_by_role("button", name="Re-apply my changes").click()
    expect(page.locator("#conflict")).to_be_hidden()
    wait_until(lambda: api.get(f"{stack.url}/stream/layers/{text['id']}").json()["content"]
               ["text"] == "Mine", 10, "the re-applied change")

    # Upload an image and pick it for an image layer.
    image = tmp_path / "logo.png"
    Image.new("RGB", (64, 32), (255, 128, 0)).save(image)
    page.get_by_label("Media file").set_input_files(str(image))
    page.locator("#media-form").get_by_role("button", name="Upload").click()
    expect(page.locator("#media-list")).to_contain_text("logo.png")
    form.get_by_label("Type").select_option("image")
    form.get_by_label("Name").fill("Logo")
    form.get_by_label("Image", exact=True).select_option("logo.png")
    form.get_by_label("Width").fill("")
    form.get_by_label("Height").fill("")
    form.get_by_role("button", name="Add layer").click()
    expect(page.locator("#layer-list")).to_contain_text("Logo")
    shot(page, "10-image-layer")

    # Delete asks first; dismissing keeps the layer, accepting deletes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete Lower").click()
    expect(page.locator("#layer-list")).to_contain_text("Lower")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete Lower").click()
    wait_until(lambda: "Lower" not in layer_names(page), 10, "Lower deleted")

    # The API going away is said plainly, and the page comes back by itself.
    stack.supervisorctl("stop", "api")
    expect(page.locator("#connection")).to_contain_text("Cannot reach", timeout=20_000)
    shot(page, "11-api-down")
    stack.supervisorctl("start", "api")
    expect(page.locator("#connection")).to_be_hidden(timeout=30_000)

    # The preview process restarting: the page reconnects by itself.
    expect(page.locator("#preview-stats")).to_contain_text("fps", timeout=20_000)
    before = {client["id"] for client in api.get(f"{stack.url}/stream/preview/clients").json()}
    stack.supervisorctl("restart", "preview")
    wait_until(lambda: {client["id"] for client in
                        api.get(f"{stack.url}/stream/preview/clients").json()} - before, 30,
               "the page's new preview connection")
    expect(page.locator("#preview-stats")).to_contain_text(re.compile(r"[1-9]\d* fps"),
                                                           timeout=30_000)
    shot(page, "12-preview-reconnected")
    # What the browser logs about the 412, the API being down and the preview restarting.
    expected = ("status of 412", "status of 502", "status of 503", "net::ERR_", "WebSocket")
    assert [e for e in console.errors if not any(part in e for part in expected)] == []
    page.close()


def test_with_api_token_the_page_asks_once_and_uses_a_preview_ticket(
        tmp_path: Path, browser: Browser) -> None:
    token = "page-token-0123456789"
    secured = Stack(tmp_path / "data", env={**QUICK, "API_TOKEN": token}).start()
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(secured.url)
        dialog = page.locator("#token-dialog")
        expect(dialog).to_be_visible()
        shot(page, "13-token-asked")
        page.get_by_label("Token", exact=True).fill(token)
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#status-state")).to_have_text(re.compile("Stopped"))
        expect(page.locator("#preview-stats")).to_contain_text(re.compile(r"[1-9]\d* fps"),
                                                               timeout=30_000)
        assert page.evaluate("sessionStorage.getItem('stream-manager-token')") == token
        # A reload in the same tab does not ask again.
        page.reload()
        expect(page.locator("#status-state")).to_have_text(re.compile("Stopped"))
        expect(dialog).to_be_hidden()
        shot(page, "14-token-kept")

        # A recording's link cannot send the token: the page fetches the file with it.
        auth = {"Authorization": f"Bearer {token}"}
        requests.post(f"{secured.url}/stream/start", headers=auth, timeout=10).raise_for_status()
        wait_until(lambda: requests.get(f"{secured.url}/stream/recordings", headers=auth,
                                        timeout=5).json(), 30, "a recording")
        requests.post(f"{secured.url}/stream/stop", headers=auth, timeout=10).raise_for_status()
        page.get_by_role("button", name="Refresh recordings").click()
        link = page.locator("#recording-list a").first
        expect(link).to_be_visible()
        with page.expect_download() as download_info:
            link.click()
        assert download_info.value.suggested_filename == link.get_attribute("download")
        assert Path(download_info.value.path()).read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML
        context.close()
    finally:
        secured.stop_in_background()


@pytest.fixture
def ingest(tmp_path: Path) -> Iterator[NginxRtmp]:
    """A real nginx-rtmp ingest on a free port, for the page to send to."""
    server = NginxRtmp(tmp_path / "nginx").start()
    yield server
    server.stop()


def output_row(page: Page, name: str) -> Any:
    """The Outputs panel's row of the output called `name`."""
    return page.locator("#output-list li").filter(
        has=page.locator(".name", has_text=re.compile(f"^{re.escape(name)}$")))


# A measured rate as the page writes it, above zero ("2.5 Mb/s", "800 kb/s").
BITRATE = re.compile(r"^(?!0(\.0)? )\d+(\.\d)? [kM]?b/s$")


def test_an_rtmp_output_added_from_the_page_goes_live_on_a_real_ingest(
        stack: Stack, browser: Browser, ingest: NginxRtmp) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console(page)
    page.goto(stack.url)
    form = page.locator("#output-rtmp-form")

    # A URL that is not rtmp: the API's message beside the URL field, nothing stored.
    form.get_by_label("URL").fill("http://127.0.0.1/live")
    form.get_by_role("button", name="Add RTMP output").click()
    beside = form.locator(".field", has=page.locator("input[name='rtmp-url']")).locator(
        ".field-error")
    expect(beside).to_contain_text("rtmp")
    expect(form.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
    shot(page, "15-output-url-refused")

    # URL and key apart: the key goes in a password field and never comes back.
    key = f"browser-{secrets.token_hex(12)}"
    form.get_by_label("URL").fill(f"rtmp://127.0.0.1:{ingest.port}/live")
    expect(form.get_by_label("Stream key")).to_have_attribute("type", "password")
    form.get_by_label("Stream key").fill(key)
    form.get_by_label("Name").fill("Browser ingest")
    form.get_by_role("button", name="Add RTMP output").click()
    row = output_row(page, "Browser ingest")
    expect(row).to_contain_text("key set")
    expect(row.locator(".kind")).to_have_text("RTMP")
    expect(form.get_by_label("Stream key")).to_have_value("")
    expect(beside).to_have_count(0)
    assert key not in page.content()

    # Start: the output goes live on the ingest, with its measured rate on the page.
    page.get_by_role("button", name="Start", exact=True).click()
    expect(page.locator("#status-state")).to_have_text(re.compile("Live"), timeout=10_000)
    player = Player(ingest.url(key)).start()
    try:
        player.wait_for_frames(30, timeout=30)
        expect(row.locator(".output-state")).to_have_text("live", timeout=15_000)
        expect(row.locator(".rate")).to_have_text(BITRATE, timeout=15_000)
        shot(page, "16-output-live")

        # The switch: disabled at once on the page and in the API.
        page.get_by_label("Enabled: Browser ingest").uncheck()
        expect(row.locator(".output-state")).to_have_text("disabled", timeout=10_000)
        expect(page.get_by_label("Enabled: Browser ingest")).not_to_be_checked()
        stored = next(output for output in requests.get(f"{stack.url}/stream/outputs",
                                                        timeout=5).json()
                      if output["name"] == "Browser ingest")
        assert stored["enabled"] is False
        shot(page, "17-output-disabled")
    finally:
        player.close()

    # Delete asks first: dismissing keeps the output, accepting removes it.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete output Browser ingest").click()
    expect(row).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete output Browser ingest").click()
    expect(row).to_have_count(0, timeout=10_000)
    assert all(output["name"] != "Browser ingest" for output in
               requests.get(f"{stack.url}/stream/outputs", timeout=5).json())

    page.get_by_role("button", name="Stop", exact=True).click()
    expect(page.locator("#status-state")).to_have_text(re.compile("Stopped"), timeout=10_000)
    assert key not in page.content()
    # The 400 for the http:// URL was the point.
    assert [error for error in console.errors if "status of 400" not in error] == []
    page.close()


def test_a_recording_added_from_the_page_is_listed_downloaded_and_deleted(
        stack: Stack, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console = Console(page)
    page.goto(stack.url)
    form = page.locator("#output-record-form")

    # A segment under 10 s: refused beside its field.
    form.get_by_label("Seconds per file").fill("5")
    form.get_by_label("Files kept").fill("2")
    form.get_by_label("Name").fill("Browser recording")
    form.get_by_role("button", name="Add recording").click()
    expect(form.get_by_label("Seconds per file")).to_have_attribute("aria-invalid", "true")
    expect(form.locator(".field", has=page.locator("input[name='record-segment']"))
           .locator(".field-error")).to_be_visible()

    form.get_by_label("Seconds per file").fill("10")
    form.get_by_role("button", name="Add recording").click()
    row = output_row(page, "Browser recording")
    expect(row.locator(".settings")).to_have_text("a file every 10 s · keeps 2 files")
    expect(row.locator(".kind")).to_have_text("recording")

    # Record a few seconds, then stop: the file is listed on the page.
    page.get_by_role("button", name="Start", exact=True).click()
    expect(row.locator(".output-state")).to_have_text("live", timeout=15_000)

    def ours() -> list[dict[str, Any]]:
        return [recording for recording in
                requests.get(f"{stack.url}/stream/recordings", timeout=5).json()
                if recording["name"].startswith("browser-recording-")]

    wait_until(lambda: any((recording["durationSeconds"] or 0) >= 3 for recording in ours()),
               30, "three seconds recorded")
    page.get_by_role("button", name="Stop", exact=True).click()
    expect(row.locator(".output-state")).to_have_text("stopped", timeout=15_000)
    recording = ours()[0]
    name = recording["name"]
    listed = page.locator("#recording-list li").filter(has_text=name)
    expect(listed).to_contain_text(re.compile(r"\d+(\.\d)? [KMG]iB · started .+ · 00:00:\d\d"),
                                   timeout=15_000)
    shot(page, "18-recording-listed")

    # The link downloads the file, whole and playable; its address answers 200.
    link = listed.get_by_role("link", name=f"Download {name}")
    href = link.get_attribute("href")
    assert href is not None
    answer = requests.get(f"{stack.url}{href}", timeout=10)
    assert answer.status_code == 200
    with page.expect_download() as download_info:
        link.click()
    download = download_info.value
    assert download.suggested_filename == name
    saved = Path(download.path())
    assert saved.read_bytes() == answer.content
    with av.open(str(saved)) as container:
        assert next(container.decode(video=0)).width > 0

    # Delete asks first.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name=f"Delete recording {name}").click()
    expect(listed).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete recording {name}").click()
    expect(listed).to_have_count(0, timeout=10_000)
    assert name not in [recording["name"] for recording in ours()]

    # The record output goes too, so the module's other tests see the stack as it was.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete output Browser recording").click()
    expect(row).to_have_count(0, timeout=10_000)
    # The 400 for the 5 s segment was the point.
    assert [error for error in console.errors if "status of 400" not in error] == []
    page.close()
