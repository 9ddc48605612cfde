"""``python -m benchmarks``: receive throughput, audio linearity, latency, memory and sending.

Every section starts its own loopback server (see :mod:`benchmarks.server`).
Timings on a shared machine are noisy, so consumers run in alternating
rounds and the report gives ratios measured within one round (min and median
over rounds), never absolute targets. Correctness is checked on every
``RealtimeClient`` round (cached audio and transcripts equal what was sent)
and on the sending run (the server got every frame); any failure makes the
exit status 1.

``--quick`` runs a smaller version in under a minute. Without ``--no-fast``
the full run also re-runs the throughput section in a child process with the
``fast`` extra blocked (standard library JSON and base64).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional, Sequence

from .stream import StreamSpec, build_stream

SECTIONS = ("throughput", "linearity", "latency", "memory", "sending", "live", "startup")

_STREAM_ARGS = ("--responses", "--chunks", "--turns")


# --------------------------------------------------------------------------- helpers


def block_fast_extra() -> None:
    """Make ``orjson`` and ``pybase64`` unimportable (before realtime_sync is imported)."""
    if "realtime_sync" in sys.modules:
        raise RuntimeError("block the fast extra before importing realtime_sync")
    for name in ("orjson", "pybase64"):
        sys.modules[name] = None  # type: ignore[assignment]


def openai_available() -> bool:
    """openai-python and the ``websockets`` package its realtime connection needs."""
    try:
        import openai  # noqa: F401
        import websockets.sync.client  # noqa: F401
    except ImportError:
        return False
    return True


def environment() -> Dict[str, Any]:
    import websocket

    from realtime_sync import protocol, utils

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import openai

        openai_version: Optional[str] = openai.__version__
    except ImportError:
        openai_version = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "websocket-client": websocket.__version__,
        "json": protocol.JSON_BACKEND,
        "base64": getattr(utils, "_BASE64_BACKEND", "?"),
        "openai": openai_version,
    }


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _ratios(num: Sequence[float], den: Sequence[float]) -> List[float]:
    return [a / b for a, b in zip(num, den) if b > 0]


# --------------------------------------------------------------------------- sections


def throughput(spec: StreamSpec, rounds: int, names: Sequence[str]) -> Dict[str, Any]:
    """Target 1 and 2: consumers of one stream in alternating rounds (after a warm-up)."""
    from .consumers import CONSUMERS
    from .floor import run_floor
    from .server import BenchServer

    consumers = {**CONSUMERS, "floor": run_floor}
    stream = build_stream(spec)
    times: Dict[str, List[float]] = {name: [] for name in names}
    problems: List[str] = []
    with BenchServer(stream) as server:
        for r in range(rounds + 1):
            order = list(names[r % len(names) :]) + list(names[: r % len(names)])
            for name in order:
                result = consumers[name](server.url, stream)
                problems.extend(result.problems)
                if result.events != stream.events:
                    problems.append(f"{name}: {result.events} of {stream.events} events")
                if r > 0:  # round 0 warms up (imports, converter hooks, caches)
                    times[name].append(result.seconds)
    out: Dict[str, Any] = {
        "events": stream.events,
        "megabytes": stream.payload_bytes / 1e6,
        "rounds": rounds,
        "times": times,
        "problems": problems,
    }
    if "client" in times and "raw" in times:
        out["client/raw"] = _ratios(times["client"], times["raw"])
    if "client" in times and "floor" in times:
        out["client/floor"] = _ratios(times["client"], times["floor"])
    if "client" in times and "openai" in times:
        out["openai/client"] = _ratios(times["openai"], times["client"])
    return out


def linearity(long_chunks: int, short_chunks: int, rounds: int) -> Dict[str, Any]:
    """Target 3: per-event cost of one long item vs many short ones (same event count)."""
    from .consumers import run_client
    from .server import BenchServer

    long_stream = build_stream(StreamSpec(responses=1, chunks=long_chunks))
    short_stream = build_stream(
        StreamSpec(responses=long_chunks // short_chunks, chunks=short_chunks)
    )
    per_event: Dict[str, List[float]] = {"long": [], "short": []}
    problems: List[str] = []
    with BenchServer(long_stream) as long_srv, BenchServer(short_stream) as short_srv:
        for r in range(rounds + 1):
            pairs = [("long", long_srv, long_stream), ("short", short_srv, short_stream)]
            for name, server, stream in pairs if r % 2 else pairs[::-1]:
                result = run_client(server.url, stream)
                problems.extend(result.problems)
                if r > 0:
                    per_event[name].append(result.seconds / stream.events)
    return {
        "long_item_s": long_chunks / 10,
        "short_item_s": short_chunks / 10,
        "per_event_us": {k: [v * 1e6 for v in vs] for k, vs in per_event.items()},
        "long/short": _ratios(per_event["long"], per_event["short"]),
        "problems": problems,
    }


def latency(idle_chunks: int, flood: StreamSpec, pace_s: float) -> Dict[str, Any]:
    """Target 4: idle (paced) and flood latency, plus the bare thread-handoff floor."""
    from . import latency as lat

    idle = lat.measure(build_stream(StreamSpec(responses=1, chunks=idle_chunks)), pace_s=pace_s)
    floor = lat.handoff_floor(2 * idle_chunks, pace_s)
    flooded = lat.measure(build_stream(flood), pace_s=0.0)
    problems = [x["problem"] for x in (idle, flooded) if "problem" in x]
    return {"idle": idle, "floor": floor, "flood": flooded, "problems": problems}


def _spawn_server(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.server", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    )


def _stop_server(proc: subprocess.Popen[str], expect: int = 0) -> List[Dict[str, Any]]:
    """Wait for ``expect`` per-connection summaries (10 s at most), then stop the server."""
    assert proc.stdin is not None and proc.stdout is not None
    summaries: List[Dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while len(summaries) < expect and time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
        line = proc.stdout.readline() if ready else ""
        if not line:
            break
        if line.startswith("{"):
            summaries.append(json.loads(line))
    proc.stdin.close()
    summaries += [json.loads(x) for x in proc.stdout.read().splitlines() if x.startswith("{")]
    proc.wait(30)
    return summaries


def _memory_run(turns: int, chunks: int, user_chunks: int, retention: str) -> Dict[str, Any]:
    server_args = [
        "--responses",
        str(turns),
        "--turns",
        str(turns),
        "--chunks",
        str(chunks),
        "--keep-open",
    ]
    if user_chunks:
        server_args.append("--user-items")
    server = _spawn_server(*server_args)
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.memory",
                "--url",
                url,
                "--turns",
                str(turns),
                "--user-chunks",
                str(user_chunks),
                "--chunks",
                str(chunks),
                "--retention",
                retention,
            ],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        )
    finally:
        _stop_server(server)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (lines[-1] if lines else done.stderr[-2000:]) or "no output"}
    result: Dict[str, Any] = json.loads(lines[-1])
    return result


def memory(hour_turns: int, responses: int) -> Dict[str, Any]:
    """Target 5: RSS over a long voice session, and over many responses with retention off."""
    # A turn: 10 s of input audio (100 chunks of 100 ms) and a 10 s answer.
    hour = _memory_run(hour_turns, 100, 100, "default")
    off = _memory_run(responses, 10, 0, "off")
    problems = [f"memory: {r['error']}" for r in (hour, off) if "error" in r]
    return {"hour": hour, "responses_off": off, "problems": problems}


def sending(chunks: int) -> Dict[str, Any]:
    """Target 6: append_input_audio of 100 ms chunks as fast as the caller can."""
    from realtime_sync import RealtimeClient

    server = _spawn_server("--responses", "1", "--chunks", "1", "--keep-open")
    assert server.stdout is not None
    url = server.stdout.readline().strip()
    audio = bytes(range(256)) * 18 + bytes(192)  # 4800 bytes: 100 ms of 24 kHz PCM16
    calls: List[int] = []
    try:
        client = RealtimeClient(url=url)
        client.connect(timeout=30)
        now = time.perf_counter_ns
        for _ in range(50):  # warm-up
            client.append_input_audio(audio)
        start = time.perf_counter()
        for _ in range(chunks):
            t = now()
            client.append_input_audio(audio)
            calls.append(now() - t)
        seconds = time.perf_counter() - start
        client.disconnect()
    finally:
        summaries = _stop_server(server, expect=1)
    got = sum(s.get("types", {}).get("input_audio_buffer.append", 0) for s in summaries[-1:])
    from .latency import percentiles

    problems = []
    if got != chunks + 50:
        problems.append(f"sending: the server got {got} of {chunks + 50} appends")
    return {
        "chunks": chunks,
        "seconds": seconds,
        "realtime_factor": chunks * 0.1 / seconds,
        "per_call": percentiles(calls),
        "problems": problems,
    }


def correctness(
    responses: int = 3, chunks: int = 30, appends: int = 200, with_openai: bool = True
) -> Dict[str, Any]:
    """The quick correctness path (tests/test_benchmarks.py): small stream, one timed round.

    Returns ``{"problems": [...], "ratios": {...}}``; the ratios are for printing only.
    """
    names = ["floor", "raw", "client"]
    names += ["openai"] if with_openai and openai_available() else []
    t = throughput(StreamSpec(responses=responses, chunks=chunks), 1, names)
    s = sending(appends)
    keys = ("client/raw", "client/floor", "openai/client")
    ratios = {key: t[key][0] for key in keys if t.get(key)}
    ratios["sending x real time"] = s["realtime_factor"]
    return {"problems": t["problems"] + s["problems"], "ratios": ratios}


# --------------------------------------------------------------------------- report


def _fmt_ratio(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{min(values):.2f} / {_median(values):.2f} / {max(values):.2f}"


def print_report(report: Dict[str, Any], out: Any = sys.stdout) -> None:
    env = report["environment"]
    w = out.write
    w(
        f"\nrealtime_sync benchmarks ({'quick' if report['quick'] else 'full'}) - "
        f"Python {env['python']}, {env['cores']} cores ({env['cpu']}), "
        f"JSON {env['json']}, base64 {env['base64']}, websocket-client {env['websocket-client']}, "
        f"openai {env['openai']}\n"
    )
    lv = report.get("live")
    if lv:
        w(
            f"\nLive receive path: {lv['events']:,} session.output_audio.delta and transcript "
            f"events, {lv['megabytes']:.1f} MB, {lv['rounds']} rounds\n"
            f"   raw recv() {min(lv['times']['raw']):.3f} s, LiveAPI + handler "
            f"{min(lv['times']['live']):.3f} s (min)\n"
            f"   live / raw       (min/median/max of per-round ratios) "
            f"{_fmt_ratio(lv['live/raw'])}\n"
        )
    t = report.get("throughput")
    if t:
        w(
            f"\n1-2. Receive throughput: {t['events']:,} events, {t['megabytes']:.1f} MB, "
            f"{t['rounds']} rounds (min / median seconds)\n"
        )
        labels = {
            "socket": "socket drain (ceiling)",
            "floor": "floor: bytes, JSON, base64",
            "raw": "websocket-client recv() loop",
            "client": "RealtimeClient pipeline",
            "openai": "openai-python sync connect()",
        }
        for name, values in t["times"].items():
            if values:
                w(
                    f"   {labels[name]:32s} {min(values):7.3f} / {_median(values):7.3f} s"
                    f"   {min(values) / t['events'] * 1e6:6.2f} us/event\n"
                )
        stdlib = env["json"] == "json"
        if "client/raw" in t:
            target = "target <= 1.4 (stdlib only)" if stdlib else "target <= 1.1"
            w(
                f"   client / raw     (min/median/max of per-round ratios) "
                f"{_fmt_ratio(t['client/raw'])}   {target}\n"
            )
        if "client/floor" in t:
            target = "(target <= 2.5 is for the fast extra)" if stdlib else "target <= 2.5"
            w(
                f"   client / floor   (min/median/max of per-round ratios) "
                f"{_fmt_ratio(t['client/floor'])}   {target}\n"
            )
        if "openai/client" in t:
            target = "(target >= 4 is for the fast extra)" if stdlib else "target >= 4"
            w(
                f"   openai / client  (min/median/max of per-round ratios) "
                f"{_fmt_ratio(t['openai/client'])}   {target}\n"
            )
    lin = report.get("linearity")
    if lin:
        pe = lin["per_event_us"]
        w(
            f"\n3. Audio accumulation: one {lin['long_item_s']:.0f} s item vs "
            f"{lin['short_item_s']:.0f} s items, per event (min/median us): "
            f"{min(pe['long']):.2f}/{_median(pe['long']):.2f} vs "
            f"{min(pe['short']):.2f}/{_median(pe['short']):.2f}\n"
        )
        w(f"   long / short (min/median/max) {_fmt_ratio(lin['long/short'])}   target <= 1.25\n")
    lat = report.get("latency")
    if lat:

        def row(name: str, p: Dict[str, float]) -> None:
            w(
                f"   {name:44s} median {p['median_us']:8.1f}  p90 {p['p90_us']:8.1f}  "
                f"p99 {p['p99_us']:8.1f}  max {p['max_us']:8.1f} us  (n={p['n']})\n"
            )

        w(
            f"\n4. Latency, frame to handler (idle: one frame every "
            f"{lat['idle']['pace_s'] * 1000:g} ms)\n"
        )
        row("idle, reader got frame -> handler", lat["idle"]["reader_to_handler"])
        row("idle, server sendall -> handler", lat["idle"]["server_to_handler"])
        row("idle, bare SimpleQueue thread handoff", lat["floor"])
        row("flood, reader got frame -> handler", lat["flood"]["reader_to_handler"])
        w("   targets: idle median <= 15 us, p99 <= 50 us; flood p99 <= 5000 us\n")
    mem = report.get("memory")
    if mem:
        w("\n5. Memory (RSS, separate processes)\n")
        for key, label in (
            ("hour", "voice session, default retention"),
            ("responses_off", "responses, audio_retention_s=0"),
        ):
            m = mem[key]
            if "error" in m:
                w(f"   {label}: {m['error']}\n")
                continue
            s = m["samples"]
            base, end, mid = s[0], s[-1], s[len(s) // 2]
            late = (end["rss"] - mid["rss"]) / max(1, end["turn"] - mid["turn"]) / 1e3
            w(
                f"   {label}: {m['turns']} turns ({m['turns'] * m['user_chunks']:,} audio deltas "
                f"in, {m['out_deltas']:,} out) in {m['seconds']:.1f} s\n"
                f"      RSS {base['rss'] / 1e6:.1f} MB after connect -> {end['rss'] / 1e6:.1f} MB "
                f"(+{(end['rss'] - base['rss']) / 1e6:.1f}; peak {m['peak_rss'] / 1e6:.1f} MB); "
                f"second half {late:.1f} KB/turn; audio kept {m['audio_kept_bytes'] / 1e6:.1f} MB"
                f" + input window {(m['input_audio_kept_ms'] or 0) * 48 / 1e6:.1f} MB\n"
            )
            w(
                "      RSS MB by turn: "
                + ", ".join(f"{x['turn']}: {x['rss'] / 1e6:.1f}" for x in s)
                + "\n"
            )
    snd = report.get("sending")
    if snd:
        p = snd["per_call"]
        w(
            f"\n6. Sending: {snd['chunks']:,} x 100 ms append_input_audio in "
            f"{snd['seconds']:.3f} s = {snd['realtime_factor']:.0f}x real time "
            f"(target >= 200x); per call median "
            f"{p['median_us']:.1f} us, p99 {p['p99_us']:.1f} us, max {p['max_us'] / 1000:.2f} ms "
            f"(one chunk = 100 ms)\n"
        )
    if report.get("startup"):
        from .startup import print_startup

        print_startup(report["startup"], out)
    problems = report.get("problems", [])
    w(f"\ncorrectness: {'OK' if not problems else 'FAILED'}\n")
    for problem in problems[:20]:
        w(f"   {problem}\n")


def print_side_by_side(report: Dict[str, Any], out: Any = sys.stdout) -> None:
    """The throughput ratios of this run and of its standard-library child, in one table."""
    fast = report.get("throughput") or {}
    std = (report.get("stdlib") or {}).get("throughput") or {}
    if not fast or not std:
        return
    w = out.write
    w(
        "\nReceive path, side by side (median / best of per-round ratios; lower is better)\n"
        f"   {'':24s} {'fast extra':>16s} {'standard library':>18s}\n"
    )
    for key, goal in (("client/raw", "1.1 / 1.4"), ("client/floor", "2.5 / -")):
        cells = []
        for t in (fast, std):
            values = t.get(key) or []
            cells.append(f"{_median(values):.2f} / {min(values):.2f}" if values else "n/a")
        w(f"   {key:24s} {cells[0]:>16s} {cells[1]:>18s}   goals {goal}\n")


# --------------------------------------------------------------------------- main


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a small run, under a minute")
    parser.add_argument("--rounds", type=int, default=None, help="timed rounds per section")
    parser.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections of: {', '.join(SECTIONS)}",
    )
    parser.add_argument("--no-openai", action="store_true", help="skip openai-python")
    parser.add_argument(
        "--no-fast",
        action="store_true",
        help="block orjson and pybase64 (the standard library only)",
    )
    parser.add_argument(
        "--no-stdlib-run",
        action="store_true",
        help="skip the extra throughput run without the fast extra",
    )
    parser.add_argument("--json", help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    if args.no_fast:
        block_fast_extra()
    sections = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    quick = args.quick
    rounds = args.rounds or (3 if quick else 7)
    names = ["socket", "floor", "raw", "client"]
    if not args.no_openai:
        if openai_available():
            names.append("openai")
        else:
            print("openai with its realtime extra is not installed: skipping it", file=sys.stderr)

    report: Dict[str, Any] = {"quick": quick, "environment": environment()}
    problems: List[str] = []
    full = StreamSpec(responses=10 if quick else 40)
    if "throughput" in sections:
        report["throughput"] = throughput(full, rounds, names)
    if "linearity" in sections:
        report["linearity"] = linearity(1200 if quick else 6000, 100, rounds)
    if "latency" in sections:
        report["latency"] = latency(300 if quick else 1500, full, pace_s=0.001)
    if "memory" in sections:
        report["memory"] = memory(36 if quick else 360, 100 if quick else 1000)
    if "sending" in sections:
        report["sending"] = sending(2000 if quick else 6000)
    if "live" in sections:
        from .live import live_receive

        report["live"] = live_receive(1000 if quick else 5000, rounds)
    if "startup" in sections:
        from .startup import measure as measure_startup

        report["startup"] = measure_startup(3 if quick else 9)
    for section in SECTIONS:
        problems.extend(report.get(section, {}).get("problems", []))
    report["problems"] = problems
    print_report(report)

    if not args.no_fast and not args.no_stdlib_run and "throughput" in sections:
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "stdlib.json")
            cmd = [
                sys.executable,
                "-m",
                "benchmarks",
                "--no-fast",
                "--only",
                "throughput",
                "--rounds",
                str(rounds),
                "--json",
                path,
            ]
            cmd += ["--quick"] if quick else []
            cmd += ["--no-openai"] if args.no_openai else []
            print(
                "\n--- the same throughput run without the fast extra (standard library) ---",
                flush=True,
            )
            root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            child = subprocess.run(cmd, cwd=root, check=False)
            if os.path.exists(path):
                with open(path) as f:
                    report["stdlib"] = json.load(f)
            if child.returncode != 0:
                problems.append("the run without the fast extra failed")
            print_side_by_side(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 1 if problems else 0
