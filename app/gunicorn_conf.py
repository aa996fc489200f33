"""gunicorn hooks of the API process (`gunicorn -c app/gunicorn_conf.py ...`).

gunicorn reads this as a file, not as part of the `app` package, so nothing of the app (and
no prometheus_client) is imported before PROMETHEUS_MULTIPROC_DIR is set: prometheus_client
decides at import whether values go to per-process files, and the workers inherit that from
the master. The master then serves the sum of every worker's values on METRICS_PORT, so counts
are right however many workers answer, and survive a worker's restart.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

_OWN_DIRECTORY = "STREAM_MANAGER_OWNS_METRICS_DIR"
# The longest request line gunicorn takes (its maximum; the default is 4094): a GET with many
# query values under /channels/<id>/stream/... stays an answer of the API's own (400 naming
# the field) rather than gunicorn's HTML 414. Longer lines still get that 414.
limit_request_line = 8190


def on_starting(server: Any) -> None:
    """Stop before listening on a bad setting or an address open to other machines without
    a token; then give the workers an empty folder for their metric files."""
    from core.config import refuse_to_listen

    refuse_to_listen(server.cfg.address)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        Path(directory).mkdir(parents=True, exist_ok=True)
        for stale in Path(directory).glob("*.db"):  # values of a previous run
            stale.unlink()
    else:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
            prefix="stream-manager-api-metrics-")
        os.environ[_OWN_DIRECTORY] = "1"


def when_ready(server: Any) -> None:
    """Serve the metrics from the master. A port in use is logged, never fatal: the API
    itself matters more than its metrics."""
    from core.config import ConfigError, load_settings

    try:
        settings = load_settings()
    except ConfigError:
        return  # not reached: on_starting has already stopped with the variable named
    from app.metrics import serve_metrics

    try:
        serve_metrics(settings, os.environ["PROMETHEUS_MULTIPROC_DIR"])
    except OSError as exc:
        server.log.error("metrics: cannot listen on METRICS_PORT %s: %s",
                         settings.metrics_port, exc)
        return
    server.log.info("metrics on http://%s:%s/metrics", settings.host, settings.metrics_port)


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges; its counts stay in the sum."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server: Any) -> None:
    """Remove the metric files' folder if this master made it."""
    if os.environ.get(_OWN_DIRECTORY):
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)
