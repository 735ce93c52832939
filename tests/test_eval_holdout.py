"""`feedguard eval --holdout FILE`: an outside judge's labelled posts, read strictly and scored by the release."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from eval.cli import app as eval_app
from eval.holdout import HOLDOUT_SPLIT, HoldoutError, load_holdout, load_holdouts

ROOT = Path(__file__).resolve().parents[1]
DEV_FILE = ROOT / "data" / "devset" / "dev.jsonl"
CARD = ROOT / "model" / "release" / "MODEL_CARD.md"


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_rows_become_the_holdout_split_in_file_order(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "h.jsonl",
        [
            json.dumps(
                {"text": "碧螺春 私我", "labels": ["hard_sell"], "tricks": ["pinyin"], "note": "ignored"}
            ),
            "",
            json.dumps({"id": "b", "text": "周末去爬山\u2028下山吃饭", "labels": []}, ensure_ascii=False),
            json.dumps({"id": "c", "text": "跟我干月入三万 晒单", "labels": ["recruitment", "fake_proof"]}),
        ],
    )
    split = load_holdout(path)
    assert split.name == HOLDOUT_SPLIT
    assert split.texts == ["碧螺春 私我", "周末去爬山\u2028下山吃饭", "跟我干月入三万 晒单"]
    np.testing.assert_array_equal(split.y, [[1, 0, 0], [0, 0, 0], [0, 1, 1]])
    assert split.tricks == [("pinyin",), (), ()]


def test_a_file_without_trick_names_reports_no_trick_recall(tmp_path: Path) -> None:
    path = _write(tmp_path / "h.jsonl", [json.dumps({"text": "你好", "labels": []})])
    assert load_holdout(path).tricks == []


def test_several_files_read_as_one_split_in_the_order_given(tmp_path: Path) -> None:
    first = _write(
        tmp_path / "a.jsonl",
        [json.dumps({"id": "a1", "text": "碧螺春 私我", "labels": ["hard_sell"], "tricks": ["pinyin"]})],
    )
    second = _write(
        tmp_path / "b.jsonl",
        [
            json.dumps({"id": "b1", "text": "周末去爬山", "labels": []}),
            json.dumps({"text": "晒单", "labels": ["fake_proof"]}),
        ],
    )
    split = load_holdouts([second, first])
    assert split.name == HOLDOUT_SPLIT
    assert split.texts == ["周末去爬山", "晒单", "碧螺春 私我"]
    np.testing.assert_array_equal(split.y, [[0, 0, 0], [0, 0, 1], [1, 0, 0]])
    # Trick names in one file give every row a tuple; ids join only when every row has a distinct one.
    assert split.tricks == [(), (), ("pinyin",)]
    assert split.ids == []
    third = _write(tmp_path / "c.jsonl", [json.dumps({"id": "a1", "text": "你好", "labels": []})])
    assert load_holdouts([first, third]).ids == []  # "a1" twice: no join by id
    assert load_holdouts([first]).ids == ["a1"]


def test_a_file_named_twice_or_a_bad_one_among_several_is_refused_by_name(tmp_path: Path) -> None:
    good = _write(tmp_path / "good.jsonl", [json.dumps({"text": "你好", "labels": []})])
    bad = _write(tmp_path / "bad.jsonl", [json.dumps({"text": "你好", "labels": ["spam"]})])
    with pytest.raises(HoldoutError, match="is named twice; give each file once"):
        load_holdouts([good, tmp_path / "." / "good.jsonl"])
    with pytest.raises(HoldoutError, match=r"bad\.jsonl: line 1: 'labels' has unknown names"):
        load_holdouts([good, bad])
    with pytest.raises(ValueError, match="at least one file"):
        load_holdouts([])


def test_a_byte_order_mark_does_not_break_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"text": "私我", "labels": ["hard_sell"]}).encode() + b"\n")
    np.testing.assert_array_equal(load_holdout(path).y, [[1, 0, 0]])


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["text", "labels"]', "must be a JSON object"),
        ('{"text": "在吗"}', "has no 'labels'"),
        ('{"text": "在吗", "labels": ["spam"]}', "'labels' has unknown names ['spam']"),
        ('{"text": "在吗", "labels": "hard_sell"}', "'labels' must be a list of strings"),
        ('{"text": "在吗", "labels": ["hard_sell", "hard_sell"]}', "'labels' repeats a name"),
        ('{"text": "   ", "labels": []}', "'text' must be a non-empty string"),
        ('{"labels": []}', "'text' must be a non-empty string"),
        ('{"text": "在吗", "labels": [], "tricks": ["emoji"]}', "'tricks' has unknown names ['emoji']"),
        ('{"id": 7, "text": "在吗", "labels": []}', "'id' must be a string"),
    ],
)
def test_a_bad_row_is_refused_with_its_line(tmp_path: Path, line: str, message: str) -> None:
    good = json.dumps({"text": "你好", "labels": []})
    path = _write(tmp_path / "h.jsonl", [good, line])
    with pytest.raises(HoldoutError) as caught:
        load_holdout(path)
    assert caught.value.problems[0][0] == 2
    assert message in str(caught.value) and "line 2: " in str(caught.value)


def test_every_bad_line_is_kept_and_the_message_counts_the_rest(tmp_path: Path) -> None:
    good = json.dumps({"id": "a", "text": "你好", "labels": []})
    path = _write(tmp_path / "h.jsonl", [good, "{", good, '{"text": "x"}'])
    with pytest.raises(HoldoutError) as caught:
        load_holdout(path)
    assert [line for line, _ in caught.value.problems] == [2, 3, 4]
    assert "id 'a' already used on line 1" in caught.value.problems[1][1]
    assert str(caught.value).endswith("(and 2 more bad lines)")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"\n  \n", "has no posts"), (b'{"text": "\xff", "labels": []}\n', "not UTF-8 text")],
)
def test_an_empty_or_undecodable_file_is_refused(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "h.jsonl"
    path.write_bytes(content)
    with pytest.raises(HoldoutError, match=message):
        load_holdout(path)
    with pytest.raises(HoldoutError, match="no such file"):
        load_holdout(tmp_path / "missing.jsonl")


def test_the_release_scores_the_dev_file_as_a_holdout_as_its_card_says(tmp_path: Path) -> None:
    """The dev set's own file is a valid holdout, and the committed release reads its card's dev row on it.

    Within a few posts, not to the digit: onnxruntime's dynamic-INT8 kernels differ between CPUs, so a
    few posts near a threshold flip from host to host (session 37's AMD EPYC host read r23's dev at
    0.952 against its card's 0.954, the same normal-flag rate). A wrong model, normalizer or policy
    moves these figures by far more.
    """
    card_row = re.search(r"^\| dev \(hand-written\) \| ([0-9.]+) \| ([0-9.]+) % \|$", CARD.read_text(), re.M)
    assert card_row, "the model card has no dev row"
    result = CliRunner().invoke(eval_app, ["--holdout", str(DEV_FILE), "--out", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "holdout: macro-F1" in result.stdout
    release = json.loads((tmp_path / "report" / "metrics.json").read_text())["release"][HOLDOUT_SPLIT]
    assert release["macro_f1"] == pytest.approx(float(card_row.group(1)), abs=0.005)
    assert release["normal_flag_rate"] * 100 == pytest.approx(float(card_row.group(2)), abs=0.5)
    assert release["rows"] == 480 and set(release["per_trick_recall"]) >= {"pinyin", "homophone"}
    md = (tmp_path / "report" / "README.md").read_text()
    assert "| holdout | fake_proof |" in md


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threads", "2"], "pass --data (a dataset build), --holdout"),
        (["--holdout", "/nonexistent.jsonl"], "/nonexistent.jsonl: no such file"),
    ],
)
def test_eval_without_splits_or_with_a_bad_holdout_exits_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(eval_app, args)
    assert result.exit_code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_eval_names_the_first_bad_holdout_line_and_writes_nothing(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "h.jsonl", [json.dumps({"text": "你好", "labels": []}), '{"text": "x", "labels": ["?"]}']
    )
    out = tmp_path / "report"
    result = CliRunner().invoke(eval_app, ["--holdout", str(path), "--out", str(out)])
    assert result.exit_code == 2 and "line 2: 'labels' has unknown names" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()
