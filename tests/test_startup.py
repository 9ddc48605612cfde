"""Start-up: ``import realtime_sync`` is lazy, and every public name still resolves.

The package's ``__init__`` imports each public name from its module on first
use (PEP 562). These tests check, in fresh interpreters, that importing the
package loads none of the heavy modules, that importing ``RealtimeClient``
loads none of the GPT-Live, audio, testing or webhook modules, and that every
name in ``__all__`` resolves to the object its module defines. The start-up
benchmark's quick run is checked for correctness only (never for time).
"""

from __future__ import annotations

import ast
import importlib
import os
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

import realtime_sync

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # benchmarks/ is not an installed package

from benchmarks import startup  # noqa: E402


def _fresh(code: str) -> List[str]:
    """Run ``code`` in a new interpreter; its last line of output, split."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip().splitlines()[-1].split()


def _loaded_after(statement: str, modules: tuple) -> List[str]:
    code = (
        f"import sys\n{statement}\nprint('loaded:', *[m for m in {modules!r} if m in sys.modules])"
    )
    return _fresh(code)[1:]


def test_import_realtime_sync_loads_nothing_heavy() -> None:
    assert _loaded_after("import realtime_sync", startup.LAZY_MODULES) == []


def test_a_light_name_loads_only_its_module() -> None:
    heavy = ("urllib.request", "http.client", "ssl", "realtime_sync.events", "cattrs")
    assert _loaded_after("from realtime_sync import ProtocolError, __version__", heavy) == []


def test_the_realtime_client_does_not_load_live_audio_or_testing() -> None:
    others = ("realtime_sync.live", "realtime_sync.audio", "realtime_sync.testing")
    assert _loaded_after("from realtime_sync import RealtimeClient", others) == []


def test_star_import_gives_every_public_name() -> None:
    code = (
        "from realtime_sync import *\n"
        "import realtime_sync\n"
        "missing = [n for n in realtime_sync.__all__ if n not in globals()]\n"
        "print('missing:', *missing)"
    )
    assert _fresh(code) == ["missing:"]


@pytest.mark.parametrize("name", realtime_sync.__all__)
def test_every_public_name_resolves_to_its_module_object(name: str) -> None:
    value = getattr(realtime_sync, name)
    if name == "__version__":
        assert isinstance(value, str) and value
        return
    home = importlib.import_module(realtime_sync._LAZY.get(name, ".errors"), "realtime_sync")
    assert getattr(home, name) is value
    assert name in dir(realtime_sync)


def test_all_the_lazy_table_and_the_type_checking_imports_agree() -> None:
    assert len(set(realtime_sync.__all__)) == len(realtime_sync.__all__)
    tree = ast.parse((ROOT / "realtime_sync" / "__init__.py").read_text())
    eager, checked = {}, {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__" and node.level:
            eager.update({a.name: node.module for a in node.names})
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom)
                for alias in imp.names:
                    checked[alias.name] = "." * imp.level + (imp.module or "")
    assert checked == realtime_sync._LAZY
    assert set(eager).isdisjoint(checked)
    assert set(eager) | set(checked) == set(realtime_sync.__all__)
    assert set(eager.values()) == {"_version", "errors"}  # the only modules imported eagerly


def test_submodules_and_unknown_names() -> None:
    assert _fresh("import realtime_sync\nprint(realtime_sync.protocol.__name__)") == [
        "realtime_sync.protocol"
    ]
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = realtime_sync.no_such_name
    with pytest.raises(AttributeError):
        _ = realtime_sync.__no_such_dunder__


def test_the_startup_benchmark_checks_what_it_measures() -> None:
    result = startup.measure(rounds=1)
    print("\nstart-up medians (ms, not asserted):", result["median_ms"])
    assert result["problems"] == []
    assert set(result["median_ms"]) == {label for label, _, _ in startup.CASES}
    # and its check can fail: a statement that loads a module it must not
    _, _, problems = startup._run_case("import json", ("json",))
    assert problems == ["startup: 'import json' loaded json"]


def test_decoders_are_built_by_the_first_decode_for_every_type_at_once() -> None:
    code = (
        "from realtime_sync import events, protocol\n"
        "before = len(protocol._server_specs)\n"
        'protocol.decode(\'{"type": "input_audio_buffer.cleared", "event_id": "e"}\')\n'
        "after = set(protocol._server_specs) == set(events.SERVER_EVENT_CLASSES)\n"
        "print(before, after)"
    )
    assert _fresh(code) == ["0", "True"]
