"""The documentation: every page is in the nav, the marked snippets run, the site builds.

Snippet convention: every fenced ```python block in docs/ is preceded by an
HTML comment, invisible on GitHub and in the built site, that says how to
test it (blank lines may separate the comment from the fence):

``<!-- test: standalone -->``
    Run as written (the snippet starts its own ``RealtimeSimulator``).
``<!-- test: sim -->``
    Run with ``sim``, a running ``RealtimeSimulator``, already defined.
``<!-- test: client -->``
    Run with ``sim`` and ``client``, a ``RealtimeClient`` connected to it.
``<!-- test: openai -->``
    A snippet written for the real API: it runs as written with
    ``OPENAI_API_KEY`` set and the default URL pointed at a simulator (``sim``).
``<!-- test: continue -->``
    Run in the namespace of the previous runnable block of the same page.
``<!-- test: skip REASON -->``
    Not run (a display, an extra package, the network...); the reason is required.

Options may follow the kind on the first line: ``requires=MOD1,MOD2`` skips the
snippet when a module is not importable, ``needs=display`` when there is no
display (``DISPLAY`` unset on Linux; run under ``xvfb-run`` to include them).
Lines after the first one in the comment are hidden setup code run just before
the snippet (typically ``sim.add_reply(...)`` so the simulator answers like the
example says); it may use ``monkeypatch``. An ``<!-- check: ... -->`` comment
right after the block holds hidden assertions run after it in the same
namespace. Snippets run in a temporary working directory; clients left in the
namespace are disconnected and the SDK's threads must be gone afterwards.

Tracebacks point at the Markdown file and line of the failing snippet.
"""

from __future__ import annotations

import html
import importlib.util
import os
import re
import subprocess
import sys
import textwrap
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MKDOCS_YML = ROOT / "mkdocs.yml"

KINDS = ("standalone", "sim", "client", "openai", "continue", "skip")
FAKE_KEY = "sk-docs-test-0000000000"

# Pages whose main snippets must be executed, not skipped.
MUST_RUN = (
    "quickstart.md",
    "guide/sending-messages.md",
    "guide/streaming-audio.md",
    "guide/tools.md",
    "guide/interruption.md",
    "guide/events.md",
    "guide/logging.md",
    "testing.md",
    "jupyter.md",
)

