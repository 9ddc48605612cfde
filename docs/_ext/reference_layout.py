"""A griffe extension for the API reference: fields as one-line lists, no implementation code.

mkdocstrings renders every attribute of a class as a heading with a code box
holding its value, so a model's seventeen fields took a screen each way and
an attribute assigned in ``__init__`` showed the code that computes it. This
extension, run after :mod:`sphinx_roles` (see mkdocs.yml), reshapes what
griffe loaded from ``realtime_sync`` before anything is rendered:

* The plain attributes of a class (fields of attrs classes, enum members,
  attributes set in ``__init__``, the ``staticmethod`` aliases of
  ``RealtimeUtils``) become one "Attributes" list in the class docstring, one
  line each: name, type, what it is (its docstring, its default, or the value
  of an enum member), and no longer get a heading of their own. Properties
  keep theirs.
* A module attribute whose value is computed (a call) shows its type only,
  not the call; type aliases and literal constants keep their value.
* A private base class (``_OpenStrEnum``) is replaced by its own bases.

It lives under docs/ but is not a page: mkdocs.yml excludes ``_ext/`` from the
site and names this file in the python handler's ``extensions`` option.
"""

from __future__ import annotations

import html
import re
from typing import Any, List, Optional, Tuple

import griffe

_PACKAGE = "realtime_sync"
_FIELD_CALL = re.compile(r"^(?:attrs?\.)?(?:field|ib|attrib)\((?P<args>.*)\)$", re.S)
_DEFAULT_ARG = re.compile(r"(?:^|,\s*)default=(?P<value>[^,=]+?)\s*(?:,\s*\w+=|$)", re.S)
_FACTORY_ARG = re.compile(r"(?:^|,\s*)factory=(?P<value>\w+)")
_FACTORIES = {"list": "[]", "dict": "{}", "tuple": "()", "set": "set()"}
_MAX_DEFAULT = 40
_MAX_VALUE = 80
_TYPE_ALIASES = ("Union[", "Optional[", "Callable[", "Literal[", "Tuple[", "List[", "Dict[")


def _is_plain_attribute(member: Any) -> bool:
    return (
        not member.is_alias
        and member.is_attribute
        and not member.name.startswith("_")
        and "property" not in member.labels
    )


def _one_paragraph(text: str) -> str:
    """A docstring as one Markdown paragraph (an item of a list)."""
    return " ".join(line.strip() for line in text.strip().splitlines() if line.strip())


def _first_sentence(text: str) -> str:
    paragraph = _one_paragraph(text.strip().split("\n\n", 1)[0])
    match = re.match(r"(.+?[.!?])(\s|$)", paragraph)
    return match.group(1) if match else paragraph


def _default_of(member: Any) -> Optional[str]:
    """The default of a class field as short source text, or None (none, or not short)."""
    if member.value is None or "class-attribute" not in member.labels:
        return None  # a required field, or an attribute computed in __init__
    if isinstance(member.value, griffe.ExprAttribute):  # an enum member: show its value
        found = _lookup(member, member.value)
        if isinstance(found, griffe.Attribute) and found.value is not None:
            return str(found.value)
    text = str(member.value)
    field = _FIELD_CALL.match(text)
    if field is not None:
        args = field.group("args")
        default = _DEFAULT_ARG.search(args)
        if default is not None:
            text = default.group("value").strip()
        else:
            factory = _FACTORY_ARG.search(args)
            if factory is None or factory.group("value") not in _FACTORIES:
                return None
            text = _FACTORIES[factory.group("value")]
    if len(text) > _MAX_DEFAULT or ("(" in text and not text.endswith("()")):
        return None
    return text


def _autoref(identifier: str, shown: str) -> str:
    return (
        f'<autoref identifier="{html.escape(identifier, quote=True)}" optional>'
        f"<code>{html.escape(shown)}</code></autoref>"
    )


def _describe(cls: griffe.Class, member: Any) -> str:
    value = str(member.value) if member.value is not None else ""
    alias = re.fullmatch(r"staticmethod\((?P<name>[\w.]+)\)", value)
    if alias is not None:
        target = alias.group("name")
        with_path = f"{cls.parent.path}.{target}" if cls.parent is not None else target
        return f"The same function as {_autoref(with_path, target + '()')}."
    parts = []
    if member.docstring is not None and member.docstring.value.strip():
        parts.append(_one_paragraph(member.docstring.value))
    elif "class-attribute" not in member.labels:  # set in __init__, undocumented
        kind = _lookup(cls, _inferred_type(member))
        if kind is not None and kind.docstring is not None and kind.docstring.value.strip():
            parts.append(_first_sentence(kind.docstring.value))
    if _is_enum(cls) and member.value is not None and "class-attribute" in member.labels:
        parts.append(f"`{value}`")
        return " ".join(parts)
    default = _default_of(member)
    if default is not None:
        constant = "instance-attribute" not in member.labels
        optional = member.annotation is not None and (
            "Optional" in str(member.annotation) or "None" in str(member.annotation)
        )
        if constant:
            parts.append(f"Always `{default}`.")
        elif not (default == "None" and optional):
            parts.append(f"Default `{default}`.")
    return " ".join(parts)


