"""The one place that names Redis keys. Every key lives under the configured REDIS_PREFIX."""

from __future__ import annotations


class Keys:
    """Builds the Redis key names for one deployment prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def stream(self) -> str:
        """Hash: the desired stream state (field `desired`) and render telemetry (`status`)."""
        return f"{self.prefix}stream"

    @property
    def layers(self) -> str:
        """Hash: layer id -> layer JSON."""
        return f"{self.prefix}layers"

    @property
    def chat(self) -> str:
        """List: chat messages as JSON, newest first, capped at CHAT_HISTORY."""
        return f"{self.prefix}chat"

    @property
    def events(self) -> str:
        """Stream: every change, capped at EVENTS_MAXLEN; the render and preview follow it."""
        return f"{self.prefix}events"

    @property
    def quarantine(self) -> str:
        """List: copies of stored values that failed to parse, newest first."""
        return f"{self.prefix}quarantine"

    @property
    def preview_clients(self) -> str:
        """Hash: preview client id -> client JSON."""
        return f"{self.prefix}preview:clients"

    @property
    def worker_heartbeat(self) -> str:
        """String: epoch ms of the last periodic check a Celery worker ran."""
        return f"{self.prefix}health:worker"

    @property
    def health_checks(self) -> str:
        """Hash: check name -> the last result of that periodic health check (JSON)."""
        return f"{self.prefix}health:checks"

    @property
    def health_counters(self) -> str:
        """Hash: counter name -> count, for what the health checks found (metrics)."""
        return f"{self.prefix}health:counters"

    @property
    def beat_lock(self) -> str:
        """String with a TTL: the id of the one celery beat allowed to schedule checks."""
        return f"{self.prefix}beat:lock"

    @property
    def render_heartbeat(self) -> str:
        """Hash: render instance id -> its heartbeat JSON (role, pid, host, epoch ms)."""
        return f"{self.prefix}health:render"

    @property
    def render_lease(self) -> str:
        """String with a TTL: the id of the one render instance allowed to stream."""
        return f"{self.prefix}render:lease"

    def preview_ticket(self, ticket: str) -> str:
        """String with a TTL: a single-use preview ticket (browsers cannot send headers on a
        WebSocket handshake, so they present a ticket the API issued instead)."""
        return f"{self.prefix}preview:ticket:{ticket}"

    def preview_frames(self, quality: str) -> str:
        """Pub/sub channel: JPEG preview frames of one quality (high, medium, low)."""
        return f"{self.prefix}preview:frames:{quality}"

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
    def outputs(self) -> str:
        """Hash: output id -> output JSON (without its key)."""
        return f"{self.prefix}outputs"

    @property
    def output_keys(self) -> str:
        """Hash: output id -> its stream key. Apart from the outputs, so that no read, event or
        log of an output can carry one; whoever can read Redis can read these."""
        return f"{self.prefix}outputs:keys"

    @property
    def output_names(self) -> str:
        """Hash: output name -> id, so a name is taken atomically (names are unique)."""
        return f"{self.prefix}outputs:names"

    @property
    def outputs_seeded(self) -> str:
        """String: set once RTMP_URL and RECORD have seeded the outputs."""
        return f"{self.prefix}outputs:seeded"

    @property
    def audio(self) -> str:
        """Hash: the program audio settings (field `settings`: master, bed, loudness and
        their version, as JSON)."""
        return f"{self.prefix}audio"

    @property
    def audio_levels(self) -> str:
        """Pub/sub channel: the render worker's audio levels (compact JSON, about 10 a
        second), relayed to preview clients as audioLevels."""
        return f"{self.prefix}audio:levels"

    @property
    def scenes(self) -> str:
        """Hash: scene id -> scene JSON (its layers with their secrets, like the layers hash)."""
        return f"{self.prefix}scenes"

    @property
    def scene_names(self) -> str:
        """Hash: scene name -> id, so a name is taken atomically (names are unique)."""
        return f"{self.prefix}scenes:names"

    @property
    def cues(self) -> str:
        """Hash: cue id -> cue JSON (its action, schedule, state and last run)."""
        return f"{self.prefix}cues"

    @property
    def cue_schedule(self) -> str:
        """Hash: cue id -> when a scheduled cue falls due next (small JSON), written in the same
        commits as the cue, so the beat polls it several times a second without reading every
        cue's action."""
        return f"{self.prefix}cues:schedule"

    @property
    def history_seq(self) -> str:
        """String: the last change's sequence number (INCR), shown as `seq` in the history."""
        return f"{self.prefix}history:seq"

    @property
    def undo(self) -> str:
        """List: the changes that can be undone, newest first, each with the layers before and
        after in full (secrets included, so the list is never shown), capped at UNDO_DEPTH."""
        return f"{self.prefix}history:undo"

    @property
    def redo(self) -> str:
        """List: the changes undone, newest first, that redo can replay; emptied by any new
        change from the API or a cue."""
        return f"{self.prefix}history:redo"

    def staged_secret(self, ref: str) -> str:
        """String with a TTL: a stream key on its way from the API to the worker, so that the
        task message (which Flower shows) carries only `ref`."""
        return f"{self.prefix}outputs:staged:{ref}"
