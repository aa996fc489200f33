"""`python -m render.channel --channel <id> --node <node id>`: one channel's render process.

A render node (`python -m render`) runs one of these per channel: the leader of each channel
placed on the node, and a warm follower of every other placed channel (the same process: it
streams while core.store.placement.ChannelLease gives its node the channel's lease, and stands
by with its scene read and its sources released otherwise), so one channel's crash touches no
other and a takeover needs no process start.

It renders at the channel's effective output (core.channels.effective_output: the channel's
own width, height, fps and bitrate, the deployment's for the rest), serves its metrics on a
port the system picks on 127.0.0.1 and names that port in its render heartbeat (metricsPort),
so the node can merge them, beside its node and what its sources add to the channel's cost.
It exits when its parent goes away (its parent id changes; the node also asks the kernel for
SIGKILL then), and on SIGTERM it closes its stream with the trailers, releases the lease and
removes its heartbeat (SIGINT is ignored: the node, which gets it too, decides). Exit
codes: 0 after a stop, 2 for a configuration error, 3 when the channel does not exist.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import redis

    from core.config import Settings
    from render.renderer import Renderer

log = logging.getLogger("render.channel")

EXIT_CONFIG = 2
EXIT_NO_CHANNEL = 3
PARENT_POLL_SECONDS = 0.2
# How long a process whose parent died may spend closing its stream before it just exits.
ORPHAN_EXIT_SECONDS = 5.0


def main(argv: list[str] | None = None) -> int:
    """Run one channel until stopped; the exit code (see the module's doc)."""
    # Imported here, not at the top: every source process (render.sources) imports its
    # parent's main module, this one, again (render/__main__.py says what that costs).
    from core.config import ConfigError, configure_logging, load_settings
    from core.errors import NotFound
    from core.keys import CHANNEL_ID_RE
    from core.redis_client import connect
    from render.renderer import Renderer

    parser = argparse.ArgumentParser(prog="python -m render.channel")
    parser.add_argument("--channel", required=True, help="the channel's id")
    parser.add_argument("--node", required=True, help="the id of the node running it")
    args = parser.parse_args(argv)
    if not CHANNEL_ID_RE.match(args.channel):
        print(f"render.channel: --channel {args.channel!r} is not a channel id", file=sys.stderr)
        return EXIT_CONFIG
    parent = os.getppid()
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"render.channel: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings)
    client = connect(settings)
    try:
        settings = channel_settings(settings, client, args.channel)
    except NotFound:
        log.error("channel %s does not exist", args.channel)
        return EXIT_NO_CHANNEL
    renderer = Renderer(settings, client, channel=args.channel, node=args.node)
    renderer.metrics_port = renderer.metrics.serve("127.0.0.1", 0)

    def stop(signum: int, _frame: object) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        renderer.stop()

    signal.signal(signal.SIGTERM, stop)
    # Ctrl-C in a terminal reaches the node's whole process group: the node decides, then
    # sends SIGTERM.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=watch_parent, args=(parent, renderer), name="parent",
                     daemon=True).start()
    # As render/__main__.py: what lives as long as the process is kept out of full collections.
    gc.freeze()
    renderer.run()
    return 0


def channel_settings(settings: Settings, client: redis.Redis, channel_id: str) -> Settings:
    """`settings` with the output the channel renders at; NotFound for no such channel."""
    from dataclasses import replace

    from core.channels import effective_output
    from core.keys import Keys
    from core.store.channels import ChannelStore

    store = ChannelStore(client, Keys(settings.redis_prefix), settings)
    output = effective_output(store.get(channel_id), settings)
    return replace(settings, output_width=output.width, output_height=output.height,
                   render_fps=output.fps, video_bitrate=output.video_bitrate)


def watch_parent(parent: int, renderer: Renderer) -> None:
    """Stop the renderer once the parent process is gone (the child is re-parented, so its
    parent id changes), and exit if closing takes longer than ORPHAN_EXIT_SECONDS."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    log.warning("the render node (pid %d) is gone: stopping", parent)
    renderer.stop()
    time.sleep(ORPHAN_EXIT_SECONDS)
    log.error("still closing %.0f s after the node went: exiting", ORPHAN_EXIT_SECONDS)
    os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
