"""Spliced posts for distillation (train.augment): clause cuts, both posts in every splice, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from train.augment import clauses, splice_posts

POSTS = [
    "新品到货，全场包邮！私信下单～",
    "今天带娃去公园，天气真好。晚上吃火锅",
    "跟着团队干了三个月，月入过万；宝妈也能做",
    "一句话没有标点",
]


@pytest.mark.parametrize("text", [*POSTS, "", "，，", "a,b?c!\nd"])
def test_clauses_join_back_to_the_text(text: str) -> None:
    assert "".join(clauses(text)) == text


def test_clauses_cut_after_each_mark() -> None:
    assert clauses("新品到货，全场包邮！私信下单～") == ["新品到货，", "全场包邮！", "私信下单～"]


def test_every_splice_is_a_head_of_one_post_and_a_tail_of_another() -> None:
    spliced = splice_posts(POSTS, 50, np.random.default_rng(7))
    assert len(spliced) == 50
    for text in spliced:
        matches = [
            (i, j)
            for i, head in enumerate(POSTS)
            for j, tail in enumerate(POSTS)
            if i != j
            for cut in range(1, len(text))
            if head.startswith(text[:cut]) and tail.endswith(text[cut:])
        ]
        assert matches, text
    assert len(set(spliced)) > 10


def test_the_same_seed_splices_the_same_posts() -> None:
    first = splice_posts(POSTS, 8, np.random.default_rng(3))
    assert first == splice_posts(POSTS, 8, np.random.default_rng(3))
    assert first != splice_posts(POSTS, 8, np.random.default_rng(4))
    assert splice_posts(POSTS, 0, np.random.default_rng(3)) == []


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match="'count' parameter of splice_posts"):
        splice_posts(POSTS, -1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="'texts' parameter of splice_posts must hold at least 2"):
        splice_posts(POSTS[:1], 1, np.random.default_rng(0))
