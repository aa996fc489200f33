"""Settings: defaults, strict parsing, and errors that name the variable."""

import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from core.config import ConfigError, Settings, load_settings, with_api_token

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_match_the_design() -> None:
    settings = load_settings({})
    assert (settings.port, settings.ws_port, settings.metrics_port) == (4200, 4201, 9090)
    assert settings.flower_port == 5555 and settings.redis_prefix == "sm:"
    assert (settings.render_fps, settings.output_width, settings.output_height) == (30, 1280, 720)
    assert settings.preview_fps == 15 and settings.rtmp_urls == ()
    assert settings.max_retries == 3 and settings.poll_interval == 1000


def test_values_are_parsed() -> None:
    settings = load_settings({
        "PORT": "8080", "VIDEO_BITRATE": "6M", "AUDIO_BITRATE": "160k",
        "RTMP_URL": "rtmp://a/live/k1, rtmps://b:443/app/k2",
        "PREVIEW_ORIGINS": "https://ops.example.com, http://localhost:4200/",
        "RATE_LIMIT": "10/second;300 per minute", "FLOWER_BASIC_AUTH": "ops:pw",
        "STATE_UPDATE_DEBOUNCE": "0.5", "LOG_LEVEL": "debug",
    })
    assert settings.port == 8080 and settings.video_bitrate == 6_000_000
    assert settings.audio_bitrate == 160_000
    assert settings.rtmp_urls == ("rtmp://a/live/k1", "rtmps://b:443/app/k2")
    assert settings.preview_origins == ("https://ops.example.com", "http://localhost:4200")
    assert settings.state_update_debounce == 0.5 and settings.log_level == "DEBUG"


@pytest.mark.parametrize(("name", "value"), [
    ("PORT", "http"), ("PORT", "70000"), ("PORT", "0"), ("WS_PORT", "-1"),
    ("REDIS_URL", "http://localhost"), ("REDIS_URL", "redis://:99999999"),
    ("REDIS_PREFIX", "has space"), ("RENDER_FPS", "0"), ("RENDER_FPS", "29.97"),
    ("OUTPUT_WIDTH", "1281"), ("OUTPUT_HEIGHT", "100000"), ("VIDEO_BITRATE", "fast"),
    ("AUDIO_BITRATE", "1"), ("PREVIEW_FPS", "1000"), ("MAX_LAYERS", "0"),
    ("RTMP_URL", "http://twitch.tv/key"), ("PREVIEW_ORIGINS", "*"), ("API_TOKEN", "short"),
    ("FLOWER_BASIC_AUTH", "nopassword"), ("RATE_LIMIT", "lots"),
    ("STATE_UPDATE_DEBOUNCE", "nan"), ("MAX_RETRIES", "many"), ("POLL_INTERVAL", "5"),
    ("COMMAND_TIMEOUT", "inf"), ("LOG_LEVEL", "LOUD"), ("HOST", "::1"), ("HOST", "300.1.2.3"),
    ("HOST", "[not-ipv6]"), ("HOST", "a host"), ("HOST", "0.0.0.0:4200"),
    ("ALLOW_NO_TOKEN", "maybe"),
])
def test_bad_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({name: value})
    assert raised.value.variable == name
    assert str(raised.value).startswith(f"{name}: ")


def test_stream_keys_are_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"RTMP_URL": "rtmp://ok/live/key1,ftp://host/live/sk_live_SECRET"})
    assert "SECRET" not in str(raised.value)


def test_viewer_token_must_differ_from_api_token() -> None:
    with pytest.raises(ConfigError, match="VIEWER_TOKEN"):
        load_settings({"API_TOKEN": "same-token-1", "VIEWER_TOKEN": "same-token-1"})


def test_empty_means_default() -> None:
    assert load_settings({"PORT": "", "RTMP_URL": " "}) == Settings()


