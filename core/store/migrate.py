"""Moving a deployment from before channels into channel `default`, once, without loss.

Before channels every key of the one program lived directly under REDIS_PREFIX; now what a
channel owns lives under its scope (core.keys). `migrate_to_channels` runs one Lua script,
so it is atomic however many processes start at once: if `layout` says the keys were moved,
it does nothing; otherwise it RENAMEs every channel-scoped key that exists under its old
name to the default channel's scope (a key's TTL moves with it), writes the `default`
channel's record if there is none, and sets `layout`. A key already present under its new
name is never overwritten: the old one is left where it was and named in the log.

Every process that reads or writes channel state calls it as it starts: the API app factory,
the Celery worker, the beat and every render node.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import redis

from core.channels import DEFAULT_CHANNEL_NAME, Channel, OutputOverrides, dump_channel
from core.commit import dumps
from core.keys import DEFAULT_CHANNEL, LAYOUT_VERSION, LEGACY_SUFFIXES, Keys
from core.store.values import now_ms

log = logging.getLogger(__name__)

# KEYS: layout, channels, channel_names, then (old, new) for each legacy suffix.
# ARGV: the layout version, the default channel's id, name and record JSON.
_MIGRATE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, {}, {}} end
local moved, kept = {}, {}
for i = 4, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if redis.call('EXISTS', KEYS[i + 1]) == 1 then
      table.insert(kept, KEYS[i])
    else
      redis.call('RENAME', KEYS[i], KEYS[i + 1])
      table.insert(moved, KEYS[i])
    end
  end
end
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[4])
  redis.call('HSETNX', KEYS[3], ARGV[3], ARGV[2])
end
redis.call('SET', KEYS[1], ARGV[1])
return {1, moved, kept}
"""


def default_channel(created_at: int) -> Channel:
    """The `default` channel's record as first written: it sets no output of its own."""
    return Channel(id=DEFAULT_CHANNEL, name=DEFAULT_CHANNEL_NAME, output=OutputOverrides(),
                   created_at=created_at, version=1)


def migrate_to_channels(client: redis.Redis, keys: Keys) -> bool:
    """Move the keys of a deployment from before channels under channel `default`, unless
    `layout` says that was done; answers whether this call did it. Raises redis errors."""
    default = keys.for_channel(DEFAULT_CHANNEL)
    names = [keys.layout, keys.channels, keys.channel_names]
    for suffix in LEGACY_SUFFIXES:
        names += [keys.legacy(suffix), f"{default.scope}{suffix}"]
    record = dumps(dump_channel(default_channel(now_ms())))
    done, moved, kept = cast(list[Any], client.eval(
        _MIGRATE, len(names), *names, LAYOUT_VERSION, DEFAULT_CHANNEL, DEFAULT_CHANNEL_NAME,
        record))
    if not done:
        return False
    if moved:
        log.info("key layout %s: moved %d keys into channel %r (%s)", LAYOUT_VERSION,
                 len(moved), DEFAULT_CHANNEL, ", ".join(sorted(moved)))
    for old in kept:
        log.warning("key layout %s: %s was left in place: channel %r already has its own",
                    LAYOUT_VERSION, old, DEFAULT_CHANNEL)
    return True
