"""Settings from the environment, parsed strictly.

Every process builds one `Settings` at start-up with `load_settings()`. A bad value raises
`ConfigError` naming the variable, and the entrypoints turn that into a one-line message and a
non-zero exit: a typo in production must stop the process, not fall back to a default.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import secrets
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from core.secret_file import read_or_create

T = TypeVar("T")

_BITRATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")
_ONE_LIMIT = r"\d+\s*(?:/|per)\s*(?:second|minute|hour|day)s?"
_RATE_LIMIT = re.compile(rf"^{_ONE_LIMIT}(?:\s*;\s*{_ONE_LIMIT})*$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,32}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"^{_HOST_LABEL}(?:\.{_HOST_LABEL})*$")
_YES = ("yes", "true", "on", "1")
_NO = ("no", "false", "off", "0")
RECORD_MODES = ("on", "off")


class ConfigError(ValueError):
    """A configuration variable holds a value the process cannot run with."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    """Everything a process reads from its environment, already validated."""

    host: str = "127.0.0.1"
    port: int = 4200
    ws_port: int = 4201
    metrics_port: int = 9090
    render_metrics_port: int = 9091
    flower_port: int = 5555
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_password: str | None = None
    redis_prefix: str = "sm:"
    redis_timeout: float = 1.0
    render_fps: int = 30
    output_width: int = 1280
    output_height: int = 720
    video_bitrate: int = 4_500_000
    audio_bitrate: int = 128_000
    preview_fps: int = 15
    preview_ping_interval: float = 10.0
    preview_pong_timeout: float = 30.0
    max_layers: int = 64
    rtmp_urls: tuple[str, ...] = ()
    recordings_dir: Path = Path("var/recordings")
    record: str = "off"
    media_root: Path = Path("var/media")
    api_token: str | None = None
    api_token_file: Path | None = None
    allow_no_token: bool = False
    viewer_token: str | None = None
    preview_origins: tuple[str, ...] = ()
    flower_basic_auth: str | None = None
    rate_limit: str | None = None
    state_update_debounce: float = 1.0
    max_retries: int = 3
    poll_interval: int = 1000
    command_timeout: float = 2.0
    max_json_bytes: int = 64 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    max_media_upload_bytes: int = 2 * 1024**3
    max_image_pixels: int = 4096 * 4096
    chat_history: int = 200
    events_maxlen: int = 10_000
    max_scenes: int = 100
    max_cues: int = 200
    undo_depth: int = 200
    health_check_interval: float = 5.0
    log_level: str = "INFO"

    @property
    def listen_host(self) -> str:
        """HOST as a socket wants it: an IPv6 address without its brackets."""
        return self.host.removeprefix("[").removesuffix("]")

    @property
    def open_without_token(self) -> bool:
        """Listening where other machines can reach it, with no API token (ALLOW_NO_TOKEN)."""
        return not is_loopback(self.host) and not self.api_token and not self.api_token_file


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from `environ` (default: the process environment).

    Unset or empty variables take their defaults; anything else must parse, or `ConfigError`
    names the variable.
    """
    env = _Env(os.environ if environ is None else environ)
    settings = Settings(
        host=env.get("HOST", _host, Settings.host),
        port=env.get("PORT", _port, 4200),
        ws_port=env.get("WS_PORT", _port, 4201),
        metrics_port=env.get("METRICS_PORT", _port, 9090),
        render_metrics_port=env.get("RENDER_METRICS_PORT", _port, 9091),
        flower_port=env.get("FLOWER_PORT", _port, 5555),
        redis_url=env.get("REDIS_URL", _redis_url, Settings.redis_url),
        redis_password=env.get("REDIS_PASSWORD", str, None),
        redis_prefix=env.get("REDIS_PREFIX", _prefix, Settings.redis_prefix),
        redis_timeout=env.get("REDIS_TIMEOUT", _float_in(0.05, 30.0), 1.0),
        render_fps=env.get("RENDER_FPS", _int_in(1, 120), 30),
        output_width=env.get("OUTPUT_WIDTH", _even_in(16, 7680), 1280),
        output_height=env.get("OUTPUT_HEIGHT", _even_in(16, 4320), 720),
        video_bitrate=env.get("VIDEO_BITRATE", _bitrate_in(100_000, 100_000_000), 4_500_000),
        audio_bitrate=env.get("AUDIO_BITRATE", _bitrate_in(32_000, 512_000), 128_000),
        preview_fps=env.get("PREVIEW_FPS", _int_in(1, 60), 15),
        preview_ping_interval=env.get("PREVIEW_PING_INTERVAL", _float_in(0.2, 300.0), 10.0),
        preview_pong_timeout=env.get("PREVIEW_PONG_TIMEOUT", _float_in(0.5, 3600.0), 30.0),
        max_layers=env.get("MAX_LAYERS", _int_in(1, 1000), 64),
        rtmp_urls=env.get("RTMP_URL", _rtmp_urls, ()),
        recordings_dir=env.get("RECORDINGS_DIR", Path, Settings.recordings_dir),
        record=env.get("RECORD", _one_of(RECORD_MODES), "off"),
        media_root=env.get("MEDIA_ROOT", Path, Settings.media_root),
        api_token=env.get("API_TOKEN", _token, None),
        api_token_file=env.get("API_TOKEN_FILE", Path, None),
        allow_no_token=env.get("ALLOW_NO_TOKEN", _yes_no, False),
        viewer_token=env.get("VIEWER_TOKEN", _token, None),
        preview_origins=env.get("PREVIEW_ORIGINS", _origins, ()),
        flower_basic_auth=env.get("FLOWER_BASIC_AUTH", _basic_auth, None),
        rate_limit=env.get("RATE_LIMIT", _rate_limit, None),
        state_update_debounce=env.get("STATE_UPDATE_DEBOUNCE", _float_in(0.0, 60.0), 1.0),
        max_retries=env.get("MAX_RETRIES", _int_in(0, 100), 3),
        poll_interval=env.get("POLL_INTERVAL", _int_in(100, 60_000), 1000),
        command_timeout=env.get("COMMAND_TIMEOUT", _float_in(0.05, 30.0), 2.0),
        max_json_bytes=env.get("MAX_JSON_BYTES", _int_in(1024, 16 * 1024 * 1024), 64 * 1024),
        max_upload_bytes=env.get("MAX_UPLOAD_BYTES", _int_in(1024, 1 << 30), 20 * 1024 * 1024),
        max_media_upload_bytes=env.get("MAX_MEDIA_UPLOAD_BYTES", _int_in(1024, 1 << 40),
                                       2 * 1024**3),
        max_image_pixels=env.get("MAX_IMAGE_PIXELS", _int_in(1, 1 << 28), 4096 * 4096),
        chat_history=env.get("CHAT_HISTORY", _int_in(1, 10_000), 200),
        events_maxlen=env.get("EVENTS_MAXLEN", _int_in(100, 1_000_000), 10_000),
        max_scenes=env.get("MAX_SCENES", _int_in(1, 1000), 100),
        max_cues=env.get("MAX_CUES", _int_in(1, 10_000), 200),
        undo_depth=env.get("UNDO_DEPTH", _int_in(100, 10_000), 200),
        health_check_interval=env.get("HEALTH_CHECK_INTERVAL", _float_in(0.5, 300.0), 5.0),
        log_level=env.get("LOG_LEVEL", _log_level, "INFO"),
    )
    if settings.preview_pong_timeout <= settings.preview_ping_interval:
        raise ConfigError("PREVIEW_PONG_TIMEOUT", "must be longer than PREVIEW_PING_INTERVAL")
    check_listen_addresses(settings, [settings.host])
    if settings.viewer_token and not (settings.api_token or settings.api_token_file):
        raise ConfigError("VIEWER_TOKEN", "needs API_TOKEN too (without it anyone may change "
                          "anything, so a read-only token would mean nothing)")
    if settings.api_token and settings.viewer_token == settings.api_token:
        raise ConfigError("VIEWER_TOKEN", "must differ from API_TOKEN")
    return settings


