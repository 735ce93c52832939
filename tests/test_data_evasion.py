"""The evasion transforms: one per trick, each changes the text it can act on and is recorded."""

from __future__ import annotations

import random

import pytest

from data.evasion import TRICKS, applicable_tricks, apply_evasion
from model.labels import EVASION_TRICKS

# A post with a target for every trick: contact words, keywords, digits, ASCII, simplified characters.
RICH = "招代理！零门槛一件代发，月入过万，加微信 mm520888 或QQ 12345678，电话13812345678，赚钱私聊"


def test_trick_names_follow_the_shared_contract():
    assert tuple(TRICKS) == EVASION_TRICKS


@pytest.mark.parametrize("trick", EVASION_TRICKS)
def test_each_trick_changes_the_text_and_is_recorded(trick):
    for seed in range(20):
        out, applied = apply_evasion(RICH, random.Random(seed), [trick])
        assert out != RICH
        assert applied == (trick,)


def test_examples_of_each_trick():
    rng = random.Random(0)
    assert TRICKS["fullwidth"]("加 mm520888", rng) == "加 ｍｍ５２０８８８"
    assert "賺錢" in TRICKS["traditional"]("在家赚钱", rng)
    out = TRICKS["homophone"]("加微信", rng)
    assert "微信" not in out
    assert "138" not in TRICKS["digits"]("电话138", rng)
    out = TRICKS["separator"]("招代理", rng)
    assert out != "招代理" and out[0] == "招" and out[-1] == "理"
    out = TRICKS["pinyin"]("招代理", rng)
    assert "代理" not in out


def test_inapplicable_trick_is_not_recorded():
    text = "今天天气很好"
    out, applied = apply_evasion(text, random.Random(0), ["digits", "fullwidth", "homophone"])
    assert (out, applied) == (text, ())


def test_random_choice_applies_one_to_three_recorded_tricks():
    for seed in range(200):
        out, applied = apply_evasion(RICH, random.Random(seed))
        assert 1 <= len(applied) <= 3
        assert set(applied) <= set(EVASION_TRICKS)
        assert out != RICH


def test_random_choice_is_deterministic_for_a_seed():
    assert apply_evasion(RICH, random.Random(7)) == apply_evasion(RICH, random.Random(7))


def test_applicable_tricks_on_plain_text():
    assert applicable_tricks("") == []
    assert "digits" in applicable_tricks("价格199元")
    assert "homophone" not in applicable_tricks("今天去公园")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"text": 5, "rng": random.Random(0)}, "'text'"),
        ({"text": "x", "rng": 3}, "'rng'"),
        ({"text": "x", "rng": random.Random(0), "tricks": ["bogus"]}, "'tricks'"),
        ({"text": "x", "rng": random.Random(0), "tricks": "digits"}, "'tricks'"),
    ],
)
def test_bad_input_names_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=name):
        apply_evasion(**kwargs)
