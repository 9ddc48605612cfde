"""Identifiers and random tokens the simulated server makes up.

Ids look like the real server's (``prefix`` + "_" + base62 characters), and the
``obfuscation`` padding of text deltas follows what live captures show: random
characters that bring ``len(delta) + len(obfuscation)`` to a multiple of 16, so
the frame size leaks less about the text.
"""

from __future__ import annotations

import secrets
import string
from typing import Any, Dict

__all__ = ["JSON", "new_id", "obfuscation"]

JSON = Dict[str, Any]
"""A parsed JSON object (client or server event, item, session...)."""

_ALPHABET = string.ascii_letters + string.digits
_PAD_BLOCK = 16


def new_id(prefix: str, length: int = 21) -> str:
    """A random id shaped like the real server's: ``prefix`` + "_" + base62 characters."""
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def obfuscation(delta: str) -> str:
    """Random padding for a text delta: 1 to 16 characters, up to the next multiple of 16."""
    size = _PAD_BLOCK - len(delta) % _PAD_BLOCK
    return "".join(secrets.choice(_ALPHABET) for _ in range(size))
