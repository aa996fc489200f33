"""`python -m workers.flower`: Flower, the Celery task monitor, always behind basic auth.

Flower reads FLOWER_PORT and FLOWER_BASIC_AUTH from the environment itself, and would run open
to anyone without the latter. So this launcher checks the settings first and, when
FLOWER_BASIC_AUTH is unset, makes a random password once and keeps it in
$DATA_DIR/run/flower-credentials (readable by its owner only), logging where it is. Then it
becomes `celery -A workers flower`, listening on HOST like every other port of the system.

Flower keeps the tasks it hears of in memory, with a search index beside them: about 10 KB a
task here. Its own default keeps 100,000, about 1 GB: under bench/soak.py's traffic (two
tasks a second) it grew by 40 MB an hour in a straight line, for half a day before it would
level off (docs/field-notes.md). It is a live view, so it keeps the latest MAX_TASKS; the
counts on its workers page and its /metrics come from the events, not from the tasks kept.
FLOWER_MAX_TASKS (Flower's own variable) keeps more.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from core.config import ConfigError, load_settings
from core.secret_file import read_or_create

CREDENTIALS_FILE = Path("run") / "flower-credentials"
USER = "admin"
MAX_TASKS = 100


def stored_credentials(data_dir: Path) -> tuple[str, Path]:
    """The `user:password` kept under `data_dir`, made on first use; and the file's path."""
    path = data_dir / CREDENTIALS_FILE
    return read_or_create(path, lambda: f"{USER}:{secrets.token_urlsafe(18)}"), path


def main() -> int:
    """Exec Flower with basic auth always on; exit 2 on a configuration error."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"flower: configuration error: {exc}", file=sys.stderr)
        return 2
    auth = settings.flower_basic_auth
    if not auth:
        auth, path = stored_credentials(Path(os.environ.get("DATA_DIR", "var")))
        print(f"flower: FLOWER_BASIC_AUTH is not set; user {USER!r}, password in {path}",
              file=sys.stderr, flush=True)
    env = {**os.environ, "FLOWER_BASIC_AUTH": auth, "FLOWER_PORT": str(settings.flower_port),
           "FLOWER_ADDRESS": settings.listen_host}
    env.setdefault("FLOWER_MAX_TASKS", str(MAX_TASKS))
    argv = [sys.executable, "-m", "celery", "-A", "workers", "flower",
            # A worker gone for ten minutes is gone: keep the list to the living.
            "--purge_offline_workers=600"]
    os.execve(sys.executable, argv, env)
    return 0  # not reached: execve replaces this process


if __name__ == "__main__":
    sys.exit(main())
