"""gunicorn hooks of the preview process (`gunicorn -c app/gunicorn_preview_conf.py ...`).

Read as a file, like app/gunicorn_conf.py: the master stops before it listens when a setting is
bad or its address is open to other machines without a token.
"""

from __future__ import annotations

from typing import Any


def on_starting(server: Any) -> None:
    """Stop before listening on a bad setting or an address open without a token."""
    from core.config import refuse_to_listen

    refuse_to_listen(server.cfg.address)