_FENCE = re.compile(r"^```python[ \t]*\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
_COMMENT_BEFORE = re.compile(r"<!--(?P<body>(?:(?!<!--).)*?)-->\s*\Z", re.S)
_CHECK_AFTER = re.compile(r"\s*<!--\s*check:(?P<body>.*?)-->", re.S)  # used with .match(pos)


@dataclass
class Snippet:
    page: str
    line: int  # 1-based line of the first line of code
    code: str
    kind: Optional[str] = None
    reason: str = ""
    requires: List[str] = field(default_factory=list)
    needs: List[str] = field(default_factory=list)
    setup: str = ""
    setup_line: int = 0
    check: str = ""
    check_line: int = 0

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages() -> List[Path]:
    return sorted(p for p in DOCS.rglob("*.md") if "_ext" not in p.parts)


def page_name(path: Path) -> str:
    return path.relative_to(DOCS).as_posix()


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse_snippets(path: Path) -> List[Snippet]:
    """Every ```python block of a page, with its test marker (kind None: unmarked)."""
    return parse_text(path.read_text(encoding="utf-8"), page_name(path))


def parse_text(text: str, page: str) -> List[Snippet]:
    """Every ```python block of a Markdown text, with its marker, setup and check."""
    found = []
    for match in _FENCE.finditer(text):
        snippet = Snippet(
            page=page,
            line=_line_of(text, match.start("code")),
            code=match.group("code"),
        )
        comment = _COMMENT_BEFORE.search(text, 0, match.start())
        if comment is not None:
            body = comment.group("body")
            first, _, rest = body.partition("\n")
            head = first.strip()
            if head.startswith("test:"):
                words = head[len("test:") :].split()
                snippet.kind = words[0] if words else ""
                if snippet.kind == "skip":
                    snippet.reason = " ".join(words[1:])
                else:
                    for option in words[1:]:
                        name, _, value = option.partition("=")
                        if name == "requires" and value:
                            snippet.requires.extend(value.split(","))
                        elif name == "needs" and value in ("display",):
                            snippet.needs.append(value)
                        else:
                            raise ValueError(f"{snippet.where}: unknown option {option!r}")
                snippet.setup = textwrap.dedent(rest)
                snippet.setup_line = _line_of(text, comment.start("body")) + 1
        check = _CHECK_AFTER.match(text, match.end())
        if check is not None:
            snippet.check = textwrap.dedent(check.group("body"))
            snippet.check_line = _line_of(text, check.start("body"))
        found.append(snippet)
    return found


def all_snippets() -> List[Snippet]:
    return [s for p in pages() for s in parse_snippets(p)]


def chains() -> List[List[Snippet]]:
    """Runnable snippets grouped: a first block plus the ``continue`` blocks after it."""
    groups: List[List[Snippet]] = []
    last_page = None
    for snippet in all_snippets():
        if snippet.kind in (None, "skip"):
            continue
        if snippet.kind == "continue":
            if not groups or last_page != snippet.page:
                raise ValueError(f"{snippet.where}: 'continue' without a block to continue")
            groups[-1].append(snippet)
        else:
            groups.append([snippet])
        last_page = snippet.page
    return groups


# --------------------------------------------------------------------------- 1. the nav


def _nav_files(nav: Any) -> Iterator[str]:
    if isinstance(nav, str):
        yield nav
    elif isinstance(nav, list):
        for entry in nav:
            yield from _nav_files(entry)
    elif isinstance(nav, dict):
        for value in nav.values():
            yield from _nav_files(value)


def test_every_page_is_in_the_nav_and_every_nav_entry_exists() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML (a dependency of mkdocs) reads mkdocs.yml")

    class Loader(yaml.SafeLoader):  # tolerate !!python/name tags some plugins use
        pass

    Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda *args: None)
    config = yaml.load(MKDOCS_YML.read_text(encoding="utf-8"), Loader=Loader)
    listed = list(_nav_files(config["nav"]))
    assert len(listed) == len(set(listed)), f"pages listed twice in the nav: {listed}"
    on_disk = {page_name(p) for p in pages()}
    assert sorted(on_disk - set(listed)) == [], "pages missing from the nav in mkdocs.yml"
    assert sorted(set(listed) - on_disk) == [], "nav entries without a page in docs/"


# --------------------------------------------------------------------------- 2. the snippets


def test_the_snippet_parser() -> None:
    text = (
        "# Page\n\n"
        "<!-- test: client requires=json\n"
        "sim.add_reply('x', text='y')\n"
        "-->\n\n"
        "```python\nprint(1)\n```\n\n"
        "<!-- check:\nassert True\n-->\n\n"
        "Some text.\n\n"
        "```python\nprint(2)\n```\n\n"
        "<!-- test: skip no reason needed here -->\n"
        "```python\nprint(3)\n```\n"
    )
    first, second, third = parse_text(text, "page.md")
    assert (first.kind, first.requires, first.line) == ("client", ["json"], 8)
    assert first.setup.strip() == "sim.add_reply('x', text='y')" and first.setup_line == 4
    assert first.check.strip() == "assert True" and first.check_line == 11
    assert (second.kind, second.setup, second.check) == (None, "", "")  # unmarked
    assert (third.kind, third.reason) == ("skip", "no reason needed here")
    checked = [s for s in all_snippets() if s.check.strip()]
    assert len(checked) >= 10, "the docs' hidden checks are not found"


def test_every_python_block_says_how_it_is_tested() -> None:
    problems = []
    for snippet in all_snippets():
        if snippet.kind is None:
            problems.append(f"{snippet.where}: no <!-- test: ... --> marker before the block")
        elif snippet.kind not in KINDS:
            problems.append(f"{snippet.where}: unknown test kind {snippet.kind!r}")
        elif snippet.kind == "skip" and not snippet.reason:
            problems.append(f"{snippet.where}: 'test: skip' needs a reason")
    chains()  # raises on a dangling 'continue'
    assert problems == []


def test_key_pages_have_executed_snippets() -> None:
    runnable = {s.page for s in all_snippets() if s.kind not in (None, "skip")}
    assert [p for p in MUST_RUN if p not in runnable] == []


def _exec(code: str, first_line: int, page: str, namespace: Dict[str, Any], what: str) -> None:
    # Padding makes tracebacks show the Markdown file's own line numbers.
    source = "\n" * (first_line - 1) + code
    failure = None
    try:
        exec(compile(source, str(DOCS / page), "exec"), namespace)
    except Exception:
        failure = traceback.format_exc()
    if failure is not None:
        pytest.fail(f"{what} at {page}:{first_line} failed:\n{failure}", pytrace=False)


