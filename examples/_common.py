"""What every example shares: choosing where to connect.

* ``--url URL``            -> that server (a relay, or ``python -m realtime_sync.testing``);
* ``OPENAI_API_KEY`` set   -> OpenAI;
* otherwise (or ``--simulator``) -> a built-in :class:`RealtimeSimulator`, so the
  example runs offline. The example scripts the simulator's replies itself.

Usage::

    parser = argparse.ArgumentParser(description=__doc__)
    add_connection_args(parser)
    args = parser.parse_args(argv)
    with open_client(args) as (client, sim):
        if sim is not None:
            sim.add_reply("weather", text="Sunny!")
        client.connect()
        ...
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Iterator, Optional, Tuple

try:
    from realtime_sync import RealtimeClient
except ImportError:  # pragma: no cover - a friendlier message for a fresh checkout
    sys.exit("realtime_sync is not importable: run `pip install -e '.[testing]'` first")

if TYPE_CHECKING:  # importing it for real needs the `testing` extra (websockets)
    from realtime_sync.testing import RealtimeSimulator


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    """Add ``--url`` and ``--simulator`` to an example's parser."""
    group = parser.add_argument_group("connection")
    group.add_argument("--url", help="Realtime server URL (default: OpenAI when OPENAI_API_KEY)")
    group.add_argument(
        "--simulator",
        action="store_true",
        help="use the built-in simulator even when OPENAI_API_KEY is set",
    )


@contextlib.contextmanager
def open_client(
    args: argparse.Namespace, **simulator_options: object
) -> Iterator[Tuple[RealtimeClient, Optional[RealtimeSimulator]]]:
    """Yield ``(client, sim)``: a not-yet-connected client, and the simulator or ``None``.

    ``simulator_options`` go to :class:`RealtimeSimulator` (e.g. ``event_delay=0.01``).
    On exit the client disconnects and the simulator stops.
    """
    sim = None
    if args.url and not args.simulator:
        client = RealtimeClient(url=args.url)
        print(f"Connecting to {args.url}")
    elif os.environ.get("OPENAI_API_KEY") and not args.simulator:
        client = RealtimeClient()
        print("Connecting to OpenAI (OPENAI_API_KEY is set)")
    else:
        try:
            from realtime_sync.testing import RealtimeSimulator
        except ImportError as exc:  # the simulator needs the `testing` extra; exc says so
            sys.exit(f"error: {exc} (or set OPENAI_API_KEY)")
        sim = RealtimeSimulator(**simulator_options).start()  # type: ignore[arg-type]
        client = RealtimeClient(url=sim.url)
        reason = "--simulator" if args.simulator else "no OPENAI_API_KEY and no --url"
        print(f"Using the built-in RealtimeSimulator at {sim.url} ({reason})")
    try:
        yield client, sim
    finally:
        client.disconnect()
        if sim is not None:
            sim.stop()
