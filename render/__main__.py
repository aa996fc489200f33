"""`python -m render [--instance N]`: a render node (render.node).

Reads the configuration (a bad variable stops it with the variable named), registers the node
and runs a process per channel until SIGTERM or SIGINT, on which it drains: its channels are
handed to other nodes one at a time (or, with nowhere to go, closed with their trailers), then
it exits. Instance N (0 by default) serves the node's metrics on RENDER_METRICS_PORT + N, so
nodes on one host do not fight over one port.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

log = logging.getLogger("render")
MAX_INSTANCES = 100


def main(argv: list[str] | None = None) -> int:
    """Run one render node; the exit code is 2 for a configuration error."""
    # Imported here, not at the top: every source process (render.sources) imports its
    # parent's main module again, and a channel process's sources would pay for these.
    from core.config import ConfigError, configure_logging, load_settings
    from core.redis_client import connect
    from render.node import Node

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
    node = Node(settings, connect(settings), metrics_port=port)
    node.serve_metrics(settings.listen_host)

    def drain(signum: int, _frame: object) -> None:
        log.info("signal %s: draining", signal.Signals(signum).name)
        node.drain()

    signal.signal(signal.SIGTERM, drain)
    signal.signal(signal.SIGINT, drain)
    signal.signal(signal.SIGCHLD, lambda _signum, _frame: node.child_exited())
    node.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
