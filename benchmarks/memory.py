"""Memory of a long session: ``python -m benchmarks.memory --url URL ...`` prints JSON.

Run in a fresh process (RSS is per process) against ``python -m benchmarks.server``
in another one. Per turn the client optionally streams ``--user-chunks`` chunks
of input audio with ``append_input_audio`` (100 ms each), then calls
``create_response()`` (which commits them, manual turns) and waits for the
turn's last event. RSS (``VmRSS``) is sampled before the first turn and at
checkpoints, after a ``gc.collect()``.

``--retention`` picks the client's audio retention: ``default`` (the client's
default), ``off`` (``audio_retention_s=0``: completed items let their audio
go) or ``all`` (``audio_retention_s=None``). The options in use are reported.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import sys
import threading
import time
from typing import Any, Dict, List


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; else peak RSS)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def main(argv: Any = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--turns", type=int, required=True)
    parser.add_argument("--user-chunks", type=int, default=0)
    parser.add_argument("--chunks", type=int, default=0, help="audio deltas per answer (report)")
    parser.add_argument("--chunk-bytes", type=int, default=4800)
    parser.add_argument("--retention", choices=("default", "off", "all"), default="default")
    parser.add_argument("--checkpoints", type=int, default=10)
    args = parser.parse_args(argv)

    from realtime_sync import RealtimeClient

    options: Dict[str, Any] = {}
    supported = inspect.signature(RealtimeClient).parameters
    if args.retention != "default":
        if "audio_retention_s" not in supported:
            print(json.dumps({"error": "RealtimeClient has no audio_retention_s option"}))
            return 2
        options["audio_retention_s"] = 0.0 if args.retention == "off" else None
    client = RealtimeClient(url=args.url, **options)
    ends = [0]
    turn_done = threading.Event()

    def on_end(event: Any) -> None:
        ends[0] += 1
        turn_done.set()

    client.on("rate_limits.updated", on_end)
    client.connect(timeout=30)
    chunk = bytes(range(256)) * (args.chunk_bytes // 256) + bytes(args.chunk_bytes % 256)
    gc.collect()
    samples: List[Dict[str, Any]] = [{"turn": 0, "rss": rss_bytes()}]
    every = max(1, args.turns // args.checkpoints)
    start = time.perf_counter()
    try:
        for turn in range(1, args.turns + 1):
            for _ in range(args.user_chunks):
                client.append_input_audio(chunk)
            turn_done.clear()
            client.create_response()
            if not turn_done.wait(60):
                print(json.dumps({"error": f"turn {turn} did not finish"}))
                return 1
            if turn % every == 0 or turn == args.turns:
                gc.collect()
                samples.append({"turn": turn, "rss": rss_bytes()})
        seconds = time.perf_counter() - start
        items = client.conversation.get_items()
        kept = sum(len(item.formatted.audio_buffer) for item in items)
        peak = 0
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    peak = int(line.split()[1]) * 1024
    finally:
        client.disconnect()
    print(
        json.dumps(
            {
                "options": dict(options),
                "retention": args.retention,
                "turns": args.turns,
                "user_chunks": args.user_chunks,
                "out_deltas": args.turns * args.chunks,
                "seconds": seconds,
                "items": len(items),
                "audio_kept_bytes": kept,
                "input_audio_kept_ms": getattr(
                    client.conversation, "retained_input_audio_ms", None
                ),
                "samples": samples,
                "peak_rss": peak,
                "pid": os.getpid(),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
