"""`python -m render`: the render worker process.

Reads the configuration (a bad variable stops it with the variable named), then composites
and streams until SIGTERM or SIGINT, on which it closes the stream with a proper trailer and
hands the render lease to a standby at once.
"""

from __future__ import annotations

import logging
import signal
import sys

from core.config import ConfigError, configure_logging, load_settings
from core.redis_client import connect
from render.renderer import Renderer

log = logging.getLogger("render")


def main() -> int:
    """Run one render instance; the exit code is 2 for a configuration error."""
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"render: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    renderer = Renderer(settings, connect(settings))

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        renderer.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    renderer.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
