"""The one place secrets on disk are made: private from the first byte, kept across restarts."""

from __future__ import annotations

from pathlib import Path

from model.secret_file import ensure_secret_file


def test_a_new_secret_is_private_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "secret"
    made = iter(["first-secret-0123456789", "second-secret-0123456789"])
    first = ensure_secret_file(path, lambda: next(made), min_length=16)
    assert first == "first-secret-0123456789"
    assert path.stat().st_mode & 0o777 == 0o600
    assert ensure_secret_file(path, lambda: next(made), min_length=16) == first


def test_a_too_short_secret_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    path.write_text("short\n", encoding="utf-8")
    path.chmod(0o644)
    value = ensure_secret_file(path, lambda: "x" * 40, min_length=32)
    assert value == "x" * 40
    assert path.read_text(encoding="utf-8") == "x" * 40 + "\n"
    assert path.stat().st_mode & 0o777 == 0o600
