"""The state store: the one package that reads and writes state in Redis.

`StateStore` owns what the operator sets (stream, layers, chat) and its atomic mutations;
`LiveState` (reached as `StateStore.live`) owns what running processes report (render
telemetry and heartbeats, preview clients) and the event feed they follow. A StateStore is one
channel's; `ChannelStore` keeps the registry of channels, and `migrate_to_channels` moves a
deployment from before channels into channel `default`.
"""

from core.store.channels import ChannelStore
from core.store.live import LiveState, StoredEvent
from core.store.migrate import migrate_to_channels
from core.store.state import STREAM_ACTIONS, StateStore
from core.store.values import now_ms

__all__ = ["STREAM_ACTIONS", "ChannelStore", "LiveState", "StateStore", "StoredEvent",
           "migrate_to_channels", "now_ms"]
