"""Helpers every part of the store shares: the clock, and parsing stored JSON with quarantine
instead of crashing."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from marshmallow import ValidationError

from core.commit import Committer
from core.errors import NotFound, VersionConflict

log = logging.getLogger(__name__)

Loaded = TypeVar("Loaded")


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, as the wire contract uses."""
    return int(time.time() * 1000)


class StoredValues:
    """Loads stored JSON values (a schema's `load`); a corrupt one is quarantined, not fatal."""

    def __init__(self, committer: Committer) -> None:
        self._committer = committer

    def parse(self, key: str, where: str | int, raw: str | None,
              load: Callable[[dict[str, Any]], Loaded]) -> Loaded | None:
        """The loaded value, or None when it is absent or corrupt (then it is quarantined)."""
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValidationError("not a JSON object")
            return load(value)
        except (ValueError, ValidationError) as exc:
            reason = str(getattr(exc, "messages", exc))[:500]
            log.error("corrupt value at %s[%s] quarantined: %s", key, where, reason)
            self._committer.quarantine(key, where, raw, reason)
            return None

    def require(self, key: str, where: str, raw: str | None,
                load: Callable[[dict[str, Any]], Loaded], what: str) -> Loaded:
        """Like `parse`, but NotFound (naming `what`) when the value is absent or corrupt."""
        found = self.parse(key, where, raw, load)
        if found is None:
            raise NotFound(f"no {what} with id {where!r}", {"id": f"unknown {what}"})
        return found


def check_version(what: str, resource_id: str, version: int, if_match: int | None,
                  current: Callable[[], dict[str, Any]]) -> None:
    """VersionConflict (with the resource as it is now) unless `if_match` is absent or is
    `version`."""
    if if_match is not None and if_match != version:
        raise VersionConflict(f"{what} {resource_id} is at version {version}, not {if_match}",
                              current=current())
