#!/usr/bin/env bash
# `make run`: start every process in the foreground under supervisord, which restarts any that
# dies. If nothing answers at REDIS_URL, supervisord also runs a local redis-server with
# append-only persistence under $DATA_DIR/redis, so state survives restarts. Ctrl-C stops all.
set -euo pipefail
cd "$(dirname "$0")/.."

export DATA_DIR=${DATA_DIR:-$PWD/var}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
# This machine only, unless HOST says otherwise (then API_TOKEN or ALLOW_NO_TOKEN=yes is needed).
export HOST=${HOST:-127.0.0.1} PORT=${PORT:-4200} WS_PORT=${WS_PORT:-4201}
export MEDIA_ROOT=${MEDIA_ROOT:-$DATA_DIR/media} RECORDINGS_DIR=${RECORDINGS_DIR:-$DATA_DIR/recordings}
export SUPERVISOR_HTTP_PORT=${SUPERVISOR_HTTP_PORT:-9001}
export PATH="$PWD/.venv/bin:$PATH"
mkdir -p "$DATA_DIR/redis" "$DATA_DIR/run" "$DATA_DIR/log" "$MEDIA_ROOT" "$RECORDINGS_DIR"

# Fail here, with the variable named, rather than in every process under supervisord.
python - <<'PY' || exit 2
import sys
from core.config import ConfigError, load_settings
try:
    load_settings()
except ConfigError as exc:
    sys.exit(f"stream-manager: configuration error: {exc}")
PY

if python - <<'PY'
import os, sys, redis
from core.redis_client import connect
from core.config import load_settings
try:
    connect(load_settings()).ping()
except redis.AuthenticationError:
    sys.exit(0)  # something answers; the password is the operator's business
except redis.RedisError:
    sys.exit(1)
PY
then
  export START_REDIS=false REDIS_PORT=0
  echo "stream-manager: using the Redis that answers at REDIS_URL"
else
  REDIS_PORT=$(python -c 'import os; from urllib.parse import urlsplit; print(urlsplit(os.environ["REDIS_URL"]).port or 6379)')
  export START_REDIS=true REDIS_PORT
  echo "stream-manager: no Redis at REDIS_URL; starting one on port $REDIS_PORT (AOF in $DATA_DIR/redis)"
fi

case $HOST in
  0.0.0.0|"[::]") shown=$(hostname) ;;
  *) shown=$HOST ;;
esac
echo "stream-manager: API and admin on http://$shown:$PORT, listening on $HOST  (Ctrl-C stops everything)"
echo "stream-manager: metrics on :${METRICS_PORT:-9090} (API), :${RENDER_METRICS_PORT:-9091}+N (render), :$WS_PORT/metrics (preview); Flower on :${FLOWER_PORT:-5555}"
exec supervisord -n -c supervisord.conf
