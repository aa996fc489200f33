"""What the render worker makes of an output's target: whether a change needs a reconnect, and
error text with the secret masked.

A stream key is a secret. Only `OutputTarget.address` holds it; every name, state, metric
label and error message uses the output's name instead.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from core.outputs import OutputTarget, split_key

REDACTED = "***"


def same_connection(old: OutputTarget, new: OutputTarget) -> bool:
    """Whether `new` can go on through the sender of `old`: same kind, address (key included)
    and segment settings. A rename alone needs no reconnect."""
    return (old.kind, old.address, old.segment_seconds, old.keep_segments) == (
        new.kind, new.address, new.segment_seconds, new.keep_segments)


def redact(text: str, target: OutputTarget) -> str:
    """`text` with the target's address replaced by its name and any secret part masked."""
    if target.is_file or not target.address:
        return text
    parts = urlsplit(target.address)
    secrets = [split_key(target.address)[1] or "", parts.query, parts.password or ""]
    # Replace the whole address first so the name reads naturally, then any fragment of it.
    text = text.replace(target.address, "\0")
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text.replace("\0", target.name)
