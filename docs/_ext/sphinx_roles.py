"""A griffe extension for the API reference: Sphinx roles in docstrings -> Markdown.

The package's docstrings use reST roles (``:class:`RealtimeAPI```,
``:meth:`~realtime_sync.api.RealtimeAPI.wait_for```) that Markdown would show
literally. This extension rewrites each role into an *optional* autorefs link:
a link when the target is rendered somewhere in the site, plain code otherwise
(no warning, so ``mkdocs build --strict`` stays clean). It also turns a reST
``Example::`` literal-block marker into ``Example:``.

It lives under docs/ but is not a page: mkdocs.yml excludes ``_ext/`` from the
site and names this file in the python handler's ``extensions`` option.
"""

from __future__ import annotations

import html
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(class|meth|func|attr|data|mod|exc|obj|const):`(?P<target>[^`]+)`")
_LITERAL_MARKER = re.compile(r"(?<=\w)::$", re.M)


def _resolve(obj: griffe.Object, name: str) -> str:
    """The full path of ``name`` as seen from ``obj`` (``name`` itself when unknown)."""
    if name.startswith("realtime_sync."):
        return name
    head, _, rest = name.partition(".")
    scope: Any = obj
    while scope is not None:
        try:
            found = scope.resolve(head)
        except Exception:  # griffe.NameResolutionError, alias errors
            scope = scope.parent
            continue
        return f"{found}.{rest}" if rest else found
    return name


def _rewrite(obj: griffe.Object, text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        target = match.group("target").strip()
        short = target.startswith("~")
        target = target.lstrip("~.")
        call = "()" if match.group(1) in ("meth", "func") else ""
        shown = (target.rsplit(".", 1)[-1] if short else target) + call
        identifier = _resolve(obj, target)
        return (
            f'<autoref identifier="{html.escape(identifier, quote=True)}" optional>'
            f"<code>{html.escape(shown)}</code></autoref>"
        )

    return _LITERAL_MARKER.sub(":", _ROLE.sub(replace, text))


class SphinxRoles(griffe.Extension):
    """Rewrite reST roles in every docstring once the package is loaded."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self._walk(pkg, set())

    def _walk(self, obj: griffe.Object, seen: set[str]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        if obj.docstring is not None:
            obj.docstring.value = _rewrite(obj, obj.docstring.value)
        for member in obj.members.values():
            if member.is_alias:
                continue
            self._walk(member, seen)  # type: ignore[arg-type]