def is_loopback(host: str) -> bool:
    """Whether a HOST value listens on this machine only (localhost, 127.0.0.0/8, [::1]).

    Any other name counts as reachable from elsewhere: what it resolves to may change.
    """
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def check_listen_addresses(settings: Settings, hosts: Iterable[object]) -> None:
    """Refuse, naming HOST, any of `hosts` that other machines can reach while there is no
    API token and no ALLOW_NO_TOKEN=yes (as Redis' protected mode and Jupyter's token do).

    `load_settings` checks HOST; a server checks the addresses it is about to listen on, so
    an address given some other way (gunicorn's --bind) is held to the same rule. Anything but
    a string (a Unix socket, say) is this machine's.
    """
    if settings.api_token or settings.api_token_file or settings.allow_no_token:
        return
    for host in hosts:
        if isinstance(host, str) and not is_loopback(host):
            raise ConfigError("HOST", f"{host} can be reached from other machines and "
                              "API_TOKEN is not set, so anyone who reaches it could take over "
                              "the stream. Set API_TOKEN (8 or more characters), or "
                              "HOST=127.0.0.1 to listen on this machine only, or "
                              "ALLOW_NO_TOKEN=yes on a trusted network")


def refuse_to_listen(addresses: Iterable[object]) -> None:
    """For a server's master, before it opens a socket: exit with the variable named when a
    setting is bad or one of `addresses` ((host, port) pairs) is open to other machines
    without a token. (A worker that stopped instead would leave the master listening.)"""
    try:
        hosts = [address[0] for address in addresses if isinstance(address, tuple)]
        check_listen_addresses(load_settings(), hosts)
    except ConfigError as exc:
        sys.exit(f"stream-manager: configuration error: {exc}")


