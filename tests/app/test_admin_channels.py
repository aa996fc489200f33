"""The admin page's channels (issue 17) in a real browser: the channel switcher, the channels
overview with a live thumbnail per channel, and the render nodes list.

Debian's chromium driven by Playwright against the whole system as `make run` starts it (API,
Celery worker, two real render nodes with a process per channel, preview, Redis), with an API
token and a viewer token: one stack, one browser context per role. Screenshots go to
test-output/admin-page/channels-*.png."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.app.test_admin_page import Console, canvas_centre, shot
from tests.app.test_admin_sources import TOKEN, Api
from tests.support.processes import wait_until
from tests.support.stack import QUICK, Stack

pytestmark = pytest.mark.system

VIEWER = "channels-viewer-token-0123456789"
RED = "#ff0000"


def channel_read(api: Api, channel_id: str) -> dict[str, Any]:
    """Channel `channel_id` as GET /channels lists it."""
    return next(channel for channel in api.call("GET", "/channels")
                if channel["id"] == channel_id)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole system with an operator and a viewer token."""
    running = Stack(tmp_path_factory.mktemp("channels") / "data",
                    env={**QUICK, "API_TOKEN": TOKEN, "VIEWER_TOKEN": VIEWER}).start()
    yield running
    running.stop_in_background()


def tab(browser: Browser, token: str) -> BrowserContext:
    """A browser context whose tabs have `token` already (as after the token dialog)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(
        f"try {{ sessionStorage.setItem('stream-manager-token', {json.dumps(token)}); }}"
        " catch {}")  # about:blank has no storage
    return context


def card(page: Page, channel_id: str) -> Locator:
    """The overview's card of channel `channel_id`."""
    return page.locator(f"#channel-list li[data-key='{channel_id}']")


def thumbnail_centre(page: Page, channel_id: str) -> tuple[int, int, int]:
    """The centre pixel of a card's thumbnail (red, green, blue)."""
    return tuple(page.evaluate("""(id) => {
        const canvas = document.querySelector(`#channel-list li[data-key="${id}"] canvas`);
        const x = Math.floor(canvas.width / 2), y = Math.floor(canvas.height / 2);
        return Array.from(canvas.getContext("2d").getImageData(x, y, 1, 1).data).slice(0, 3);
    }""", channel_id))


def reddish(rgb: tuple[int, int, int]) -> bool:
    red, green, blue = rgb
    return red > 200 and green < 60 and blue < 60


def nodes_as_listed(page: Page) -> list[dict[str, Any]]:
    """The nodes panel's rows as the page shows them (load and capacity read back as numbers)."""
    rows = page.evaluate("""() => Array.from(document.querySelectorAll("#node-list li"),
        (row) => ({id: row.querySelector(".node-id").textContent,
                   state: row.querySelector(".node-state").textContent,
                   host: row.querySelector(".host").textContent,
                   load: row.querySelector(".load-text").textContent,
                   channels: row.querySelector(".node-channels").textContent}))""")
    for row in rows:
        found = re.fullmatch(r"load (\S+) of (\S+)", row.pop("load"))
        assert found is not None
        load, capacity = found.groups()
        row["load"], row["capacity"] = float(load), float(capacity)
    return rows


def nodes_as_answered(api: Api) -> list[dict[str, Any]]:
    """GET /nodes as the page words it, load and capacity to the hundredth it shows."""
    return [{"id": node["id"], "state": node["state"], "host": f"host {node['host']}",
             "channels": (f"channels: {', '.join(node['channels'])}" if node["channels"]
                          else "no channels"),
             "load": node["load"], "capacity": node["capacity"]}
            for node in api.call("GET", "/nodes")["nodes"]]


def same_nodes(listed: list[dict[str, Any]], answered: list[dict[str, Any]]) -> bool:
    """Whether the page lists the nodes /nodes answered (numbers within the rounding shown)."""
    def words(row: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in row.items() if key not in ("load", "capacity")}

    return [words(row) for row in listed] == [words(row) for row in answered] and all(
        abs(shown[key] - node[key]) <= 0.0051 for shown, node in zip(listed, answered, strict=True)
        for key in ("load", "capacity"))


