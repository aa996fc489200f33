"""The preview's WebSocket protocol, as the `x-websocket` object of the OpenAPI document.

OpenAPI cannot describe a WebSocket, so this is an extension object. Its numbers come from the
preview code itself (close codes, size limits, qualities, frame sizes, ticket lifetime), so the
document cannot drift from what the preview process does.
"""

from __future__ import annotations

from typing import Any

from app.preview import MAX_CLIENT_MESSAGE_BYTES
from app.preview.feed import LAYER_EVENTS, LIVE_STATE_EVERY_SECONDS
from app.preview.handshake import DEFAULT_QUALITY
from app.preview.outbox import MAX_MESSAGES
from app.preview.roster import REGISTRY_TTL_MS
from app.preview.session import CLOSE_POLICY_VIOLATION, CLOSE_UNSUPPORTED_DATA
from core.config import Settings
from core.keys import CHANNEL_ID_RE, DEFAULT_CHANNEL
from core.preview_frames import preview_size
from core.schemas.preview import QUALITIES
from core.store.live import TICKET_TTL_SECONDS

# simple-websocket closes with this when a message exceeds its max_message_size.
CLOSE_MESSAGE_TOO_BIG = 1009
STATUS_REF = "#/components/schemas/StreamStatus"
LAYER_REF = "#/components/schemas/Layer"
LEVELS_REF = "#/components/schemas/AudioLevels"


def websocket_doc(settings: Settings) -> dict[str, Any]:
    """The `x-websocket` object: URL, handshake, messages each way, frames and close codes."""
    sizes = {quality: "x".join(map(str, preview_size(quality, settings.output_width,
                                                     settings.output_height)))
             for quality in QUALITIES}
    return {
        "url": f"ws://<host>:{settings.ws_port}/preview?quality={'|'.join(QUALITIES)}"
               "&channel=<channel id>",
        "summary": "Live preview: the program as JPEG frames, with the stream state, layer "
                   "changes and audio levels alongside. Text messages are JSON {\"type\", "
                   "\"payload\"}; each frame is one binary message holding a JPEG. Frames "
                   "(and audio levels) are latest-wins: a slow client skips some and never "
                   "slows the render worker or other clients.",
        "query": {
            "quality": {"type": "string", "enum": list(QUALITIES), "default": DEFAULT_QUALITY,
                        "frameSizes": sizes,
                        "description": "frameSizes are at OUTPUT_WIDTH x OUTPUT_HEIGHT; a "
                                       "channel with an output of its own scales the same way "
                                       "(hello says the size)"},
            "channel": {"type": "string", "pattern": CHANNEL_ID_RE.pattern,
                        "default": DEFAULT_CHANNEL,
                        "description": "the channel to watch: its frames, layer changes, "
                                       "stream state and audio levels only"},
            "ticket": {"description": "a single-use ticket from POST /preview/ticket (the "
                                      "operator's or the viewer's token may ask), valid "
                                      f"{TICKET_TTL_SECONDS} s (browsers cannot set headers)"},
        },
        "handshake": _handshake(),
        "serverMessages": _server_messages(settings),
        "clientMessages": _client_messages(),
        "binaryFrames": "one JPEG of the client's quality per binary message; after a quality "
                        "switch no frame of the old quality follows the new hello. The JPEG "
                        "carries a COM segment `SMPV1 <produced at, epoch ms> <sequence>`.",
        "order": "hello first, then the current streamState, then levels and frames. hello, "
                 "ping, pong and layerUpdate keep their order and go before anything else; "
                 "streamState, audioLevels and frames are latest-wins (a newer one replaces "
                 "one not yet sent), in that order",
        "closeCodes": {
            str(CLOSE_UNSUPPORTED_DATA): "the client sent a binary message",
            str(CLOSE_POLICY_VIOLATION): "a message that is not JSON, not an object, of an "
                                         "unknown type or with a bad quality (the reason names "
                                         f"the field); or more than {MAX_MESSAGES} messages "
                                         "waiting for a client that does not read; or the "
                                         "channel watched was deleted",
            str(CLOSE_MESSAGE_TOO_BIG): f"a message over {MAX_CLIENT_MESSAGE_BYTES} bytes",
        },
        "pongTimeout": "a client that has not answered a ping for PREVIEW_PONG_TIMEOUT "
                       f"({settings.preview_pong_timeout:g} s) is dropped (socket shut down)",
        "registry": "connected clients are listed by GET /stream/preview/clients (a channel's "
                    "by GET /channels/{channel}/stream/preview/clients); an entry of a preview "
                    f"process that died expires after {REGISTRY_TTL_MS // 1000} s",
        "health": f"GET /health on port {settings.ws_port}: 200 {{\"status\": \"ok\", "
                  "\"clients\": {quality: count}}, 503 when Redis is down; GET /metrics "
                  "there: Prometheus text",
    }


