"""Scenes: named sets of layers, saved from the program or defined from a body, and how a
take matches a scene's layers to the ones on air.

A scene is a JSON value in `Keys.scenes` holding its layers whole (an input's URL included,
as the layers hash holds it); reads and events show them masked. Names are unique, taken
atomically through `Keys.scene_names`, as outputs' are.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import redis
from marshmallow import ValidationError

from core import events
from core.commit import Change, Outcome, Plan, dumps
from core.errors import Conflict, InvalidInput, LimitExceeded
from core.keys import Keys
from core.layers import Layer, NewLayer, dump_layer, find_layer_type, load_layer
from core.layers.playback import Playback
from core.store.values import StoredValues, check_version

Runner = Callable[[str, Callable[[], Plan]], Outcome]
NAME_LENGTH = 100


@dataclass(frozen=True)
class Scene:
    """A saved set of layers, bottom to top."""

    id: str
    name: str
    layers: list[Layer]
    version: int
    created_at: int
    updated_at: int


def dump_scene(scene: Scene, *, secrets: bool = False) -> dict[str, Any]:
    """A scene as JSON: its layers as reads show them (masked), or whole for the store."""
    return {"id": scene.id, "name": scene.name, "version": scene.version,
            "createdAt": scene.created_at, "updatedAt": scene.updated_at,
            "layers": [dump_layer(layer, secrets=secrets) for layer in scene.layers]}


def load_scene(wire: dict[str, Any]) -> Scene:
    """A stored scene (ValidationError if it is not one)."""
    try:
        layers = [load_layer(layer) for layer in wire["layers"]]
        return Scene(str(wire["id"]), str(wire["name"]), layers, int(wire["version"]),
                     int(wire["createdAt"]), int(wire["updatedAt"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationError(f"not a scene: {exc}") from None


def scene_layers(new_layers: Sequence[tuple[NewLayer, str | None]], now: int) -> list[Layer]:
    """Layers for a scene from a client's bodies (each with the id it chose, if any): ids made
    where missing, zIndex their position where missing."""
    layers = []
    for position, (new, chosen) in enumerate(new_layers):
        layer_type = find_layer_type(new.type)
        layers.append(Layer(
            id=chosen or secrets.token_hex(6), type=new.type, name=new.name,
            content=new.content, visible=new.visible, opacity=new.opacity,
            transform=new.transform,
            z_index=new.z_index if new.z_index is not None else position, version=1,
            created_at=now, updated_at=now,
            playback=Playback.started(now) if layer_type and layer_type.playable else None))
    ids = [layer.id for layer in layers]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a scene's layer ids must differ", {"layers": "repeats an id"})
    return layers


def match_scene(scene: Sequence[Layer], on_air: Sequence[Layer],
                now: int) -> list[tuple[str, Layer | None]]:
    """What a take does to each layer id: (id, the layer it becomes, or None to delete it).

    A scene layer whose id is on air stays that layer. Otherwise an on-air layer of the same
    type showing the same source (a video's file, an input's URL) that nothing else claimed
    lends its id, so its source process keeps running. In both cases a playing layer keeps its
    playback when its source is the same: the video does not restart. Other scene layers are
    created (a video starting now); on-air layers nothing claimed go.
    """
    by_id = {layer.id: layer for layer in on_air}
    claimed: dict[str, str] = {}  # scene layer id -> on-air id
    for layer in scene:
        if layer.id in by_id:
            claimed[layer.id] = layer.id
    for layer in scene:
        if layer.id in claimed or _source(layer) is None:
            continue
        lender = next((other for other in on_air if other.id not in claimed.values()
                       and other.type == layer.type and _source(other) == _source(layer)),
                      None)
        if lender is not None:
            claimed[layer.id] = lender.id
    result: list[tuple[str, Layer | None]] = []
    for layer in scene:
        target = claimed.get(layer.id)
        if target is None:
            playback = Playback.started(now) if layer.playback is not None else None
            result.append((layer.id, replace(layer, playback=playback, created_at=now)))
            continue
        current = by_id[target]
        playback = current.playback if _source(current) == _source(layer) else (
            Playback.started(now) if layer.playback is not None else None)
        result.append((target, replace(layer, id=target, playback=playback,
                                       created_at=current.created_at)))
    result += [(layer.id, None) for layer in on_air if layer.id not in claimed.values()]
    return result


def _source(layer: Layer) -> str | None:
    """What a layer's source process plays (a video's file, an input's URL), if it has one."""
    value = getattr(layer.content, "source", None) if layer.type == "video" else (
        getattr(layer.content, "url", None) if layer.type == "input" else None)
    return value if isinstance(value, str) else None


