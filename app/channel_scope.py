"""Which channel a request is about, and the `/channels/<channel>/...` twin of every
`/stream/...` route.

Plain `/stream/...` is the `default` channel, exactly as before channels. The same blueprints are
registered a second time inside the `channel` blueprint (url_prefix `/channels/<channel>`), so
`/channels/news/stream/layers` is the layers view of channel `news`: a url_value_preprocessor
takes `channel` out of the view's arguments into `flask.g`, and a url_defaults puts it back for
`url_for`, so `url_for(".get_layer", ...)` inside a channel's request names that channel's URL.

The channel is checked after authentication (an app-wide before_request, which runs first):
a malformed id is 400 and an unknown one 404, both naming `channel`, and no client without a
token learns which channels exist.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Blueprint, g, has_app_context

from core.errors import InvalidInput, NotFound
from core.keys import CHANNEL_ID_RE, DEFAULT_CHANNEL

SCOPE = "channel"
SCOPE_PREFIX = "/channels/<channel>"
CHANNEL_RULE = "must be a slug: 1-32 lowercase letters, digits and inner hyphens"


def request_channel() -> str:
    """The channel of the request being handled (`default` outside a channel's routes)."""
    if not has_app_context():
        return DEFAULT_CHANNEL
    found: str = g.get("channel", DEFAULT_CHANNEL)
    return found


def scoped(endpoint: str) -> str:
    """`endpoint`, or its twin in the request's channel when the request came through
    `/channels/<channel>/...` (so a Location stays in the channel the client addressed)."""
    return f"{SCOPE}.{endpoint}" if has_app_context() and "channel" in g else endpoint


def valid_channel_id(value: str) -> str:
    """`value` if it can name a channel; 400 naming `channel` otherwise."""
    if not CHANNEL_ID_RE.fullmatch(value):
        raise InvalidInput("not a channel id", {"channel": CHANNEL_RULE})
    return value


def channel_scope(children: Iterable[Blueprint], exists: Callable[[str], bool]) -> Blueprint:
    """The `channel` blueprint holding a twin of each of `children` under
    `/channels/<channel>`; `exists(channel_id) -> bool` says whether a channel exists."""
    scope = Blueprint(SCOPE, __name__, url_prefix=SCOPE_PREFIX)

    @scope.url_value_preprocessor
    def take_channel(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values and "channel" in values:
            g.channel = values.pop("channel")

    @scope.url_defaults
    def give_channel(endpoint: str, values: dict[str, Any]) -> None:
        if "channel" not in values and "channel" in g:
            values["channel"] = g.channel

    @scope.before_request
    def check_channel() -> None:
        channel = g.get("channel")
        if channel is None:
            return
        valid_channel_id(channel)
        if not exists(channel):
            raise NotFound(f"no channel with id {channel!r}",
                           {"channel": "unknown channel"})

    for child in children:
        scope.register_blueprint(child)
    return scope