def _cleanup(namespace: Dict[str, Any]) -> None:
    from realtime_sync import RealtimeAPI, RealtimeClient

    for value in list(namespace.values()):
        if isinstance(value, (RealtimeClient, RealtimeAPI)):
            value.disconnect()


def _have_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _chain_id(chain: List[Snippet]) -> str:
    return chain[0].where


@pytest.mark.parametrize("chain", chains(), ids=_chain_id)
def test_snippet_runs(
    chain: List[Snippet], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for snippet in chain:
        for module in snippet.requires:
            if importlib.util.find_spec(module) is None:
                pytest.skip(f"{snippet.where} needs {module}")
        if "display" in snippet.needs and not _have_display():
            pytest.skip(f"{snippet.where} needs a display (run under xvfb-run)")
    from realtime_sync import RealtimeClient
    from realtime_sync import api as api_module
    from realtime_sync.testing import RealtimeSimulator

    from .conftest import wait_no_sdk_threads

    monkeypatch.chdir(tmp_path)  # files the snippets write land here
    first = chain[0]
    # Hidden setup code may use monkeypatch (undone after the test).
    namespace: Dict[str, Any] = {"__name__": "__main__", "monkeypatch": monkeypatch}
    sim: Optional[RealtimeSimulator] = None
    if first.kind in ("sim", "client"):
        sim = RealtimeSimulator().start()
        namespace["sim"] = sim
    elif first.kind == "openai":
        sim = RealtimeSimulator(api_key=FAKE_KEY).start()
        namespace["sim"] = sim
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        monkeypatch.setattr(api_module, "DEFAULT_URL", sim.url)
    try:
        if first.kind == "client":
            assert sim is not None
            client = RealtimeClient(url=sim.url)
            client.connect()
            namespace["client"] = client
        for snippet in chain:
            if snippet.setup.strip():
                _exec(snippet.setup, snippet.setup_line, snippet.page, namespace, "hidden setup")
            _exec(snippet.code, snippet.line, snippet.page, namespace, "the snippet")
            if snippet.check.strip():
                _exec(snippet.check, snippet.check_line, snippet.page, namespace, "the check")
    finally:
        _cleanup(namespace)
        if sim is not None:
            sim.stop()
    assert wait_no_sdk_threads() == [], f"{first.where} left SDK threads running"


# --------------------------------------------------------------------------- 3. the site


def _missing_docs_tools() -> Optional[str]:
    # Pygments highlights the code at build time (pymdownx.highlight); without it the site
    # would silently lose its highlighting.
    for module in (
        "mkdocs",
        "mkdocstrings",
        "mkdocstrings_handlers.python",
        "pymdownx",
        "pygments",
    ):
        try:
            found = importlib.util.find_spec(module)
        except ModuleNotFoundError:
            found = None
        if found is None:
            return module
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built once for this module with ``mkdocs build --strict``."""
    missing = _missing_docs_tools()
    if missing is not None:
        pytest.skip(f"{missing} is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_mkdocs_build_strict(site: Path) -> None:
    assert (site / "index.html").is_file() and (
        site / "reference" / "client" / "index.html"
    ).is_file()


_DIRECTIVE = re.compile(
    r"^::: (?P<target>[\w.]+)[ \t]*\n(?P<options>(?:[ \t]+.*\n|[ \t]*\n)*)", re.M
)


def documented_paths() -> List[str]:
    """Dotted paths the API reference renders: ``::: target`` and its ``members`` list."""
    found: List[str] = []
    for path in sorted((DOCS / "reference").glob("*.md")):
        for match in _DIRECTIVE.finditer(path.read_text(encoding="utf-8") + "\n"):
            target, options = match.group("target"), match.group("options")
            found.append(target)
            listed = re.search(r"^\s*members:\s*\n((?:\s*- .*\n)+)", options, re.M)
            if listed:
                found += [f"{target}.{m.strip()[2:].strip()}" for m in listed.group(1).splitlines()]
            elif not re.search(r"^\s*members:\s*false", options, re.M):
                found.append(f"{target}.*")  # the whole module or class
    return found


def _defining_modules(name: str, obj: Any) -> List[str]:
    import pkgutil

    import realtime_sync

    modules = []
    for info in pkgutil.walk_packages(realtime_sync.__path__, "realtime_sync."):
        if info.name.rsplit(".", 1)[-1].startswith("_"):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:  # an optional extra is missing
            continue
        if vars(module).get(name) is obj and name in getattr(module, "__all__", [name]):
            modules.append(info.name)
    return modules


def test_reference_covers_every_public_name() -> None:
    import realtime_sync

    rendered = set(documented_paths())
    missing = []
    for name in realtime_sync.__all__:
        if name.startswith("__"):
            continue
        obj = getattr(realtime_sync, name)
        homes = _defining_modules(name, obj)
        if not any(f"{m}.{name}" in rendered or f"{m}.*" in rendered for m in homes):
            missing.append(f"{name} (from {', '.join(homes) or '?'})")
    assert missing == [], "add these to a page in docs/reference/"


def test_events_reference_lists_every_event_class() -> None:
    from realtime_sync import events

    rendered = set(documented_paths())
    classes = [
        name
        for name, obj in vars(events).items()
        if isinstance(obj, type) and obj.__module__ == events.__name__ and not name.startswith("_")
    ]
    missing = [c for c in classes if f"realtime_sync.events.{c}" not in rendered]
    assert missing == [], "add these to docs/reference/events.md"


# --------------------------------------------------------------------------- 4. the built pages
#
# What a reader sees: checked on the HTML of the built site (the `site` fixture).


def html_of(site: Path, page: str) -> str:
    return (site / page / "index.html").read_text(encoding="utf-8")


def text_of(markup: str) -> str:
    """The visible text of some HTML."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def built_pages(site: Path) -> List[Path]:
    return sorted(site.rglob("*.html"))


def reference_pages(site: Path) -> List[Path]:
    return sorted((site / "reference").glob("*/index.html"))


def test_the_site_loads_nothing_from_the_network(site: Path) -> None:
    remote = re.compile(r"""^(?:https?:)?//""")
    problems = []
    for path in built_pages(site):
        markup = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", markup):
            for url in re.findall(r"""\b(?:src|href)=["']([^"']+)["']""", tag):
                if remote.match(url):
                    problems.append(f"{path.relative_to(site)}: {tag}")
    for path in sorted(site.rglob("*.css")):
        for url in re.findall(
            r"""(?:@import\s+|url\()\s*["']?((?:https?:)?//[^"')]+)""",
            path.read_text(encoding="utf-8"),
        ):
            problems.append(f"{path.relative_to(site)}: {url}")
    assert problems == []


def test_code_is_highlighted_by_pygments_at_build_time(site: Path) -> None:
    css = (site / "css" / "pygments.css").read_text(encoding="utf-8")
    assert ".highlight .k " in css and ".highlight .s " in css  # keywords, strings
    for path in built_pages(site):
        markup = path.read_text(encoding="utf-8")
        assert "highlight.min.js" not in markup and "hljs" not in markup, path
        if "<main" in markup or 'role="main"' in markup:
            assert "css/pygments.css" in markup, f"{path} does not link the Pygments colours"
    quickstart = html_of(site, "quickstart")
    assert re.search(
        r'<div class="highlight"><pre>.*?<span class="kn">from</span>', quickstart, re.S
    )
    client = html_of(site, "reference/client")
    assert '<span class="nf">RealtimeClient</span>' in client  # highlighted signatures too


def test_the_reference_has_no_empty_symbol_boxes(site: Path) -> None:
    for path in built_pages(site):
        assert "doc-symbol" not in path.read_text(encoding="utf-8"), path


def _module_paths() -> set[str]:
    import pkgutil

    import realtime_sync

    names = {"realtime_sync"}
    names.update(
        info.name for info in pkgutil.walk_packages(realtime_sync.__path__, "realtime_sync.")
    )
    return names


_ATTRIBUTE = re.compile(
    r'<div class="doc doc-object doc-attribute">\s*<h\d id="(?P<id>[^"]+)".*?</h\d>'
    r'(?P<rest>.*?)(?=<div class="doc doc-object|\Z)',
    re.S,
)


def test_the_reference_shows_no_code_for_attributes(site: Path) -> None:
    """Class attributes are list lines, not headings; module attributes show no computing code."""
    modules = _module_paths()
    problems = []
    seen = 0
    for path in reference_pages(site):
        markup = path.read_text(encoding="utf-8")
        page = path.parent.name
        if "staticmethod" in text_of(markup):
            problems.append(f"{page}: 'staticmethod' on the page")
        for match in _ATTRIBUTE.finditer(markup):
            seen += 1
            name, rest = match.group("id"), match.group("rest")
            heading = match.group(0)[: match.group(0).find("</h")]
            parent = name.rsplit(".", 1)[0]
            if parent not in modules and "property" not in heading:
                problems.append(f"{page}: {name} is a class attribute with a heading of its own")
            signature = re.search(
                r'<div class="doc-signature highlight"><pre>(.*?)</pre>', rest, re.S
            )
            if signature is None:
                continue
            value = text_of(signature.group(1)).partition("=")[2].strip()
            if re.match(r"[\w.]+\(", value) or value.startswith("{"):
                problems.append(f"{page}: {name} shows code: {value[:60]!r}")
    assert seen > 50, "the pattern no longer finds the rendered attributes"
    assert problems == []


def _section(markup: str, anchor: str) -> str:
    """The HTML of one documented object, up to the next object of the same or a higher level."""
    start = markup.index(f'id="{anchor}"')
    level = markup[markup.rindex("<h", 0, start) + 2]
    end = markup.find(f"<h{level} ", start + 1)
    return markup[start : end if end != -1 else len(markup)]


def _field_names(section: str) -> List[str]:
    return re.findall(r'<li class="doc-field">\s*<b><code>(\w+)</code></b>', section)


def test_model_fields_are_one_line_each(site: Path) -> None:
    import attrs

    from realtime_sync import models

    page = html_of(site, "reference/models")
    section = _section(page, "realtime_sync.models.SessionConfig")
    wanted = [f.name for f in attrs.fields(models.SessionConfig) if not f.name.startswith("_")]
    assert (
        _field_names(section) == [f for f in wanted if f != "extra"]
        or _field_names(section) == wanted
    )
    assert 'id="realtime_sync.models.SessionConfig.model"' not in page  # no heading per field
    line = re.search(r'<li class="doc-field">\s*<b><code>prompt</code></b>.*?</li>', section, re.S)
    assert line is not None and "Default NOT_GIVEN" in text_of(line.group(0))
    done = _section(html_of(site, "reference/events"), "realtime_sync.events.ResponseDoneEvent")
    assert "type (RealtimeEventType) \u2013 Always 'response.done'." in " ".join(
        text_of(done).split()
    )
    assert _field_names(done)[:2] == ["type", "response"]
    voices = _section(page, "realtime_sync.models.Voice")
    assert "Members:" in voices and "ALLOY \u2013 'alloy'" in " ".join(text_of(voices).split())


def test_the_reference_shows_no_private_base_classes(site: Path) -> None:
    for path in reference_pages(site):
        for bases in re.findall(r"<p>Bases: (.*?)</p>", path.read_text(encoding="utf-8"), re.S):
            assert not re.search(r"(?<![\w.])_\w", text_of(bases)), f"{path}: {text_of(bases)}"
    voice = _section(html_of(site, "reference/models"), "realtime_sync.models.Voice")
    assert re.search(r"Bases: .*str.*Enum", " ".join(text_of(voice).split()))


def test_realtime_utils_aliases_are_one_list(site: Path) -> None:
    utils = _section(html_of(site, "reference/utils"), "realtime_sync.utils.RealtimeUtils")
    names = _field_names(utils)
    assert "Functions:" in utils and {"generate_id", "resample_pcm16", "write_wav"} <= set(names)
    assert "The same function as generate_id()." in " ".join(text_of(utils).split())


# --------------------------------------------------------------------------- 5. first hour

MY_SOURCES = [
    ROOT / "README.md",
    *sorted(DOCS.rglob("*.md")),
    *sorted((ROOT / "examples").rglob("*.py")),
    *sorted((ROOT / "examples").rglob("*.ipynb")),
    ROOT / "realtime_sync" / "cli.py",
    *sorted((ROOT / "realtime_sync" / "testing").glob("*.py")),
]


def test_install_instructions_work_from_a_clone() -> None:
    """Nothing tells a reader to install the unpublished package from PyPI, or to fill a blank."""
    pypi = re.compile(r"""pip install\s+(?:-U\s+)?["']?realtime_sync\b""")
    problems = []
    for path in MY_SOURCES:
        text = path.read_text(encoding="utf-8")
        for line_no, line in enumerate(text.splitlines(), 1):
            if "<repository-url>" in line or pypi.search(line):
                problems.append(f"{path.relative_to(ROOT)}:{line_no}: {line.strip()}")
    assert problems == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert 'pip install -e ".[dev]"' in readme


def test_the_install_pages_install_from_a_clone(site: Path) -> None:
    for page in ("", "quickstart"):
        shown = text_of(html_of(site, page) if page else (site / "index.html").read_text())
        assert 'pip install -e ".[testing]"' in shown and "not on PyPI" in " ".join(
            shown.split()
        ).replace("not published on PyPI", "not on PyPI"), page


def readme_sample() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = _FENCE.search(text)
    assert match is not None, "README.md has no python sample"
    return match.group("code")


def test_readme_sample_runs_as_written_without_a_key(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    (tmp_path / "sample.py").write_text(readme_sample(), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "sample.py"],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    answer = 'You said: "How are you?". I am the realtime_sync simulator.'
    assert result.stdout.count(answer) == 1, result.stdout  # the answer, printed once
    assert result.stdout.startswith("No OPENAI_API_KEY: talking to the offline simulator.\n")
    assert re.search(r"\(\d+\.\d s of 24 kHz PCM16 audio in turn.audio\)", result.stdout)
    assert result.stderr == ""


def test_readme_sample_runs_as_written_with_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from realtime_sync import api as api_module
    from realtime_sync.testing import RealtimeSimulator

    from .conftest import wait_no_sdk_threads

    with RealtimeSimulator(api_key=FAKE_KEY) as sim:  # stands in for OpenAI
        sim.add_reply("how are you", text="Great, thanks!")
        monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
        monkeypatch.setattr(api_module, "DEFAULT_URL", sim.url)
        exec(compile(readme_sample(), "README.md", "exec"), {"__name__": "__main__"})
        assert sim.connection_count == 1  # it went to the "OpenAI" URL, with the key
    out = capsys.readouterr().out
    assert "offline simulator" not in out
    assert out.count("Great, thanks!") == 1, out
    assert wait_no_sdk_threads() == []


def test_the_jupyter_page_covers_rerunning_cells(site: Path) -> None:
    shown = " ".join(text_of(html_of(site, "jupyter")).split())
    assert "Re-running the connect cell" in shown
    assert 'if "client" in globals(): # this cell ran before: stop that client first' in shown
    assert "client.disconnect()" in shown and "RealtimeClient.close_all()" in shown
    assert "client.off(RealtimeEventType.CONVERSATION_UPDATED)" in shown  # duplicated handlers
    assert "appears under whichever cell is running at that moment" in shown  # handler output


def test_the_desktop_page_covers_a_resizable_layout_and_connection_state(site: Path) -> None:
    shown = " ".join(text_of(html_of(site, "desktop")).split())
    assert 'row.pack(side="bottom", fill="x")' in shown
    assert 'output.pack(side="top", fill="both", expand=True)' in shown
    assert shown.index('row.pack(side="bottom"') < shown.index('output.pack(side="top"')
    assert "status.configure(text=text)" in shown and "Disconnected:" in shown
    assert "shrinking the window takes lines from the conversation, never the input row" in shown


def test_the_testing_pages_document_the_simulator_knobs(site: Path) -> None:
    guide = " ".join(text_of(html_of(site, "testing")).split())
    for knob in (
        "speech_audio(",
        "status_reason",
        "stop_after_words",
        "event_delay",
        "omit_fields",
        "extra_fields",
        "sim.add_extra_fields(",
        "sim.clear_field_overrides()",
        "sim.load_script(path)",
        "--script FILE",
        "--api-key KEY",
        "--event-delay SECONDS",
        '"function_call": {"name": "get_weather", "arguments": {"city": "Paris"}}',
        "{output}",
    ):
        assert knob in guide, knob
    reference = html_of(site, "reference/testing")
    for anchor in (
        "realtime_sync.testing.RealtimeSimulator.load_script",
        "realtime_sync.testing.RealtimeSimulator.omit_fields",
        "realtime_sync.testing.RealtimeSimulator.add_extra_fields",
        "realtime_sync.testing.RealtimeSimulator.clear_field_overrides",
        "realtime_sync.testing.speech_audio",
        "realtime_sync.testing.ScriptError",
    ):
        assert f'id="{anchor}"' in reference, anchor