class SceneStore:
    """Reads and atomically changes the scenes (reached as `StateStore.scenes`)."""

    def __init__(self, client: redis.Redis, keys: Keys, values: StoredValues, run: Runner,
                 clock: Callable[[], int], max_scenes: int) -> None:
        self.redis = client
        self.keys = keys
        self._values = values
        self._run = run
        self._clock = clock
        self.max_scenes = max_scenes

    def all(self) -> list[Scene]:
        """Every valid scene, by name."""
        found = []
        for scene_id, raw in cast(dict[str, str], self.redis.hgetall(self.keys.scenes)).items():
            scene = self._values.parse(self.keys.scenes, scene_id, raw, load_scene)
            if scene is not None:
                found.append(scene)
        return sorted(found, key=lambda scene: (scene.name.casefold(), scene.id))

    def get(self, scene_id: str) -> Scene:
        """One scene, or NotFound."""
        return self._read(scene_id)[1]

    def create(self, command_id: str, name: str,
               layers: Callable[[int], list[Layer]]) -> Outcome:
        """Save a scene of `layers(now)` (made when the change is planned: the program's
        layers, or ones a client defined)."""
        scene_id = secrets.token_hex(6)

        def plan() -> Plan:
            now = self._clock()
            scene = Scene(scene_id, name, layers(now), 1, now, now)
            self._check_name_free(name)
            shown = dump_scene(scene)
            return Plan(
                Outcome(201, shown),
                [Change(self.keys.scenes, scene_id, None, dumps(dump_scene(scene, secrets=True))),
                 Change(self.keys.scene_names, name, None, scene_id)],
                event=(events.SCENE_SAVED, shown),
                cap=(self.keys.scenes, self.max_scenes, LimitExceeded(
                    f"at most {self.max_scenes} scenes (MAX_SCENES)",
                    {"scenes": f"limit is {self.max_scenes}"})))

        return self._run(command_id, plan)

    def update(self, command_id: str, scene_id: str, name: str | None,
               layers: Callable[[int], list[Layer]] | None,
               if_match: int | None = None) -> Outcome:
        """Rename a scene and/or replace its layers."""

        def plan() -> Plan:
            raw, scene = self._read(scene_id)
            check_version("scene", scene_id, scene.version, if_match, lambda: dump_scene(scene))
            now = self._clock()
            changed = replace(scene, name=name or scene.name,
                              layers=layers(now) if layers is not None else scene.layers,
                              version=scene.version + 1, updated_at=now)
            changes = [Change(self.keys.scenes, scene_id, raw,
                              dumps(dump_scene(changed, secrets=True)))]
            if changed.name != scene.name:
                self._check_name_free(changed.name)
                changes += [Change(self.keys.scene_names, scene.name, scene_id, None),
                            Change(self.keys.scene_names, changed.name, None, scene_id)]
            shown = dump_scene(changed)
            return Plan(Outcome(200, shown), changes, event=(events.SCENE_SAVED, shown))

        return self._run(command_id, plan)

    def delete(self, command_id: str, scene_id: str) -> Outcome:
        """Remove a scene (the program is left as it is)."""

        def plan() -> Plan:
            raw, scene = self._read(scene_id)
            return Plan(Outcome(204, None),
                        [Change(self.keys.scenes, scene_id, raw, None),
                         Change(self.keys.scene_names, scene.name, scene_id, None)],
                        event=(events.SCENE_DELETED, {"id": scene_id}))

        return self._run(command_id, plan)

    def _read(self, scene_id: str) -> tuple[str, Scene]:
        raw = cast(str | None, self.redis.hget(self.keys.scenes, scene_id))
        scene = self._values.require(self.keys.scenes, scene_id, raw, load_scene, "scene")
        return cast(str, raw), scene

    def _check_name_free(self, name: str) -> None:
        if self.redis.hexists(self.keys.scene_names, name):
            raise Conflict(f"a scene named {name!r} exists", {"name": "already taken"})
