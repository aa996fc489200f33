"""`python -m render [--instance N]`: the render worker process.

Reads the configuration (a bad variable stops it with the variable named), then composites
and streams until SIGTERM or SIGINT, on which it closes the stream with a proper trailer and
hands the render lease to a standby at once. Instance N (0 by default) serves its metrics on
RENDER_METRICS_PORT + N, so instances on one host do not fight over one port.
"""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys

log = logging.getLogger("render")
MAX_INSTANCES = 100


def main(argv: list[str] | None = None) -> int:
    """Run one render instance; the exit code is 2 for a configuration error."""
    # Imported here, not at the top: every source process (render.sources) imports its
    # parent's main module, this one, again; at the top these imports cost each of them the
    # whole render worker's (OpenCV, Redis, ...), 0.4 s of CPU, at every start of a bed track,
    # a video or an input's reconnection.
    from core.config import ConfigError, configure_logging, load_settings
    from core.redis_client import connect
    from render.renderer import Renderer

    parser = argparse.ArgumentParser(prog="python -m render")
    parser.add_argument("--instance", type=int, choices=range(MAX_INSTANCES), default=0,
                        metavar="N", help="instance number on this host: metrics port offset")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"render: configuration error: {exc}", file=sys.stderr)
        return 2
    port = settings.render_metrics_port + args.instance
    if port > 65535:
        print(f"render: RENDER_METRICS_PORT + {args.instance} is past 65535", file=sys.stderr)
        return 2
    configure_logging(settings)
    renderer = Renderer(settings, connect(settings))
    renderer.metrics.serve(settings.listen_host, port)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        renderer.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # What is built by now (modules, the renderer) lives as long as the process: frozen, the
    # collector's full passes skip it and last a few ms instead of 30-40 (longer than a frame).
    gc.freeze()
    renderer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
