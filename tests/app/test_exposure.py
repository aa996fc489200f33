"""Secure by default: the API and the preview, run by their supervisord commands, listen on
127.0.0.1 unless HOST says otherwise; on an address other machines can reach they refuse to
start without a token, unless ALLOW_NO_TOKEN=yes says the network is trusted (and the admin
page then warns); a token kept in API_TOKEN_FILE is shared by both."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import websocket
from playwright.sync_api import Browser, expect, sync_playwright

from tests.support.api_server import ApiServer
from tests.support.preview import PreviewClient, PreviewServer
from tests.support.processes import free_port
from tests.support.supervisord import supervisord_argv, supervisord_programs

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
REFUSAL = "HOST: 0.0.0.0 can be reached from other machines and API_TOKEN is not set"


def this_machines_address() -> str | None:
    """An address of this machine that is not loopback (the one its default route uses),
    or None on a machine without one. Connecting a UDP socket sends nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: never answered, never sent to
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def answers(host: str, port: int) -> bool:
    """Whether something accepts a TCP connection at host:port."""
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        return False
    return True


def run_until_exit(program: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run `[program:x]` of supervisord.conf, expecting it to stop by itself."""
    argv = supervisord_argv(program, supervisord_programs()[program], env)
    assert argv[0] == "gunicorn", argv
    return subprocess.run([sys.executable, "-m", "gunicorn", *argv[1:]], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless; Playwright never downloads a browser here."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        yield launched
        launched.close()


def test_by_default_only_this_machine_can_connect(base_env: dict[str, str], redis_client,
                                                  tmp_path: Path) -> None:
    # 127.0.0.2 is this machine too, but only a wildcard listener answers there: it tells a
    # bind to 127.0.0.1 from one to 0.0.0.0 even on a machine with no other address.
    elsewhere = [address for address in (this_machines_address(), "127.0.0.2") if address]
    server = ApiServer(base_env, tmp_path).start()  # HOST as make run defaults it
    try:
        assert requests.get(f"{server.url}/stream/status", timeout=5).status_code == 200
        metrics_port = int(server.env["METRICS_PORT"])
        assert answers("127.0.0.1", metrics_port)
        for address in elsewhere:
            assert not answers(address, server.port) and not answers(address, metrics_port)
    finally:
        server.stop()


@pytest.mark.parametrize("program", ["api", "preview"])
def test_a_network_host_without_a_token_refuses_to_start(base_env: dict[str, str],
                                                         program: str) -> None:
    port = str(free_port())
    env = {**os.environ, **base_env, "HOST": "0.0.0.0", "PORT": port, "WS_PORT": port,
           "METRICS_PORT": str(free_port()), "API_TOKEN": "", "ALLOW_NO_TOKEN": ""}
    result = run_until_exit(program, env)
    assert result.returncode != 0  # the master stopped before listening, not its workers
    output = result.stdout + result.stderr
    assert "Booting worker" not in output
    assert f"stream-manager: configuration error: {REFUSAL}" in output, output[-2000:]
    assert "ALLOW_NO_TOKEN=yes" in output
    assert not answers("127.0.0.1", int(port))


def test_allow_no_token_opens_it_and_the_admin_page_warns(
        base_env: dict[str, str], redis_client, browser: Browser, tmp_path: Path) -> None:
    server = ApiServer({**base_env, "HOST": "0.0.0.0", "ALLOW_NO_TOKEN": "yes"}, tmp_path)
    server.start()
    try:
        for host in ("127.0.0.1", this_machines_address()):
            if host is not None:
                status = requests.get(f"http://{host}:{server.port}/stream/status", timeout=5)
                assert status.status_code == 200, host
        assert "anyone who reaches it can change the stream" in server.tail()
        page = browser.new_page()
        try:
            page.goto(server.url)
            expect(page.locator("#open-warning")).to_be_visible()
            expect(page.locator("#open-warning")).to_contain_text("ALLOW_NO_TOKEN=yes")
        finally:
            page.close()
    finally:
        server.stop()
    quiet = ApiServer(base_env, tmp_path).start()
    try:
        page = browser.new_page()
        try:
            page.goto(quiet.url)
            expect(page.locator("h1")).to_be_visible()
            expect(page.locator("#open-warning")).to_be_hidden()
        finally:
            page.close()
    finally:
        quiet.stop()


def test_the_api_and_the_preview_share_a_kept_token(base_env: dict[str, str], redis_client,
                                                    celery_worker, tmp_path: Path) -> None:
    """As compose runs them: HOST=0.0.0.0 and no API_TOKEN, but API_TOKEN_FILE on a volume."""
    token_file = tmp_path / "run" / "api-token"
    env = {**base_env, "HOST": "0.0.0.0", "API_TOKEN_FILE": str(token_file)}
    api = ApiServer(env, tmp_path).start()
    preview = PreviewServer(env, tmp_path).start()
    try:
        token = token_file.read_text().strip()
        assert len(token) >= 24 and token not in api.tail() + preview.tail()
        assert str(token_file) in api.tail()  # the log says where it is, not what it is
        assert requests.get(f"{api.url}/stream/status", timeout=5).status_code == 401
        authorised = requests.get(f"{api.url}/stream/status", timeout=5,
                                  headers={"Authorization": f"Bearer {token}"})
        assert authorised.status_code == 200
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(preview.url(), timeout=10, suppress_origin=True)
        assert refused.value.status_code == 401
        client = PreviewClient(preview.url(), token=token)
        try:
            assert client.wait_for("hello")
        finally:
            client.close()
    finally:
        preview.stop()
        api.stop()