def _is_enum(cls: griffe.Class) -> bool:
    names = {str(base).rsplit(".", 1)[-1] for base in cls.bases}
    if names & {"Enum", "IntEnum", "StrEnum", "Flag"}:
        return True
    for base in cls.bases:
        found = _lookup(cls, base)
        if isinstance(found, griffe.Class) and found is not cls and _is_enum(found):
            return True
    return False


def _lookup(obj: griffe.Object, expr: Any) -> Optional[griffe.Object]:
    path = getattr(expr, "canonical_path", None) or str(expr)
    if not path.startswith(_PACKAGE + "."):
        return None
    try:
        found = obj.modules_collection[path]
    except (KeyError, ValueError, AttributeError, griffe.AliasResolutionError):
        return None
    return found.final_target if found.is_alias else found  # type: ignore[no-any-return]


def _public_bases(cls: griffe.Class) -> List[Any]:
    """The bases of ``cls`` with each private class replaced by its own public bases."""
    bases: List[Any] = []
    for base in cls.bases:
        name = str(base).split("[", 1)[0].rsplit(".", 1)[-1]
        if not name.startswith("_"):
            bases.append(base)
            continue
        found = _lookup(cls, base)
        if isinstance(found, griffe.Class):
            bases.extend(b for b in _public_bases(found) if str(b) not in map(str, bases))
    return bases


def _public_defaults(function: griffe.Function) -> None:
    """Show a parameter defaulting to a private constant (``_API_RATE``) with its value."""
    for parameter in function.parameters:
        default = parameter.default
        if default is None or not str(default).startswith("_"):
            continue
        found = _lookup(function, default)
        if isinstance(found, griffe.Attribute) and found.value is not None:
            value = str(found.value)
            if len(value) <= _MAX_DEFAULT and "(" not in value:
                parameter.default = value


def _inferred_type(member: Any) -> Any:
    """An attribute's annotation, or the class it is made with (``x = Thing(...)``)."""
    if member.annotation is not None:
        return member.annotation
    if isinstance(member.value, griffe.ExprCall):
        function = member.value.function
        if not str(function).rsplit(".", 1)[-1].startswith("_") and str(function)[:1].isupper():
            return function
    return None


class ReferenceLayout(griffe.Extension):
    """Reshape the loaded ``realtime_sync`` package for a compact, code-free reference."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        if pkg.name != _PACKAGE:
            return
        classes: List[griffe.Class] = []
        self._walk(pkg, set(), classes)
        # Every list is made before any attribute is removed: a field's default may name
        # an enum member (RealtimeEventType.RESPONSE_DONE) whose value is shown.
        plans = [(cls, self._plan(cls)) for cls in classes]
        for cls, plan in plans:
            cls.bases = _public_bases(cls)
            if plan is not None:
                self._apply(cls, *plan)

    def _walk(self, obj: griffe.Object, seen: set[str], classes: List[griffe.Class]) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        for member in list(obj.members.values()):
            if member.is_alias:
                continue
            if isinstance(member, griffe.Class):
                self._walk(member, seen, classes)
                classes.append(member)
                for function in member.members.values():
                    if isinstance(function, griffe.Function):
                        _public_defaults(function)
            elif isinstance(member, griffe.Module):
                self._walk(member, seen, classes)
            elif isinstance(member, griffe.Function):
                _public_defaults(member)
            elif isinstance(obj, griffe.Module) and member.is_attribute:
                self._reshape_module_attribute(member)

    @staticmethod
    def _reshape_module_attribute(attribute: Any) -> None:
        value = attribute.value
        if value is None or str(value).startswith(_TYPE_ALIASES):
            return
        if isinstance(value, griffe.ExprCall) or len(str(value)) > _MAX_VALUE:
            attribute.annotation = _inferred_type(attribute)
            attribute.value = None  # computed, or a table: the docstring says what it holds

    def _plan(self, cls: griffe.Class) -> Optional[Tuple[List[Any], List[Any], str]]:
        fields = [m for m in cls.members.values() if _is_plain_attribute(m)]
        if not fields:
            return None
        enum = _is_enum(cls)
        items = [
            griffe.DocstringAttribute(
                name=member.name,
                annotation=None if enum else _inferred_type(member),
                description=_describe(cls, member),
            )
            for member in fields
        ]
        if enum:
            title = "Members:"
        elif all(str(m.value).startswith("staticmethod(") for m in fields):
            title = "Functions:"
        else:
            title = "Attributes:"
        return fields, items, title

    def _apply(self, cls: griffe.Class, fields: List[Any], items: List[Any], title: str) -> None:
        for member in fields:
            del cls.members[member.name]
        target: griffe.Object = cls
        init = cls.members.get("__init__")
        if init is not None and not init.is_alias and init.docstring is not None:
            target = init  # rendered after the class docstring: Parameters, then Attributes
        if target.docstring is None:
            target.docstring = griffe.Docstring(
                "", parent=target, parser=griffe.Parser.google, parser_options={}
            )
        target.docstring.parsed.append(griffe.DocstringSectionAttributes(items, title=title))