def test_channels_made_switched_and_watched_from_the_page(stack: Stack, browser: Browser) -> None:
    api = Api(stack.url)
    context = tab(browser, TOKEN)
    page = context.new_page()
    console = Console(page)
    page.goto(stack.url)
    expect(page.locator("#status-state")).to_have_text(re.compile("Stopped"))
    expect(page.get_by_label("Channel", exact=True)).to_have_value("default")

    # The overview: the default channel, placed on a node as /channels says, stopped.
    default = card(page, "default")
    expect(default.locator(".channel-state")).to_have_text(re.compile("stopped"))
    wait_until(lambda: channel_read(api, "default")["placement"]["state"] == "placed", 10,
               "the default channel placed")
    node = channel_read(api, "default")["placement"]["node"]
    expect(default.locator(".where")).to_have_text(f"on node {node}")
    expect(default.get_by_role("button", name="Delete channel default")).to_be_disabled()
    expect(default.locator(".kept")).to_have_text("The default channel cannot be deleted.")

    # A channel made from the page: a malformed id is refused beside its field, then it is
    # made with its own output and listed, stopped and placed.
    page.locator("#channel-add summary").click()
    form = page.locator("#channel-form")
    form.get_by_label("Channel id").fill("Bad Id")
    form.get_by_label("Channel name").fill("News")
    form.get_by_role("button", name="Add channel").click()
    expect(form.get_by_label("Channel id")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Channel id").fill("news")
    form.get_by_label("Output width").fill("640")
    form.get_by_label("Output height").fill("360")
    form.get_by_label("Output fps").fill("15")
    form.get_by_role("button", name="Add channel").click()
    news = card(page, "news")
    expect(news.locator(".name")).to_have_text("News")
    expect(form.get_by_label("Channel id")).to_have_value("")
    made = channel_read(api, "news")
    assert made["output"]["width"] == 640 and made["output"]["fps"] == 15
    expect(news.locator(".figures-line")).to_contain_text("/ 15 fps · 640×360")
    expect(news.locator(".where")).to_have_text(re.compile(r"^on node \S+$"), timeout=10_000)
    shot(page, "channels-01-made")

    # Switching: the page loads on the channel, kept in its address.
    page.get_by_label("Channel", exact=True).select_option("news")
    expect(page).to_have_url(re.compile(r"\?channel=news$"))
    expect(page.get_by_label("Channel", exact=True)).to_have_value("news")
    expect(page.locator("#status-state")).to_have_text(re.compile("Stopped"))
    expect(card(page, "news")).to_have_attribute("aria-current", "page")

    # A layer added there is on that channel only: the API's reads, the preview, the thumbnails.
    layers = page.locator("#layer-form")
    layers.get_by_label("Type").select_option("color")
    layers.get_by_label("Name").fill("News red")
    layers.get_by_label("Colour").fill(RED)
    layers.get_by_label("Width").fill("640")
    layers.get_by_label("Height").fill("360")
    layers.get_by_role("button", name="Add layer").click()
    expect(page.locator("#layer-list")).to_contain_text("News red")
    assert [layer["name"] for layer in api.call("GET", "/channels/news/stream/layers")] == [
        "News red"]
    assert "News red" not in [layer["name"] for layer in api.call("GET", "/stream/layers")]
    wait_until(lambda: reddish(canvas_centre(page)), 20, "red on the news preview")
    wait_until(lambda: reddish(thumbnail_centre(page, "news")), 20, "red on news' thumbnail")
    assert not reddish(thumbnail_centre(page, "default"))
    shot(page, "channels-02-switched")

    # A reload stays on the channel.
    page.reload()
    expect(page.get_by_label("Channel", exact=True)).to_have_value("news")
    expect(page.locator("#layer-list")).to_contain_text("News red")

    # Start from the card: the overview shows both channels with their states, and a live
    # channel cannot be deleted (the reason beside the button).
    news = card(page, "news")
    news.get_by_role("button", name="Start channel news").click()
    expect(news.locator(".channel-state")).to_have_text(re.compile("live"), timeout=10_000)
    expect(page.locator("#status-state")).to_have_text(re.compile("Live"), timeout=10_000)
    expect(card(page, "default").locator(".channel-state")).to_have_text(re.compile("stopped"))
    assert {channel["id"]: channel["state"] for channel in api.call("GET", "/channels")} == {
        "default": "stopped", "news": "live"}
    expect(news.get_by_role("button", name="Delete channel news")).to_be_disabled()
    expect(news.locator(".kept")).to_have_text("Stop it to delete it (it is live).")
    expect(news.locator(".figures-line")).to_have_text(re.compile(r"^([1-9]\d*)\.\d / 15 fps"),
                                                       timeout=15_000)

    # A channel that fits on no node reads unplaced with the reason /channels gives.
    api.call("POST", "/channels", json={"id": "huge", "name": "Huge", "output": {
        "width": 3840, "height": 2160, "fps": 60}})
    api.call("POST", "/channels/huge/stream/start")
    huge = card(page, "huge")
    expect(huge.locator(".where")).to_have_text(re.compile("^unplaced: "), timeout=10_000)
    reason = channel_read(api, "huge")["placement"]["reason"]
    expect(huge.locator(".where")).to_have_text(f"unplaced: {reason}")
    shot(page, "channels-03-overview")

    # The nodes list says what /nodes answers.
    seen: list[Any] = []

    def matched() -> bool:
        seen[:] = [nodes_as_listed(page), nodes_as_answered(api)]
        return same_nodes(*seen)

    try:
        wait_until(matched, 10, "the nodes list to match GET /nodes")
    except TimeoutError:
        raise AssertionError(seen) from None
    assert len(nodes_as_listed(page)) == 2

    # Stop, rename and delete from the cards.
    api.call("POST", "/channels/huge/stream/stop")
    page.once("dialog", lambda dialog: dialog.accept())
    huge.get_by_role("button", name="Delete channel huge").click()
    expect(huge).to_have_count(0, timeout=10_000)
    news.get_by_role("button", name="Stop channel news").click()
    expect(news.locator(".channel-state")).to_have_text(re.compile("stopped"), timeout=10_000)
    news.get_by_role("button", name="Rename channel news").click()
    news.get_by_label("Name of news", exact=True).fill("News desk")
    news.get_by_role("button", name="Save the name of news").click()
    expect(news.locator(".name")).to_have_text("News desk")
    assert channel_read(api, "news")["name"] == "News desk"

    # A viewer sees the channels and nodes, and nothing that changes them.
    viewer = tab(browser, VIEWER)
    watching = viewer.new_page()
    watching.goto(f"{stack.url}/?channel=news")
    expect(card(watching, "news").locator(".name")).to_have_text("News desk")
    expect(watching.locator("body")).to_have_attribute("data-role", "viewer")
    expect(card(watching, "news").get_by_role("button")).to_have_count(0)
    expect(watching.locator("#channel-add")).to_be_hidden()
    expect(watching.locator("#node-list li")).to_have_count(2)
    shot(watching, "channels-04-viewer")
    viewer.close()

    # The 400 for the malformed id was the point.
    assert [error for error in console.errors if "status of 400" not in error] == []
    console.errors.clear()

    # Deleting the page's own channel goes back to the default one.
    page.once("dialog", lambda dialog: dialog.accept())
    news.get_by_role("button", name="Delete channel news").click()
    expect(page).to_have_url(re.compile(r"/$"), timeout=10_000)
    expect(page.get_by_label("Channel", exact=True)).to_have_value("default")
    expect(card(page, "news")).to_have_count(0)
    assert [channel["id"] for channel in api.call("GET", "/channels")] == ["default"]
    # The channel's reads that were on their way when it went found it gone.
    assert [error for error in console.errors if "status of 404" not in error] == []
    context.close()
