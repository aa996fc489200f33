"""A secret made once and kept in a file, such as Flower's password or a generated API token.

Several processes may start together and all want the same secret (the API and the preview
share one token through a volume): the file therefore appears whole or not at all. It is
written aside, readable by its owner only, then hard-linked into place, which fails for every
process but the first; the others read what the first wrote.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The secret kept in `path`; on first use `make()` is written there (mode 600)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                out.write(f"{make()}\n")
            try:
                os.link(aside, path)
            except FileExistsError:
                pass  # another process made it first: its secret is the one
        finally:
            os.unlink(aside)
    return path.read_text(encoding="utf-8").strip()
