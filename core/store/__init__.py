"""The state store: the one package that reads and writes state in Redis.

`StateStore` owns what the operator sets (stream, layers, chat) and its atomic mutations;
`LiveState` (reached as `StateStore.live`) owns what running processes report (render
telemetry and heartbeats, preview clients) and the event feed they follow.
"""

from core.store.live import LiveState, StoredEvent
from core.store.state import STREAM_ACTIONS, StateStore
from core.store.values import now_ms

__all__ = ["STREAM_ACTIONS", "LiveState", "StateStore", "StoredEvent", "now_ms"]
