"""The program audio settings in the store: read them, change them atomically.

One JSON value (`Keys.audio`, field `settings`) holds master, bed, loudness and their
version. Nothing is stored until the first change: until then reads give the defaults at
version 0. Each change bumps the version by one and appends an `audio.updated` event carrying
the settings, which the render worker applies between frames.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

import redis

from core import events
from core.audio import (
    BED_ACTIONS,
    DEFAULTS,
    AudioSettings,
    after_bed_action,
    dump_settings,
    load_stored,
    merged,
)
from core.commit import Change, Outcome, Plan, dumps
from core.errors import InvalidInput
from core.keys import Keys
from core.show import API_ACTOR, Actor
from core.store.history import state_entry
from core.store.values import StoredValues, check_version, now_ms

SETTINGS_FIELD = "settings"
Runner = Callable[[str, Callable[[], Plan]], Outcome]


class AudioStore:
    """Reads and atomically changes the audio settings (reached as `StateStore.audio`)."""

    def __init__(self, client: redis.Redis, keys: Keys, values: StoredValues,
                 run: Runner) -> None:
        self.redis = client
        self.keys = keys
        self._values = values
        self._run = run

    def get(self) -> tuple[AudioSettings, int]:
        """The settings and their version (the defaults and 0 when none are stored)."""
        return self._read()[1:]

    def update(self, command_id: str, patch: Mapping[str, Mapping[str, Any]],
               if_match: int | None = None, actor: Actor = API_ACTOR) -> Outcome:
        """Merge a loaded change (core.audio.load_patch: model attribute names)."""
        return self._change(command_id, if_match, lambda settings: merged(settings, patch),
                            "audio.update", actor)

    def control_bed(self, command_id: str, action: str, if_match: int | None = None,
                    actor: Actor = API_ACTOR) -> Outcome:
        """play / pause the bed, or cue next, previous or restart (core.audio.BED_ACTIONS).
        Playing a playing bed (pausing a paused one) changes nothing."""
        if action not in BED_ACTIONS:
            raise ValueError(f"unknown bed action {action!r}")
        return self._change(command_id, if_match,
                            lambda settings: after_bed_action(settings, action),
                            f"audio.bed.{action}", actor)

    def _change(self, command_id: str, if_match: int | None,
                change: Callable[[AudioSettings], AudioSettings], op: str,
                actor: Actor) -> Outcome:
        def plan() -> Plan:
            raw, settings, version = self._read()
            check_version("audio", "settings", version, if_match,
                          lambda: dump_settings(settings, version))
            try:
                changed = change(settings)
            except TypeError as exc:
                # A change core.audio.load_patch let through is valid; this answers one made
                # by hand with a field the settings do not have, instead of failing the task.
                raise InvalidInput("the change is not valid", {"_schema": str(exc)}) from None
            if changed == settings:
                return Plan(Outcome(200, dump_settings(settings, version)))
            wire = dump_settings(changed, version + 1)
            return Plan(Outcome(200, wire),
                        [Change(self.keys.audio, SETTINGS_FIELD, raw, dumps(wire))],
                        event=(events.AUDIO_UPDATED, wire),
                        history=state_entry(op, actor, dump_settings(settings, version), wire,
                                            now_ms()))

        return self._run(command_id, plan)

    def _read(self) -> tuple[str | None, AudioSettings, int]:
        """The stored JSON (for compare-and-set), the settings and their version. A corrupt
        value is quarantined (removed), so the defaults stand at version 0."""
        raw = cast(str | None, self.redis.hget(self.keys.audio, SETTINGS_FIELD))
        found = self._values.parse(self.keys.audio, SETTINGS_FIELD, raw, load_stored)
        if found is None:
            return None, DEFAULTS, 0
        return raw, found[0], found[1]
