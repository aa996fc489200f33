"""The one place that names Redis keys. Every key lives under the configured REDIS_PREFIX.

A deployment runs many channels (programs). What one channel owns (its desired state, layers,
chat, outputs, audio, scenes, cues, history, telemetry, preview frames, health results) lives
under the channel's scope, `<prefix>ch:<channel>:`; what the deployment shares (the broker,
commands and their replies, the worker and beat heartbeats, rate limits, the channel and node
registries, placement) lives directly under the prefix. A `Keys` names both: it is built for
one channel (`default` unless told), and `for_channel` gives the same prefix's keys of another.

Before channels every key lived directly under the prefix: a channel-scoped key's old name is
`prefix + suffix` where its new one is `scope + suffix` (see `LEGACY_SUFFIXES` and
core.store.migrate).
"""

from __future__ import annotations

import re
from typing import Final

DEFAULT_CHANNEL: Final = "default"
# A channel id is a slug: lowercase letters, digits and inner hyphens, 1-32 characters.
CHANNEL_ID_RE: Final = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")
# The key layout version `layout` holds once the keys were moved under channel scopes.
LAYOUT_VERSION: Final = "2"

# The channel-scoped keys of fixed name, by suffix (also their names before channels).
STREAM: Final = "stream"
LAYERS: Final = "layers"
CHAT: Final = "chat"
EVENTS: Final = "events"
QUARANTINE: Final = "quarantine"
PREVIEW_CLIENTS: Final = "preview:clients"
RENDER_HEARTBEAT: Final = "health:render"
RENDER_LEASE: Final = "render:lease"
RENDER_EPOCH: Final = "render:epoch"
AUDIO: Final = "audio"
AUDIO_LEVELS: Final = "audio:levels"
OUTPUTS: Final = "outputs"
OUTPUT_KEYS: Final = "outputs:keys"
OUTPUT_NAMES: Final = "outputs:names"
OUTPUTS_SEEDED: Final = "outputs:seeded"
SCENES: Final = "scenes"
SCENE_NAMES: Final = "scenes:names"
CUES: Final = "cues"
CUE_SCHEDULE: Final = "cues:schedule"
HISTORY_SEQ: Final = "history:seq"
UNDO: Final = "history:undo"
REDO: Final = "history:redo"
HEALTH_CHECKS: Final = "health:checks"
HEALTH_COUNTERS: Final = "health:counters"
# Every channel-scoped key that existed before channels, and so may have to be migrated
# (render:epoch is new; pub/sub channels and short-lived staged secrets hold nothing to move).
LEGACY_SUFFIXES: Final = (
    STREAM, LAYERS, CHAT, EVENTS, QUARANTINE, PREVIEW_CLIENTS, RENDER_HEARTBEAT, RENDER_LEASE,
    AUDIO, OUTPUTS, OUTPUT_KEYS, OUTPUT_NAMES, OUTPUTS_SEEDED, SCENES, SCENE_NAMES, CUES,
    CUE_SCHEDULE, HISTORY_SEQ, UNDO, REDO, HEALTH_CHECKS, HEALTH_COUNTERS,
)


