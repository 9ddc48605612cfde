"""Generated decoders for the usual frame of a server event, and the audio-append encoder.

:mod:`realtime_sync.protocol` decodes every server frame first with the function
:func:`server_structurer` generates for its class, and only when that raises
with the cattrs function (whose result or :class:`~realtime_sync.errors.ProtocolError`
is then the answer). So this module may refuse anything, but whatever it
returns must be the event cattrs would build; ``tests/test_fastpath.py`` checks
that on every class.

What makes it faster than cattrs' generated code:

* a field whose converter hook is one of the strict primitive hooks is checked
  inline (``type(v) is str``); any other value still goes through the hook, so
  a float ``1.0`` for an int, or a wrong type, behaves exactly as before;
* essential and usually-sent fields are read as required (a missing one raises
  ``KeyError``: cattrs decodes that frame and logs the absence);
* unknown keys are found by counting the modelled keys present;
* a slotted class without validators, converters or ``__attrs_post_init__`` is
  filled through its slot descriptors instead of its ``__init__`` (attrs' frozen
  ``__init__`` sets each field through ``object.__setattr__``).
"""

from __future__ import annotations

import types
from typing import Any, Callable, Dict, FrozenSet, List, Optional, Set

import attrs

__all__ = ["encode_append", "inline_check", "server_structurer"]

# The JSON text of a string that needs no escaping is the string in quotes.
_NEEDS_ESCAPE = (*(chr(i) for i in range(32)), '"', "\\")


def inline_check(hook: Callable[..., Any], primitives: Dict[Any, str]) -> Optional[str]:
    """The inline test that a value ``{v}`` passes ``hook`` unchanged, if there is one."""
    return primitives.get(hook)


def _missing(key: str) -> Any:
    raise KeyError(key)


def _fills_by_slots(cls: Any) -> bool:
    """True when setting every field's slot is all the class's ``__init__`` does."""
    if getattr(cls, "__attrs_post_init__", None) is not None:
        return False
    if getattr(cls, "__attrs_pre_init__", None) is not None:
        return False
    fields = attrs.fields(cls)
    if any(f.validator is not None or f.converter is not None or not f.init for f in fields):
        return False
    names = {f.name for f in fields}
    slots: Set[str] = set()
    for klass in cls.__mro__[:-1]:
        declared = klass.__dict__.get("__slots__")
        if declared is None:
            return False  # a class with a __dict__: attrs may do more than set slots
        slots.update([declared] if isinstance(declared, str) else declared)
    slots.discard("__weakref__")
    if slots != names:
        return False  # e.g. a cached-hash slot that __init__ resets
    return all(isinstance(getattr(cls, n, None), types.MemberDescriptorType) for n in names)


def server_structurer(
    cls: Any,
    *,
    hooks: Dict[str, Callable[[Any, Any], Any]],
    primitives: Dict[Any, str],
    usual: FrozenSet[str],
    known: FrozenSet[str],
    set_extra: Callable[[Any, Dict[str, Any], FrozenSet[str]], None],
) -> Callable[[Dict[str, Any]], Any]:
    """Generate the decoder of the usual frame of server event class ``cls``.

    ``hooks`` are the converter's structure hooks by field name, ``primitives``
    maps the strict primitive hooks to their inline test, ``usual`` and
    ``known`` are the class's usually-sent and modelled wire names, ``set_extra``
    fills ``extra`` from the frame's unknown keys.
    """
    names: Dict[str, Any] = {"cls": cls, "set_extra": set_extra, "known": known}
    by_slots = _fills_by_slots(cls)
    present = 1  # the "type"
    body: List[str] = []
    values: List[str] = []  # (name, expression) for the constructor
    fields = [f for f in attrs.fields(cls) if f.name != "extra"]
    for i, field in enumerate(fields):
        hook, tp, key = f"h{i}", f"t{i}", repr(field.name)
        names[hook], names[tp] = hooks[field.name], field.type
        v = f"v{i}"
        check = inline_check(hooks[field.name], primitives)
        convert = (
            [f"        if not ({check.format(v=v)}):", f"            {v} = {hook}({v}, {tp})"]
            if check
            else [f"        {v} = {hook}({v}, {tp})"]
        )
        if field.default is attrs.NOTHING or field.name in usual:
            present += 1
            body += [f"    {v} = o[{key}]", *(line[4:] for line in convert)]
        else:
            default = field.default
            if isinstance(default, attrs.Factory) and default.takes_self:  # type: ignore[arg-type]
                fallback = f"missing({key})"  # left to cattrs, which has the instance
                names["missing"] = _missing
            elif isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                names[f"f{i}"] = default.factory
                fallback = f"f{i}()"
            else:
                names[f"d{i}"] = default
                fallback = f"d{i}"
            body += [
                f"    if {key} in o:",
                f"        {v} = o[{key}]",
                *convert,
                "        n += 1",
                "    else:",
                f"        {v} = {fallback}",
            ]
        values.append(v)
    if by_slots:
        build = ["    event = new(cls)"]
        for i, field in enumerate(fields):
            names[f"s{i}"] = getattr(cls, field.name).__set__
            build.append(f"    s{i}(event, v{i})")
        names["new"] = object.__new__
        names["set_x"] = cls.extra.__set__
        names["no_extra"] = attrs.fields(cls).extra.default
        build.append("    set_x(event, no_extra)")
    else:
        args = [f"{f.name}={v}" if f.kw_only else v for f, v in zip(fields, values)]
        build = [f"    event = cls({', '.join(args)})"]
    source = "\n".join(
        [
            "def structure(o):",
            f"    n = {present}",
            *body,
            *build,
            "    if len(o) != n:",
            "        set_extra(event, o, known)",
            "    return event",
            "",
        ]
    )
    exec(compile(source, f"<fast structure of {cls.__name__}>", "exec"), names)
    structure: Callable[[Dict[str, Any]], Any] = names["structure"]
    return structure


def encode_append(
    type_value: str, audio: str, event_id: Optional[str], dumps: Callable[[Any], str]
) -> Optional[str]:
    """``input_audio_buffer.append`` as JSON text without a JSON encoder, or ``None``.

    The same text the stdlib encoder writes (compact, ``ensure_ascii=False``) when
    ``audio`` needs no escaping, which base64 never does; anything else is
    ``None`` (the caller encodes it the usual way).
    """
    for ch in _NEEDS_ESCAPE:
        if ch in audio:
            return None
    head = f'{{"type":{dumps(type_value)},"audio":"'
    if event_id is None:
        return f'{head}{audio}"}}'
    return f'{head}{audio}","event_id":{dumps(event_id)}}}'
