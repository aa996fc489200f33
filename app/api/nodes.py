"""Render nodes: each node's capacity, load, channels and heartbeat, as the nodes report them."""

from __future__ import annotations

from flask import Blueprint, Response

from app.http import resource_response
from app.services import services

blueprint = Blueprint("nodes", __name__)


@blueprint.get("/nodes")
def list_nodes() -> Response:
    """Every render node by id: `capacity` and `load` (cost units), the `channels` it holds,
    `heartbeatAge` (seconds), `draining`, and `state` (up; draining, handing its channels
    over; lost, silent for over a second, listed for a minute after)."""
    return resource_response({"nodes": services().placement.node_views()})
