#!/usr/bin/env bash
# `make node`: one render node in the foreground (Ctrl-C drains it: its channels go to other
# nodes one at a time, then it exits; a second Ctrl-C exits at once). It joins the deployment
# whose Redis answers at REDIS_URL (with REDIS_PASSWORD if it has one): on a render machine,
# the control plane's. What a node needs besides Redis is the media library and somewhere to
# record: MEDIA_ROOT and RECORDINGS_DIR, on a render machine the same shared directories as the
# control plane's (README.md, "Add a render machine"). INSTANCE=N (default 0) serves the node's
# metrics on RENDER_METRICS_PORT + N: beside `make run` on one machine, use 2 and up.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATA_DIR=${DATA_DIR:-$PWD/var}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
export MEDIA_ROOT=${MEDIA_ROOT:-$DATA_DIR/media} RECORDINGS_DIR=${RECORDINGS_DIR:-$DATA_DIR/recordings}
export PATH="$PWD/.venv/bin:$PATH"
INSTANCE=${INSTANCE:-0}
mkdir -p "$MEDIA_ROOT" "$RECORDINGS_DIR"

# Fail here, with the variable named; say where Redis is (never its password).
INSTANCE=$INSTANCE python - <<'PY' || exit 2
import os
import sys
from urllib.parse import urlsplit

import redis
from core.config import ConfigError, load_settings
from core.redis_client import connect

try:
    settings = load_settings()
except ConfigError as exc:
    sys.exit(f"stream-manager: configuration error: {exc}")
url = urlsplit(settings.redis_url)
where = url.path if url.scheme == "unix" else f"{url.hostname}:{url.port or 6379}"
instance = int(os.environ["INSTANCE"])
print(f"stream-manager: render node {instance} against Redis at {where}, metrics on "
      f"{settings.listen_host}:{settings.render_metrics_port + instance}  (Ctrl-C drains it)")
try:
    connect(settings).ping()
except redis.RedisError as exc:
    print(f"stream-manager: cannot use Redis at {where} yet ({exc}); the node keeps "
          "trying", file=sys.stderr)
PY
exec python -m render --instance "$INSTANCE"