def _handshake() -> list[dict[str, Any]]:
    """Checks made before the upgrade: a refusal is a plain HTTP JSON error body."""
    return [
        {"status": 426, "error": "upgrade_required", "when": "not a WebSocket upgrade"},
        {"status": 400, "error": "validation_error",
         "when": "unknown quality, or a channel id that is malformed or (asked with a valid "
                 "token or ticket) names no channel; `fields` names the parameter"},
        {"status": 403, "error": "forbidden",
         "when": "an Origin header that is not allowed (PREVIEW_ORIGINS, or by default the "
                 "API's own origin and the preview's own); clients sending no Origin pass"},
        {"status": 401, "error": "unauthorized",
         "when": "API_TOKEN is set and neither `Authorization: Bearer <API_TOKEN or "
                 "VIEWER_TOKEN>` nor a valid `?ticket=` was given"},
    ]


def _server_messages(settings: Settings) -> list[dict[str, Any]]:
    return [
        {"type": "hello", "payload": {
            "type": "object",
            "required": ["clientId", "quality", "width", "height", "fps", "pingInterval",
                         "pongTimeout"],
            "properties": {
                "clientId": {"type": "string"},
                "quality": {"type": "string", "enum": list(QUALITIES)},
                "width": {"type": "integer"}, "height": {"type": "integer"},
                "fps": {"type": "integer", "description": "PREVIEW_FPS"},
                "pingInterval": {"type": "number", "description": "seconds"},
                "pongTimeout": {"type": "number", "description": "seconds"},
            }},
         "when": "first message; again (same clientId) after each quality message"},
        {"type": "streamState", "payload": {"$ref": STATUS_REF},
         "when": "on connect, on every change of the stream state or the render worker's "
                 f"report, and every {LIVE_STATE_EVERY_SECONDS:g} s while live"},
        {"type": "layerUpdate", "payload": {
            "type": "object", "required": ["event", "eventId", "data"],
            "properties": {
                "event": {"type": "string",
                          "enum": sorted(LAYER_EVENTS - {"layers.batch"})},
                "eventId": {"type": "string", "description": "Redis stream entry id (a "
                            "batch's changes share the batch's)"},
                "batch": {"type": "boolean", "description": "true on each change of an "
                          "atomic batch or scene take, sent back to back"},
                "data": {"description": "the layer; {id, version} for layer.deleted; "
                                        "{layers: [{id, zIndex, version}]} for "
                                        "layers.reordered",
                         "anyOf": [{"$ref": LAYER_REF}, {"type": "object"}]},
            }},
         "when": "every layer change"},
        {"type": "audioLevels", "payload": {"$ref": LEVELS_REF},
         "when": "each time the render worker measures (about 10 times a second while it "
                 "renders): the program's loudness and peaks, each sounding layer's and the "
                 "bed's; latest-wins"},
        {"type": "ping", "payload": {"type": "object", "properties": {
            "at": {"type": "integer", "description": "epoch ms"}}},
         "when": f"every PREVIEW_PING_INTERVAL ({settings.preview_ping_interval:g} s); "
                 "answer with {\"type\": \"pong\"}"},
        {"type": "pong", "payload": {"type": "object", "properties": {
            "at": {"type": "integer", "description": "epoch ms"}}},
         "when": "the answer to a client's ping"},
    ]


def _client_messages() -> list[dict[str, Any]]:
    limit = f"JSON text, at most {MAX_CLIENT_MESSAGE_BYTES} bytes"
    return [
        {"message": {"type": "ping"}, "meaning": f"asks for a pong ({limit})"},
        {"message": {"type": "pong"}, "meaning": "answers the server's ping"},
        {"message": {"type": "quality", "quality": "|".join(QUALITIES)},
         "meaning": "switch quality; a new hello gives the new frame size"},
    ]
