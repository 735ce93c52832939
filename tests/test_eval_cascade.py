"""The cascade probe (eval.cascade_probe): which posts it escalates and what it scores them with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from eval.cascade_probe import CascadeClassifier, app, cascade_logits, escalated
from model.bundle import RELEASE_DIR, load_bundle


def test_a_post_is_escalated_when_any_label_is_near_the_boundary() -> None:
    fast = np.array([[3.0, -4.0, -2.0], [3.0, -0.5, -2.0], [0.9, -4.0, 5.0], [-1.0, -1.0, -1.0]])
    slow = np.full_like(fast, 7.0)
    np.testing.assert_array_equal(escalated(fast, 1.0), [False, True, True, False])
    np.testing.assert_array_equal(cascade_logits(fast, slow, 1.0), [fast[0], slow[1], slow[2], fast[3]])
    # A band of 0 escalates nothing; a band wider than every logit escalates everything.
    np.testing.assert_array_equal(cascade_logits(fast, slow, 0.0), fast)
    np.testing.assert_array_equal(cascade_logits(fast, slow, 10.0), slow)


def test_the_slow_model_scores_exactly_the_posts_the_fast_one_is_unsure_of() -> None:
    """The committed release is the fast model, its own encoder without the n-gram half the slow one."""
    fast = load_bundle(RELEASE_DIR, intra_op_threads=1).classifier
    slow = fast.encoder
    posts = [
        "今天和家人去公园散步，天气很好",
        "面膜特价包邮，私聊下单",
        "招代理，宝妈在家就能做，月入过万",
        "又提新车了，感谢团队带飞",
        "周末加班，好累",
        "客户反馈又来了，回购第三次",
    ]
    alone = fast.logits(posts)
    band = float(np.sort(np.abs(alone).min(axis=1))[len(posts) // 2])  # about half escalate
    unsure = escalated(alone, band)
    assert 0 < unsure.sum() < len(posts)
    out = CascadeClassifier(fast, slow, band).logits(posts)
    with pytest.raises(ValueError, match="'band' parameter of CascadeClassifier must be >= 0"):
        CascadeClassifier(fast, slow, -1.0)
    np.testing.assert_allclose(out[~unsure], alone[~unsure], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        out[unsure], slow.logits([p for p, u in zip(posts, unsure, strict=True) if u]), atol=1e-6
    )


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