@pytest.mark.parametrize("module", ["wsgi", "workers.celery"])
def test_entrypoints_stop_with_a_message_naming_the_variable(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "RENDER_FPS": "fast"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "RENDER_FPS" in result.stderr and "Traceback" not in result.stderr


def test_preview_pong_timeout_must_outlast_the_ping_interval() -> None:
    with pytest.raises(ConfigError, match="PREVIEW_PONG_TIMEOUT"):
        load_settings({"PREVIEW_PING_INTERVAL": "10", "PREVIEW_PONG_TIMEOUT": "10"})
    settings = load_settings({"PREVIEW_PING_INTERVAL": "1", "PREVIEW_PONG_TIMEOUT": "2.5"})
    assert (settings.preview_ping_interval, settings.preview_pong_timeout) == (1.0, 2.5)


NETWORK_HOSTS = ["0.0.0.0", "[::]", "192.168.1.20", "studio.example.com"]


@pytest.mark.parametrize("host", ["127.0.0.1", "127.1.2.3", "localhost", "[::1]"])
def test_loopback_hosts_need_no_token(host: str) -> None:
    settings = load_settings({"HOST": host})
    assert settings.host == host and not settings.open_without_token
    assert load_settings({}).host == "127.0.0.1"


@pytest.mark.parametrize("host", NETWORK_HOSTS)
def test_a_host_other_machines_reach_needs_a_token(host: str) -> None:
    """Like Redis' protected mode: refused, with a message naming HOST, API_TOKEN and the
    opt-out."""
    for environ in ({"HOST": host}, {"HOST": host, "ALLOW_NO_TOKEN": "no"}):
        with pytest.raises(ConfigError) as raised:
            load_settings(environ)
        assert raised.value.variable == "HOST"
        message = str(raised.value)
        assert message.startswith(f"HOST: {host} can be reached from other machines")
        assert "Set API_TOKEN" in message and "HOST=127.0.0.1" in message
        assert "ALLOW_NO_TOKEN=yes" in message
    assert load_settings({"HOST": host, "API_TOKEN": "a-long-token"}).api_token == "a-long-token"
    assert load_settings({"HOST": host, "API_TOKEN_FILE": "/run/token"}).api_token is None


@pytest.mark.parametrize("host", NETWORK_HOSTS)
def test_allow_no_token_opts_out_on_a_trusted_network(host: str) -> None:
    settings = load_settings({"HOST": host, "ALLOW_NO_TOKEN": "yes"})
    assert settings.allow_no_token and settings.open_without_token
    assert settings.listen_host == host.strip("[]")


def test_api_token_file_is_made_once_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "run" / "api-token"
    settings = load_settings({"HOST": "0.0.0.0", "API_TOKEN_FILE": str(path)})
    first = with_api_token(settings)
    assert first.api_token and len(first.api_token) >= 24
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert with_api_token(settings).api_token == first.api_token
    # Processes starting together agree on one token.
    racing = load_settings({"API_TOKEN_FILE": str(tmp_path / "raced")})
    with ThreadPoolExecutor(8) as pool:
        tokens = set(pool.map(lambda _: with_api_token(racing).api_token, range(16)))
    assert len(tokens) == 1
    assert sorted(item.name for item in tmp_path.iterdir()) == ["raced", "run"]


def test_api_token_wins_over_the_file(tmp_path: Path) -> None:
    path = tmp_path / "api-token"
    settings = with_api_token(load_settings({"API_TOKEN": "operator-token",
                                             "API_TOKEN_FILE": str(path)}))
    assert settings.api_token == "operator-token" and not path.exists()


def test_a_bad_api_token_file_is_named(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_text("abc\n")
    with pytest.raises(ConfigError, match="API_TOKEN_FILE"):
        with_api_token(load_settings({"API_TOKEN_FILE": str(short)}))
    kept = tmp_path / "kept"
    kept.write_text("viewer-token-1\n")
    with pytest.raises(ConfigError, match="VIEWER_TOKEN"):
        with_api_token(load_settings({"API_TOKEN_FILE": str(kept),
                                      "VIEWER_TOKEN": "viewer-token-1"}))


@pytest.mark.parametrize("argv", [["-c", "import wsgi"], ["-m", "render"],
                                  ["-c", "import workers.celery"], ["-m", "workers.flower"]])
def test_entrypoints_refuse_an_open_host_without_a_token(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, *argv], cwd=ROOT,
                            env={"PATH": "/usr/bin:/bin", "HOST": "0.0.0.0"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "HOST: 0.0.0.0 can be reached from other machines" in result.stderr
    assert "API_TOKEN" in result.stderr and "ALLOW_NO_TOKEN=yes" in result.stderr
    assert "Traceback" not in result.stderr
