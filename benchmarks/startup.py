"""Start-up: how long importing the SDK takes in a fresh interpreter.

Each case runs in its own new interpreter (``python -c``), in alternating rounds;
the child times its one import statement with ``perf_counter`` and reports
which of the modules the SDK loads lazily are loaded after it. The report gives
the median over rounds per case, and the whole process's wall time beside it.

Correctness, checked on every run: the statement works, ``import realtime_sync``
loads none of :data:`LAZY_MODULES`, importing :class:`RealtimeClient` loads none
of the GPT-Live, audio, testing or webhook modules, and every name in
``realtime_sync.__all__`` resolves.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any, Dict, List, Sequence, Tuple

__all__ = ["CASES", "LAZY_MODULES", "measure", "print_startup"]

LAZY_MODULES = (
    "urllib.request",
    "http.client",
    "email.message",
    "ssl",
    "websocket",
    "cattrs",
    "realtime_sync.api",
    "realtime_sync.protocol",
    "realtime_sync.events",
    "realtime_sync.models",
    "realtime_sync.endpoints",
    "realtime_sync.live",
    "realtime_sync.audio",
    "realtime_sync.testing",
)
"""What ``import realtime_sync`` must not load (they load on first use)."""

_NOT_FOR_REALTIME = (
    "realtime_sync.live",
    "realtime_sync.audio",
    "realtime_sync.testing",
    "realtime_sync.webhooks",
)

CASES: Tuple[Tuple[str, str, Tuple[str, ...]], ...] = (
    ("bare interpreter (python -c pass)", "pass", ()),
    ("import realtime_sync", "import realtime_sync", LAZY_MODULES),
    (
        "from realtime_sync import RealtimeClient",
        "from realtime_sync import RealtimeClient",
        _NOT_FOR_REALTIME,
    ),
    ("import websocket (a dependency)", "import websocket", ()),
    (
        "every name in realtime_sync.__all__",
        "import realtime_sync\nfor _n in realtime_sync.__all__: getattr(realtime_sync, _n)",
        (),
    ),
)
"""(label, statement, modules that must not be loaded after it)."""

_CHILD = """\
import sys, time, json
_t = time.perf_counter()
{statement}
_ms = (time.perf_counter() - _t) * 1000
print(json.dumps({{"ms": _ms, "loaded": [m for m in {forbidden!r} if m in sys.modules]}}))
"""


def _run_case(statement: str, forbidden: Sequence[str]) -> Tuple[float, float, List[str]]:
    """(statement ms, process wall ms, problems) for one fresh interpreter."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD.format(statement=statement, forbidden=tuple(forbidden))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
        cwd=root,
    )
    wall = (time.perf_counter() - start) * 1000
    if done.returncode != 0 or not done.stdout.strip():
        return float("nan"), wall, [f"startup: {statement!r} failed: {done.stderr[-500:]}"]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    problems = [f"startup: {statement!r} loaded {m}" for m in result["loaded"]]
    return float(result["ms"]), wall, problems


def measure(rounds: int = 7) -> Dict[str, Any]:
    """Every case in ``rounds`` alternating rounds; medians in milliseconds."""
    ms: Dict[str, List[float]] = {label: [] for label, _, _ in CASES}
    wall: Dict[str, List[float]] = {label: [] for label, _, _ in CASES}
    problems: List[str] = []
    for r in range(rounds):
        cases = CASES[r % len(CASES) :] + CASES[: r % len(CASES)]
        for label, statement, forbidden in cases:
            t, w, p = _run_case(statement, forbidden)
            ms[label].append(t)
            wall[label].append(w)
            problems.extend(x for x in p if x not in problems)
    return {
        "rounds": rounds,
        "median_ms": {k: statistics.median(v) for k, v in ms.items()},
        "median_wall_ms": {k: statistics.median(v) for k, v in wall.items()},
        "problems": problems,
    }


def print_startup(result: Dict[str, Any], out: Any = sys.stdout) -> None:
    """The start-up section of the report."""
    w = out.write
    w(
        f"\nStart-up: fresh interpreters, median of {result['rounds']} rounds "
        "(the import statement alone / the whole process)\n"
    )
    for label, _, _ in CASES:
        w(
            f"   {label:44s} {result['median_ms'][label]:7.1f} ms / "
            f"{result['median_wall_ms'][label]:7.1f} ms\n"
        )
    w("   target: import realtime_sync <= 100 ms\n")


if __name__ == "__main__":
    report = measure(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
    print_startup(report)
    for problem in report["problems"]:
        print("  ", problem)
    sys.exit(1 if report["problems"] else 0)
