"""Helpers every part of the store shares: the clock, the layer order, and parsing stored JSON
with quarantine instead of crashing."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from marshmallow import Schema, ValidationError

from core.commit import Committer

log = logging.getLogger(__name__)


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds, as the wire contract uses."""
    return int(time.time() * 1000)


def layer_order(layer: dict[str, Any]) -> tuple[int, int, str]:
    """Bottom to top: by zIndex, then by age, then by id so the order is total."""
    return (layer["zIndex"], layer["createdAt"], layer["id"])


class StoredValues:
    """Loads stored JSON values through a schema; a corrupt one is quarantined, not fatal."""

    def __init__(self, committer: Committer) -> None:
        self._committer = committer

    def parse(self, key: str, where: str | int, raw: str | None,
              schema: Schema) -> dict[str, Any] | None:
        """The loaded value, or None when it is absent or corrupt (then it is quarantined)."""
        if raw is None:
            return None
        try:
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValidationError("not a JSON object")
            return schema.load(value)
        except (ValueError, ValidationError) as exc:
            reason = str(getattr(exc, "messages", exc))[:500]
            log.error("corrupt value at %s[%s] quarantined: %s", key, where, reason)
            self._committer.quarantine(key, where, raw, reason)
            return None
