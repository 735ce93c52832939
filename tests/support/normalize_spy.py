"""Count the normalizer's calls on the scoring path, wherever a module bound it."""

from __future__ import annotations

import sys

import pytest

import model.normalize


def count_normalize_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch every loaded ``model.*`` module's name for :func:`model.normalize.normalize` with a
    recording wrapper; the returned list fills with the texts it is called on.

    Patching only ``model.normalize.normalize`` would miss modules that imported the function
    by name, and those are the calls a "normalized once" test is about.
    """
    real = model.normalize.normalize
    calls: list[str] = []

    def recorded(text: str) -> model.normalize.NormalizedText:
        calls.append(text)
        return real(text)

    for name, module in list(sys.modules.items()):
        if (name == "model" or name.startswith("model.")) and getattr(module, "normalize", None) is real:
            monkeypatch.setattr(module, "normalize", recorded)
    return calls
