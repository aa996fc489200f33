"""Parsing environment values for core.config: each parser takes the raw text of one
variable and answers its value or raises ValueError (ConfigError when it names the variable
itself); `Env.get` turns the error into a ConfigError naming the variable."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")

BITRATE = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")
ONE_LIMIT = r"\d+\s*(?:/|per)\s*(?:second|minute|hour|day)s?"
RATE_LIMIT = re.compile(rf"^{ONE_LIMIT}(?:\s*;\s*{ONE_LIMIT})*$")
PREFIX = re.compile(r"^[A-Za-z0-9_.:-]{1,32}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
HOST_NAME = re.compile(rf"^{HOST_LABEL}(?:\.{HOST_LABEL})*$")
YES = ("yes", "true", "on", "1")
NO = ("no", "false", "off", "0")


class ConfigError(ValueError):
    """A configuration variable holds a value the process cannot run with."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(f"{variable}: {message}")
        self.variable = variable


class Env:
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


def integer(raw: str) -> int:
    if not re.fullmatch(r"[+-]?\d+", raw):
        raise ValueError(f"expected a whole number, got {raw!r}")
    return int(raw)


def int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = integer(raw)
        if not low <= value <= high:
            raise ValueError(f"{value} is outside {low}..{high}")
        return value

    return parse


def even_in(low: int, high: int) -> Callable[[str], int]:
    within = int_in(low, high)

    def parse(raw: str) -> int:
        value = within(raw)
        if value % 2:
            raise ValueError(f"{value} must be even (H.264 4:2:0 needs even sizes)")
        return value

    return parse


def float_in(low: float, high: float) -> Callable[[str], float]:
    def parse(raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"expected a number, got {raw!r}") from None
        if not low <= value <= high:  # also rejects nan
            raise ValueError(f"{raw} is outside {low}..{high}")
        return value

    return parse


def port(raw: str) -> int:
    return int_in(1, 65535)(raw)


def host_address(raw: str) -> str:
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
    if len(raw) > 253 or not HOST_NAME.match(raw):
        raise ValueError(f"expected an IP address or a host name such as localhost, got {raw!r}")
    return raw


def yes_no(raw: str) -> bool:
    if raw.lower() in YES:
        return True
    if raw.lower() in NO:
        return False
    raise ValueError(f"expected yes or no, got {raw!r}")


def bitrate_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        match = BITRATE.match(raw)
        if not match:
            raise ValueError(f"expected bits per second such as 4500k or 6M, got {raw!r}")
        scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
        value = int(float(match.group(1)) * scale)
        if not low <= value <= high:
            raise ValueError(f"{value} b/s is outside {low}..{high}")
        return value

    return parse


def redis_url(raw: str) -> str:
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


def prefix(raw: str) -> str:
    if not PREFIX.match(raw):
        raise ValueError("use 1-32 letters, digits or _ . : -")
    return raw


def rtmp_urls(raw: str) -> tuple[str, ...]:
    urls = tuple(part.strip() for part in raw.split(",") if part.strip())
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in ("rtmp", "rtmps") or not parts.hostname:
            # Never echo the URL: it carries the stream key.
            raise ValueError("each URL must be rtmp://host/app/key or rtmps://...")
    return urls


def origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip().rstrip("/") for part in raw.split(",") if part.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path:
            raise ValueError(f"{origin!r} is not an origin such as https://example.com:8443")
    return origins


def token_text(raw: str) -> str:
    if len(raw) < 8:
        raise ValueError("a token must be at least 8 characters")
    return raw


def basic_auth(raw: str) -> str:
    user, sep, password = raw.partition(":")
    if not sep or not user or not password:
        raise ValueError("expected user:password")
    return raw


def rate_limit(raw: str) -> str:
    if not RATE_LIMIT.match(raw):
        raise ValueError(f"expected a limit such as '100/minute', got {raw!r}")
    return raw


def one_of(choices: tuple[str, ...]) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw.lower() not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return raw.lower()

    return parse


def log_level(raw: str) -> str:
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}")
    return level
