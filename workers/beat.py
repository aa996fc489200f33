"""The celery beat scheduler of the stream manager: only one beat sends the checks and cues.

Both are per channel: each health check goes as one task per channel (with `channel`), and
each channel's cues are polled and sent with their channel. The channels are read from the
registry (core.store.channels) every time, so a channel added or removed is seen at once.

Two beat processes (say, one per host for redundancy) would otherwise each send every check
once per tick. Each tick, a beat renews (or tries to take) a lease in Redis; only its holder
sends tasks, and if it dies its lease expires within three check intervals and another beat
takes over. The schedule lives in memory: interval checks a few seconds apart gain nothing
from a schedule file.

Cues live in Redis (core.store.cues). The holder reads their small schedule index every tick
and sends `cues.fire` for each that is due: LAYER_CUE_LEAD_MS ahead for batches and takes
(committed early with their time as effectiveAt, they land on the first frame at or after
it) and at the time itself for stream actions. Celery's beat loop sleeps whatever `tick`
answers, so a tick answers at most CUE_POLL_SECONDS (a cue created while the beat sleeps is
seen that soon), or less when a cue is to be sent sooner.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from typing import Any

import redis
from celery.beat import ScheduleEntry, Scheduler
from kombu.exceptions import OperationalError

from core.cues import LAYER_CUE_LEAD_MS, DueCue
from core.lease import Lease
from core.loop import OutageLog
from core.store import now_ms
from core.tasks import FIRE_CUE, HEALTH_TASK_PREFIX

log = logging.getLogger(__name__)

# Lease lifetime in check intervals: a missed renewal or two is not a handover.
LEASE_INTERVALS = 3
CUE_POLL_SECONDS = 0.2
# A cue sent and still not recorded this long after (its message lost, its task given up) is
# sent again; each message expires by then, so a worker that was down finds one, not a pile.
CUE_RESEND_SECONDS = 60.0


class SingleBeatScheduler(Scheduler):
    """A Scheduler that sends due tasks only while it holds the beat lease."""

    def setup_schedule(self) -> None:
        """Build the lease from the app's store, then the schedule as usual."""
        interval = self.app.settings.health_check_interval
        owner = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"
        try:
            self.app.migrate()
        except redis.RedisError as exc:
            log.warning("key layout not checked at start (%s); checked before the first send",
                        exc)
        store = self.app.store
        self._lease = Lease(store.redis, store.keys.beat_lock, owner, LEASE_INTERVALS * interval)
        self._poll = interval
        self._held = False
        self._outage = OutageLog(log, "cannot reach Redis for the beat lease (%s); not scheduling",
                                 back="Redis reachable again for the beat lease")
        self._cue_outage = OutageLog(log, "cannot read or send the cues (%s); retrying",
                                     back="cues read and sent again")
        # (channel, cue id, due time) -> when it was sent (monotonic): each time is sent once.
        self._cues_sent: dict[tuple[str, str, int], float] = {}
        super().setup_schedule()

    def tick(self, *args: Any, **kwargs: Any) -> float:
        """Send what is due while the lease is ours, and answer how long to sleep; otherwise
        wait a check interval."""
        if not self._keep_lease():
            return self._poll
        return min(float(super().tick(*args, **kwargs)), self._send_due_cues())

    def close(self) -> None:
        """Hand the lease over at once on a clean stop, so another beat need not wait."""
        if self._held:
            try:
                self._lease.release()
            except redis.RedisError as exc:
                log.warning("could not release the beat lease (%s); it expires by itself", exc)
        super().close()

    def apply_async(self, entry: ScheduleEntry, producer: Any = None, advance: bool = True,
                    **kwargs: Any) -> Any:
        """Send a health check once per channel (with its `channel`); anything else as
        Celery does."""
        if not entry.task.startswith(HEALTH_TASK_PREFIX):
            return super().apply_async(entry, producer, advance, **kwargs)
        entry = self.reserve(entry) if advance else entry
        self.app.migrate()
        options = {**entry.options, "headers": {"celery_beat_task": True}}
        sent = None
        for channel in self.app.channels.ids():
            sent = self.send_task(entry.task, (), {"channel": channel}, producer=producer,
                                  **options)
        return sent

    def _send_due_cues(self) -> float:
        """Send `cues.fire` for each cue of each channel whose sending time has come; answer
        the seconds until the next one is to be sent (at most CUE_POLL_SECONDS)."""
        now = now_ms()
        until = now + LAYER_CUE_LEAD_MS + int(CUE_POLL_SECONDS * 1000)
        try:
            self.app.migrate()
            due = [(channel, cue) for channel in self.app.channels.ids()
                   for cue in self.app.store_for(channel).cues.due(until)]
            waiting = [cue for _, cue in due if cue.send_at > now]
            self._forget_recorded(due)
            for channel, cue in due:
                if cue.send_at <= now and self._not_sent_lately(channel, cue):
                    self._send_cue(channel, cue)
            self._cue_outage.succeeded()
        except (redis.RedisError, OperationalError) as exc:
            self._cue_outage.failed(exc)
            return CUE_POLL_SECONDS
        return min([CUE_POLL_SECONDS, *((cue.send_at - now) / 1000 for cue in waiting)])

    def _send_cue(self, channel: str, cue: DueCue) -> None:
        self.send_task(FIRE_CUE, kwargs={"cue_id": cue.id, "due_at": cue.due_at,
                                         "channel": channel},
                       producer=self.producer, expires=CUE_RESEND_SECONDS)
        self._cues_sent[(channel, cue.id, cue.due_at)] = time.monotonic()
        log.info("cue %s of channel %s sent for %d (%d ms ahead)", cue.id, channel, cue.due_at,
                 cue.due_at - now_ms())

    def _not_sent_lately(self, channel: str, cue: DueCue) -> bool:
        sent = self._cues_sent.get((channel, cue.id, cue.due_at))
        return sent is None or time.monotonic() - sent > CUE_RESEND_SECONDS

    def _forget_recorded(self, due: list[tuple[str, DueCue]]) -> None:
        """Drop what was sent and is no longer scheduled for that time (recorded, cancelled)."""
        still = {(channel, cue.id, cue.due_at) for channel, cue in due}
        for sent in self._cues_sent.keys() - still:
            del self._cues_sent[sent]

    def _keep_lease(self) -> bool:
        try:
            held = self._lease.keep(self._held)
            self._outage.succeeded()
        except redis.RedisError as exc:
            self._outage.failed(exc)
            held = False
        if held != self._held:
            log.info("beat lease %s", "taken: scheduling the health checks and cues" if held
                     else "lost: standing by")
            self._held = held
        return held
