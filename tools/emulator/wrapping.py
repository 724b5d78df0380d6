"""Monkeypatching that wraps moto's functions instead of copying them."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def wrap(owner: Any, name: str, wrapper: Callable[..., Any]) -> None:
    """Replace owner.name with wrapper(original, ...), keeping classmethod/staticmethod kinds."""
    raw = owner.__dict__[name]
    if isinstance(raw, classmethod):
        original = raw.__func__

        @functools.wraps(original)
        def cls_patched(cls: Any, *args: Any, **kwargs: Any) -> Any:
            return wrapper(functools.partial(original, cls), *args, **kwargs)

        setattr(owner, name, classmethod(cls_patched))
        return
    original = raw.__func__ if isinstance(raw, staticmethod) else raw

    @functools.wraps(original)
    def patched(*args: Any, **kwargs: Any) -> Any:
        return wrapper(original, *args, **kwargs)

    setattr(owner, name, staticmethod(patched) if isinstance(raw, staticmethod) else patched)
