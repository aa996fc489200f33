"""HTTP API blueprints: one module per resource; views validate, send a command, answer."""

from flask import Flask

from app import openapi
from app.api import (
    audio,
    channels,
    chat,
    commands,
    cues,
    health,
    layer_types,
    layers,
    media,
    nodes,
    outputs,
    preview,
    recordings,
    scenes,
    show,
    stream,
)
from app.channel_scope import channel_scope

# The blueprints under /stream: channel `default` there, and any channel's under
# /channels/<channel>/stream (app.channel_scope).
CHANNEL_SCOPED = (stream, layers, layer_types, show, scenes, cues, outputs, audio, recordings,
                  chat, commands, preview)


def register_blueprints(app: Flask) -> None:
    """Mount every API blueprint, each /stream one also under /channels/<channel>, and the
    OpenAPI document describing them."""
    for module in (*CHANNEL_SCOPED, channels, nodes, media, health, openapi):
        app.register_blueprint(module.blueprint)
    app.register_blueprint(channel_scope(
        (getattr(module, "channel_blueprint", module.blueprint) for module in CHANNEL_SCOPED),
        channels.exists))