class Keys:
    """Builds the Redis key names of one channel of one deployment prefix."""

    def __init__(self, prefix: str, channel: str = DEFAULT_CHANNEL) -> None:
        if not CHANNEL_ID_RE.match(channel):
            raise ValueError(f"not a channel id: {channel!r}")
        self.prefix = prefix
        self.channel = channel
        # Every channel-scoped key starts with this (and no other channel's key does: an id
        # holds no colon).
        self.scope = f"{prefix}ch:{channel}:"

    def for_channel(self, channel: str) -> Keys:
        """The keys of channel `channel` under the same prefix."""
        return Keys(self.prefix, channel)

    def legacy(self, suffix: str) -> str:
        """A channel-scoped key's name before channels (directly under the prefix)."""
        return f"{self.prefix}{suffix}"

    def _scoped(self, suffix: str) -> str:
        return f"{self.scope}{suffix}"

    # ---- channel-scoped ------------------------------------------------------------------

    @property
    def stream(self) -> str:
        """Hash: the desired stream state (field `desired`) and render telemetry (`status`)."""
        return self._scoped(STREAM)

    @property
    def layers(self) -> str:
        """Hash: layer id -> layer JSON."""
        return self._scoped(LAYERS)

    @property
    def chat(self) -> str:
        """List: chat messages as JSON, newest first, capped at CHAT_HISTORY."""
        return self._scoped(CHAT)

    @property
    def events(self) -> str:
        """Stream: every change, capped at EVENTS_MAXLEN; the render and preview follow it."""
        return self._scoped(EVENTS)

    @property
    def quarantine(self) -> str:
        """List: copies of stored values that failed to parse, newest first."""
        return self._scoped(QUARANTINE)

    @property
    def preview_clients(self) -> str:
        """Hash: preview client id -> client JSON."""
        return self._scoped(PREVIEW_CLIENTS)

    @property
    def health_checks(self) -> str:
        """Hash: check name -> the last result of that periodic health check (JSON)."""
        return self._scoped(HEALTH_CHECKS)

    @property
    def health_counters(self) -> str:
        """Hash: counter name -> count, for what the health checks found (metrics)."""
        return self._scoped(HEALTH_COUNTERS)

    @property
    def render_heartbeat(self) -> str:
        """Hash: render instance id -> its heartbeat JSON (role, pid, host, epoch ms)."""
        return self._scoped(RENDER_HEARTBEAT)

    @property
    def render_lease(self) -> str:
        """String with a TTL: the token of the one render process allowed to stream."""
        return self._scoped(RENDER_LEASE)

    @property
    def render_epoch(self) -> str:
        """String (INCR): the channel's fencing epoch, raised each time it is placed."""
        return self._scoped(RENDER_EPOCH)

    def preview_frames(self, quality: str) -> str:
        """Pub/sub channel: JPEG preview frames of one quality (high, medium, low)."""
        return self._scoped(f"preview:frames:{quality}")

    @property
    def outputs(self) -> str:
        """Hash: output id -> output JSON (without its key)."""
        return self._scoped(OUTPUTS)

    @property
    def output_keys(self) -> str:
        """Hash: output id -> its stream key. Apart from the outputs, so that no read, event or
        log of an output can carry one; whoever can read Redis can read these."""
        return self._scoped(OUTPUT_KEYS)

    @property
    def output_names(self) -> str:
        """Hash: output name -> id, so a name is taken atomically (names are unique)."""
        return self._scoped(OUTPUT_NAMES)

    @property
    def outputs_seeded(self) -> str:
        """String: set once RTMP_URL and RECORD have seeded the outputs."""
        return self._scoped(OUTPUTS_SEEDED)

    @property
    def audio(self) -> str:
        """Hash: the program audio settings (field `settings`: master, bed, loudness and
        their version, as JSON)."""
        return self._scoped(AUDIO)

    @property
    def audio_levels(self) -> str:
        """Pub/sub channel: the render worker's audio levels (compact JSON, about 10 a
        second), relayed to preview clients as audioLevels."""
        return self._scoped(AUDIO_LEVELS)

    @property
    def scenes(self) -> str:
        """Hash: scene id -> scene JSON (its layers with their secrets, like the layers hash)."""
        return self._scoped(SCENES)

    @property
    def scene_names(self) -> str:
        """Hash: scene name -> id, so a name is taken atomically (names are unique)."""
        return self._scoped(SCENE_NAMES)

    @property
    def cues(self) -> str:
        """Hash: cue id -> cue JSON (its action, schedule, state and last run)."""
        return self._scoped(CUES)

    @property
    def cue_schedule(self) -> str:
        """Hash: cue id -> when a scheduled cue falls due next (small JSON), written in the same
        commits as the cue, so the beat polls it several times a second without reading every
        cue's action."""
        return self._scoped(CUE_SCHEDULE)

    @property
    def history_seq(self) -> str:
        """String: the last change's sequence number (INCR), shown as `seq` in the history."""
        return self._scoped(HISTORY_SEQ)

    @property
    def undo(self) -> str:
        """List: the changes that can be undone, newest first, each with the layers before and
        after in full (secrets included, so the list is never shown), capped at UNDO_DEPTH."""
        return self._scoped(UNDO)

    @property
    def redo(self) -> str:
        """List: the changes undone, newest first, that redo can replay; emptied by any new
        change from the API or a cue."""
        return self._scoped(REDO)

    def staged_secret(self, ref: str) -> str:
        """String with a TTL: a stream key on its way from the API to the worker, so that the
        task message (which Flower shows) carries only `ref`."""
        return self._scoped(f"outputs:staged:{ref}")

    # ---- deployment-wide -----------------------------------------------------------------

    @property
    def worker_heartbeat(self) -> str:
        """String: epoch ms of the last periodic check a Celery worker ran."""
        return f"{self.prefix}health:worker"

    @property
    def beat_lock(self) -> str:
        """String with a TTL: the id of the one celery beat allowed to schedule checks."""
        return f"{self.prefix}beat:lock"

    def preview_ticket(self, ticket: str) -> str:
        """String with a TTL: a single-use preview ticket (browsers cannot send headers on a
        WebSocket handshake, so they present a ticket the API issued instead)."""
        return f"{self.prefix}preview:ticket:{ticket}"

    @property
    def rate_limits(self) -> str:
        """Prefix of flask-limiter's counters (one per client and window, with a TTL)."""
        return f"{self.prefix}ratelimit"

    @property
    def celery(self) -> str:
        """Prefix the Celery broker puts before its own keys (queues, unacked messages)."""
        return f"{self.prefix}celery:"

    def broker_queue(self, queue: str) -> str:
        """List: the messages waiting in a Celery queue (kombu's Redis layout: the queue's
        name under the broker's prefix)."""
        return f"{self.celery}{queue}"

    def command(self, command_id: str) -> str:
        """String: a command's outcome (pending, then done); also the redelivery guard."""
        return f"{self.prefix}command:{command_id}"

    def reply(self, command_id: str) -> str:
        """List: where the API waits (BLPOP) for a command's outcome."""
        return f"{self.prefix}reply:{command_id}"

    @property
    def channels(self) -> str:
        """Hash: channel id -> channel JSON (core.channels)."""
        return f"{self.prefix}channels"

    @property
    def channel_names(self) -> str:
        """Hash: channel name -> id, so a name is taken atomically (names are unique)."""
        return f"{self.prefix}channels:names"

    @property
    def nodes(self) -> str:
        """Hash: render node id -> its heartbeat record JSON (capacity, load, channels)."""
        return f"{self.prefix}nodes"

    @property
    def placement(self) -> str:
        """Hash: channel id -> placement JSON (the node holding it, its epoch, or why none)."""
        return f"{self.prefix}placement"

    @property
    def placer_lock(self) -> str:
        """String with a TTL: the id of the one render node allowed to place channels."""
        return f"{self.prefix}placer:lock"

    @property
    def layout(self) -> str:
        """String: the key layout version (LAYOUT_VERSION once keys live under channels)."""
        return f"{self.prefix}layout"
