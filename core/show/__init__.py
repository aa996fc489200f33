"""Show control: transitions (tweens of a layer change, a scene take's cut, fade or wipe), who
made a change (`Actor`), and the easing curves the render worker moves values along."""

from core.show.actor import API_ACTOR, Actor
from core.show.transition import (
    EASINGS,
    MAX_DURATION_MS,
    SCENE_CUTS,
    SceneCut,
    SceneCutSchema,
    Tween,
    TweenSchema,
    dump_scene_cut,
    dump_tween,
    ease,
    load_scene_cut,
    load_tween,
)

__all__ = [
    "API_ACTOR", "EASINGS", "MAX_DURATION_MS", "SCENE_CUTS", "Actor", "SceneCut",
    "SceneCutSchema", "Tween", "TweenSchema", "dump_scene_cut", "dump_tween", "ease",
    "load_scene_cut", "load_tween",
]
