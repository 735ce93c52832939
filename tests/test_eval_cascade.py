"""The cascade probe (eval.cascade_probe): bad input ends with what to fix (the routing it measures is
model.text_cascade's, tested in tests/test_model_cascade.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.cascade_probe import app


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--bands", "one,two"], "--bands must be comma-separated numbers"),
        (["--bands", "0"], "--bands must hold positive numbers"),
        ([], "has no saved predictions"),
    ],
)
def test_bad_input_exits_2_with_what_to_fix(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["--fast", str(tmp_path), "--slow", str(tmp_path), "--data", str(tmp_path), *args]
    )
    assert result.exit_code == 2
    assert message in result.output
