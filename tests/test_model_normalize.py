"""The normalizer undoes every evasion trick, records it, and leaves ordinary posts alone."""

import pytest

from model.labels import EVASION_TRICKS
from model.normalize import normalize

TRICK_CASES = [
    # (posted, must contain after normalizing, trick recorded)
    ("ＶＸ：ａｂｃ１２３", "微信", "fullwidth"),
    ("加我 １３８００１３８０００", "13800138000", "fullwidth"),
    ("賺錢零門檻，貨源充足", "赚钱零门槛", "traditional"),
    ("招募代理，在家就能做，月入過萬", "月入过万", "traditional"),
    ("招 代 理，宝妈在家就能做", "招代理", "separator"),
    ("月入过✖万不是梦", "月入过万", "separator"),
    ("加\u200b微\u200b信详聊", "加微信", "separator"),
    ("招·代·理·啦", "招代理啦", "separator"),
    ("有意者加薇信详聊", "加微信", "homophone"),
    ("V信同号", "微信同号", "homophone"),
    ("威❤️：abc", "微信", "homophone"),
    ("欢迎➕v咨询", "加微信", "homophone"),
    ("扣扣：123456", "QQ", "homophone"),
    ("代哩火热招募中", "代理", "homophone"),
    ("zhaodaili 一件代发", "招代理", "pinyin"),
    ("zdl 详情私", "招代理", "pinyin"),
    ("jia v 了解", "加微信", "pinyin"),
    ("yi jian dai fa 零库存", "一件代发", "pinyin"),
    ("联系 一三八零零一三八零零零", "13800138000", "digits"),
    ("电话 1 3 8 0 0 1 3 8 0 0 0", "13800138000", "digits"),
    ("①③⑧⓪⓪", "13800", "digits"),
]


@pytest.mark.parametrize(("posted", "expected", "trick"), TRICK_CASES)
def test_each_trick_is_undone_and_recorded(posted: str, expected: str, trick: str) -> None:
    result = normalize(posted)
    assert expected in result.text
    assert trick in result.tricks
    assert any(u.trick == trick and u.original for u in result.undone)


def test_every_trick_has_a_case() -> None:
    assert {trick for _, _, trick in TRICK_CASES} == set(EVASION_TRICKS)


@pytest.mark.parametrize(
    "ordinary",
    [
        "今天 天气 很好，我们去公园",
        "他在单位很有威信",
        "卫星发射成功，全家守着看直播",
        "今天好开心❤谢谢大家的祝福",
        "Hello world, nice day",
        "加vip会员才能看，不划算",
        "刚买的面膜用了一周，感觉还行，就是有点贵",
        "年终奖到手啦，请大家吃饭！",
    ],
)
def test_ordinary_posts_record_no_trick(ordinary: str) -> None:
    assert normalize(ordinary).tricks == ()


def test_normalizing_twice_changes_nothing_more() -> None:
    once = normalize("賺錢零門檻 招 代 理 加薇信 ＶＸ１３８ zdl").text
    assert normalize(once).text == once


@pytest.mark.parametrize("bad", [None, 123, b"bytes"])
def test_non_text_is_refused_by_name(bad: object) -> None:
    with pytest.raises(ValueError, match="'text' parameter"):
        normalize(bad)  # type: ignore[arg-type]


def test_overlong_text_is_refused() -> None:
    with pytest.raises(ValueError, match="at most"):
        normalize("字" * 100_001)
