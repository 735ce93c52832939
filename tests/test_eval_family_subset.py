"""eval.family_subset: macro-F1 without some families, from a report's per-family counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score
from typer.testing import CliRunner

from eval.family_subset import app, family_subset
from eval.text_metrics import errors_by_group, macro_f1_without_groups, predictions


def _split(seed: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=(300, 3))
    probs = np.clip(y * 0.6 + rng.normal(0.2, 0.25, size=y.shape), 0, 1)
    families = [f"fam/{i % 7}" for i in range(300)]
    return y, probs, families


def test_counts_give_the_f1_of_the_posts_left() -> None:
    y, probs, families = _split(3)
    per_family = errors_by_group(y, probs, families, 0.5)
    pred = predictions(probs, 0.5)
    keep = np.array([f not in {"fam/1", "fam/4"} for f in families])
    assert macro_f1_without_groups(per_family) == pytest.approx(f1_score(y, pred, average="macro"))
    assert macro_f1_without_groups(per_family, {"fam/1", "fam/4"}) == pytest.approx(
        f1_score(y[keep], pred[keep], average="macro")
    )
    with pytest.raises(ValueError, match="fam/9"):
        macro_f1_without_groups(per_family, {"fam/9"})


def test_cli_reads_a_report_and_names_bad_input(tmp_path: Path) -> None:
    y, probs, families = _split(5)
    report = {
        "release": {"test": {"macro_f1": 0.0, "per_family_errors": errors_by_group(y, probs, families)}},
        "against": {"test": {"per_family_errors": errors_by_group(y, probs * 0.9, families)}},
    }
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    result = CliRunner().invoke(app, ["--metrics", str(path), "--without", "fam/0"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out == family_subset(report, "test", ["fam/0"])
    assert set(out) == {"release", "against"} and out["release"]["posts_kept"] == 300 - 43
    assert out["release"]["without"] != out["against"]["without"]

    for args, message in (
        (["--without", "fam/9"], "Groups not in the split: fam/9"),
        (["--without", "fam/0", "--split", "real_normal"], "No model in the report has per-family errors"),
    ):
        bad = CliRunner().invoke(app, ["--metrics", str(path), *args])
        assert bad.exit_code == 2 and message in bad.output and bad.output.count("\n") == 1
    path.write_text("[1, 2]", encoding="utf-8")
    bad = CliRunner().invoke(app, ["--metrics", str(path), "--without", "fam/0"])
    assert bad.exit_code == 2 and "is not a feedguard eval metrics.json" in bad.output
    missing = CliRunner().invoke(app, ["--metrics", str(tmp_path / "none.json"), "--without", "fam/0"])
    assert missing.exit_code == 2 and "cannot read" in missing.output