def with_api_token(settings: Settings) -> Settings:
    """`settings` with the token of API_TOKEN_FILE when API_TOKEN is unset, for the
    processes that check it (the API and the preview).

    The first of them to start makes a random token and keeps it there (mode 600), so a
    deployment such as docker compose has a token without the operator choosing one.
    """
    path = settings.api_token_file
    if settings.api_token or path is None:
        return settings
    try:
        token = _token(read_or_create(path, lambda: secrets.token_urlsafe(24)))
    except (OSError, ValueError) as exc:
        raise ConfigError("API_TOKEN_FILE", f"{path}: {exc}") from None
    if token == settings.viewer_token:
        raise ConfigError("VIEWER_TOKEN", "must differ from API_TOKEN")
    return replace(settings, api_token=token)


def configure_logging(settings: Settings) -> None:
    """Set up root logging once, for an entrypoint; library modules only get loggers."""
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s",
    )


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def get(self, name: str, parse: Callable[[str], T], default: T) -> T:
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        try:
            return parse(raw)
        except ConfigError:
            raise
        except ValueError as exc:
            raise ConfigError(name, str(exc) or f"cannot parse {raw!r}") from None


def _int(raw: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise ValueError(f"expected a whole number, got {raw!r}")
    return int(raw)


def _int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = _int(raw)
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def _even_in(low: int, high: int) -> Callable[[str], int]:
    within = _int_in(low, high)

    def parse(raw: str) -> int:
        value = within(raw)
        if value % 2:
            raise ValueError(f"{value} must be even (H.264 4:2:0 needs even sizes)")
        return value

    return parse


def _float_in(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if not low <= value <= high:  # also rejects nan
            raise ValueError(f"{raw} is outside {low}..{high}")
        return value

    return parse


def _port(raw: str) -> int:
    return _int_in(1, 65535)(raw)


def _host(raw: str) -> str:
    if raw.startswith("[") and raw.endswith("]"):
        try:
            ipaddress.IPv6Address(raw[1:-1])
        except ValueError:
            raise ValueError(f"{raw!r} is not an IPv6 address in brackets") from None
        return raw
    if ":" in raw:
        raise ValueError("write an IPv6 address in brackets, such as [::1], and no port "
                         "(PORT and WS_PORT set the ports)")
    if re.fullmatch(r"[\d.]+", raw):
        try:
            ipaddress.IPv4Address(raw)
        except ValueError:
            raise ValueError(f"{raw!r} is not an IPv4 address") from None
        return raw
    if len(raw) > 253 or not _HOST_NAME.match(raw):
        raise ValueError(f"expected an IP address or a host name such as localhost, got {raw!r}")
    return raw


def _yes_no(raw: str) -> bool:
    if raw.lower() in _YES:
        return True
    if raw.lower() in _NO:
        return False
    raise ValueError(f"expected yes or no, got {raw!r}")


def _bitrate_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        match = _BITRATE.match(raw)
        if not match:
            raise ValueError(f"expected bits per second such as 4500k or 6M, got {raw!r}")
        scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
        value = int(float(match.group(1)) * scale)
        if not low <= value <= high:
            raise ValueError(f"{value} b/s is outside {low}..{high}")
        return value

    return parse


def _redis_url(raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError("expected a redis://, rediss:// or unix:// URL")
    if parts.scheme != "unix" and not parts.hostname:
        raise ValueError("the URL names no host")
    try:
        parts.port  # noqa: B018 - urlsplit validates the port lazily
    except ValueError:
        raise ValueError("the URL has a bad port") from None
    return raw


def _prefix(raw: str) -> str:
    if not _PREFIX.match(raw):
        raise ValueError("use 1-32 letters, digits or _ . : -")
    return raw


def _rtmp_urls(raw: str) -> tuple[str, ...]:
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("rtmp", "rtmps") or not parts.hostname:
            # Never echo the URL: it carries the stream key.
            raise ValueError("each URL must be rtmp://host/app/key or rtmps://...")
    return urls


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ValueError(f"{origin!r} is not an origin such as https://example.com:8443")
    return origins


def _token(raw: str) -> str:
    if len(raw) < 8:
        raise ValueError("a token must be at least 8 characters")
    return raw


def _basic_auth(raw: str) -> str:
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise ValueError("expected user:password")
    return raw


def _rate_limit(raw: str) -> str:
    if not _RATE_LIMIT.match(raw):
        raise ValueError(f"expected a limit such as '100/minute', got {raw!r}")
    return raw


def _one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw.lower()

    return parse


def _log_level(raw: str) -> str:
    level = raw.upper()
    if level not in _LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(_LOG_LEVELS)}")
    return level
