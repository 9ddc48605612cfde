"""Text helpers of the simulator: cutting text into deltas and estimating tokens."""

from __future__ import annotations

import re
from typing import List

__all__ = ["split_fixed", "split_words", "text_tokens"]


def split_words(text: str) -> List[str]:
    """Split ``text`` into word-sized deltas whose concatenation is ``text``."""
    return re.findall(r"\s*\S+\s*|\s+", text) if text else []


def split_fixed(text: str, size: int) -> List[str]:
    """Split ``text`` into pieces of ``size`` characters (one empty piece for "")."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def text_tokens(text: str) -> int:
    """A token estimate: one token per four characters, rounded up."""
    return (len(text) + 3) // 4
