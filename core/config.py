"""Settings from the environment, parsed strictly.

Every process builds one `Settings` at start-up with `load_settings()`. A bad value raises
`ConfigError` naming the variable, and the entrypoints turn that into a one-line message and a
non-zero exit: a typo in production must stop the process, not fall back to a default.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from core.config_values import (
    ConfigError as ConfigError,
)
from core.config_values import (
    Env,
    basic_auth,
    bitrate_in,
    even_in,
    float_in,
    host_address,
    int_in,
    log_level,
    one_of,
    origins,
    port,
    prefix,
    rate_limit,
    redis_url,
    rtmp_urls,
    token_text,
    yes_no,
)
from core.secret_file import read_or_create

RECORD_MODES = ("on", "off")
# VIDEO_BITRATE's bounds in b/s; a channel's own videoBitrate keeps to them too (core.channels).
VIDEO_BITRATE_RANGE = (100_000, 100_000_000)


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
    # A render node's capacity in channel cost units (None: the cores it may use).
    render_capacity: float | None = None
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
    max_channels: int = 50
    undo_depth: int = 200
    health_check_interval: float = 5.0
    log_level: str = "INFO"

    @property
    def listen_host(self) -> str:
        """HOST as a socket wants it: an IPv6 address without its brackets."""
        return self.host.removeprefix("[").removesuffix("]")

    @property
    def node_capacity(self) -> float:
        """RENDER_CAPACITY, or the number of cores this process may run on."""
        return self.render_capacity or float(len(os.sched_getaffinity(0)))

    @property
    def open_without_token(self) -> bool:
        """Listening where other machines can reach it, with no API token (ALLOW_NO_TOKEN)."""
        return not is_loopback(self.host) and not self.api_token and not self.api_token_file


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build `Settings` from `environ` (default: the process environment).

    Unset or empty variables take their defaults; anything else must parse, or `ConfigError`
    names the variable.
    """
    env = Env(os.environ if environ is None else environ)
    settings = Settings(
        host=env.get("HOST", host_address, Settings.host),
        port=env.get("PORT", port, 4200),
        ws_port=env.get("WS_PORT", port, 4201),
        metrics_port=env.get("METRICS_PORT", port, 9090),
        render_metrics_port=env.get("RENDER_METRICS_PORT", port, 9091),
        flower_port=env.get("FLOWER_PORT", port, 5555),
        redis_url=env.get("REDIS_URL", redis_url, Settings.redis_url),
        redis_password=env.get("REDIS_PASSWORD", str, None),
        redis_prefix=env.get("REDIS_PREFIX", prefix, Settings.redis_prefix),
        redis_timeout=env.get("REDIS_TIMEOUT", float_in(0.05, 30.0), 1.0),
        render_fps=env.get("RENDER_FPS", int_in(1, 120), 30),
        render_capacity=env.get("RENDER_CAPACITY", float_in(0.01, 10_000.0), None),
        output_width=env.get("OUTPUT_WIDTH", even_in(16, 7680), 1280),
        output_height=env.get("OUTPUT_HEIGHT", even_in(16, 4320), 720),
        video_bitrate=env.get("VIDEO_BITRATE", bitrate_in(*VIDEO_BITRATE_RANGE), 4_500_000),
        audio_bitrate=env.get("AUDIO_BITRATE", bitrate_in(32_000, 512_000), 128_000),
        preview_fps=env.get("PREVIEW_FPS", int_in(1, 60), 15),
        preview_ping_interval=env.get("PREVIEW_PING_INTERVAL", float_in(0.2, 300.0), 10.0),
        preview_pong_timeout=env.get("PREVIEW_PONG_TIMEOUT", float_in(0.5, 3600.0), 30.0),
        max_layers=env.get("MAX_LAYERS", int_in(1, 1000), 64),
        rtmp_urls=env.get("RTMP_URL", rtmp_urls, ()),
        recordings_dir=env.get("RECORDINGS_DIR", Path, Settings.recordings_dir),
        record=env.get("RECORD", one_of(RECORD_MODES), "off"),
        media_root=env.get("MEDIA_ROOT", Path, Settings.media_root),
        api_token=env.get("API_TOKEN", token_text, None),
        api_token_file=env.get("API_TOKEN_FILE", Path, None),
        allow_no_token=env.get("ALLOW_NO_TOKEN", yes_no, False),
        viewer_token=env.get("VIEWER_TOKEN", token_text, None),
        preview_origins=env.get("PREVIEW_ORIGINS", origins, ()),
        flower_basic_auth=env.get("FLOWER_BASIC_AUTH", basic_auth, None),
        rate_limit=env.get("RATE_LIMIT", rate_limit, None),
        state_update_debounce=env.get("STATE_UPDATE_DEBOUNCE", float_in(0.0, 60.0), 1.0),
        max_retries=env.get("MAX_RETRIES", int_in(0, 100), 3),
        poll_interval=env.get("POLL_INTERVAL", int_in(100, 60_000), 1000),
        command_timeout=env.get("COMMAND_TIMEOUT", float_in(0.05, 30.0), 2.0),
        max_json_bytes=env.get("MAX_JSON_BYTES", int_in(1024, 16 * 1024 * 1024), 64 * 1024),
        max_upload_bytes=env.get("MAX_UPLOAD_BYTES", int_in(1024, 1 << 30), 20 * 1024 * 1024),
        max_media_upload_bytes=env.get("MAX_MEDIA_UPLOAD_BYTES", int_in(1024, 1 << 40),
                                       2 * 1024**3),
        max_image_pixels=env.get("MAX_IMAGE_PIXELS", int_in(1, 1 << 28), 4096 * 4096),
        chat_history=env.get("CHAT_HISTORY", int_in(1, 10_000), 200),
        events_maxlen=env.get("EVENTS_MAXLEN", int_in(100, 1_000_000), 10_000),
        max_scenes=env.get("MAX_SCENES", int_in(1, 1000), 100),
        max_cues=env.get("MAX_CUES", int_in(1, 10_000), 200),
        max_channels=env.get("MAX_CHANNELS", int_in(1, 1000), 50),
        undo_depth=env.get("UNDO_DEPTH", int_in(100, 10_000), 200),
        health_check_interval=env.get("HEALTH_CHECK_INTERVAL", float_in(0.5, 300.0), 5.0),
        log_level=env.get("LOG_LEVEL", log_level, "INFO"),
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
        token = token_text(read_or_create(path, lambda: secrets.token_urlsafe(24)))
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


