"""Lookup tables for :mod:`model.normalize`: the spellings sellers use, and what they mean.

Kept apart from the code so that a moderator-reported new variant is a one-line data
change. Keys of the contact tables are matched case-insensitively; values are the
canonical words the model is trained on.
"""

from __future__ import annotations

from typing import Final

#: Variants of 微信 / QQ that mean the contact word wherever they stand.
CONTACT_VARIANTS_ALWAYS: Final[dict[str, str]] = {
    "薇信": "微信",
    "徽信": "微信",
    "嶶信": "微信",
    "徾信": "微信",
    "威❤": "微信",
    "微❤": "微信",
    "薇❤": "微信",
    "威♥": "微信",
    "微♥": "微信",
    "v信": "微信",
    "V信": "微信",
    "vx": "微信",
    "wx": "微信",
    "weix": "微信",
    "wei信": "微信",
    "微x": "微信",
    "威x": "微信",
    "薇x": "微信",
    "魏信": "微信",
    "溦信": "微信",
    "绿泡泡": "微信",
    "绿色泡泡": "微信",
    "V商": "微商",
    "威商": "微商",
    "薇商": "微商",
    "wei商": "微商",
    "扣扣": "QQ",
    "企鹅号": "QQ",
    "qq号": "QQ号",
}

#: Words that mean a contact only right after an ask (加 V, ➕薇, 私威信); alone they are
#: ordinary words (威信 is "prestige", 卫星 "satellite").
CONTACT_VARIANTS_AFTER_PREFIX: Final[dict[str, str]] = {
    "威信": "微信",
    "维信": "微信",
    "卫星": "微信",
    "薇": "微信",
    "威": "微信",
    "徽": "微信",
    "溦": "微信",
    "v": "微信",
    "vx": "微信",
    "❤": "微信",
    "♥": "微信",
    "q": "QQ",
    "扣": "QQ",
}

#: Contact variants that also begin ordinary words after an ask (加威力, 扣分): folded only
#: when no further character follows.
ORDINARY_AFTER_ASK: Final[frozenset[str]] = frozenset({"威", "扣", "❤", "♥"})

#: The asks that precede a contact word.
CONTACT_PREFIXES: Final[tuple[str, ...]] = ("加", "+", "➕", "私", "联系", "留", "戳", "滴滴", "找我")

#: Homophones of sales and recruitment words (written to defeat keyword lists).
HOMOPHONE_WORDS: Final[dict[str, str]] = {
    "代哩": "代理",
    "岱理": "代理",
    "呆理": "代理",
    "招呆": "招代",
    "赚q": "赚钱",
    "赚Q": "赚钱",
    "賺q": "赚钱",
    "窝囊费": "工资",
    "米米": "钱",
    "蕞低价": "最低价",
    "囤貨": "囤货",
    "伽盟": "加盟",
    "枷盟": "加盟",
    "兼值": "兼职",
    "兼値": "兼职",
    "尖职": "兼职",
    "兼zhi": "兼职",
    "带理": "代理",
    "玳理": "代理",
    "袋理": "代理",
    "代li": "代理",
    "zhao代理": "招代理",
    "挣米": "赚钱",
    "赚米": "赚钱",
    "搞米": "赚钱",
    "赚💰": "赚钱",
    "丝聊": "私聊",
    "私撩": "私聊",
    "私❤": "私信",
    "家盟": "加盟",
    "佳盟": "加盟",
    "月🉐": "月入",
    "收🉐": "收入",
    "月ru": "月入",
    "收ru": "收入",
    "宝麻": "宝妈",
    "宝🐴": "宝妈",
    "煲妈": "宝妈",
    "下🥚": "下单",
    "下丹": "下单",
    "xia单": "下单",
    "兼耳只": "兼职",
    "淘寳": "淘宝",
}

#: Pinyin spellings (space-separated syllables; matched with or without the spaces) and
#: initials of the words that carry the pitch. Two-letter initials are left out on
#: purpose: "dl" or "hh" are too often something else.
PINYIN_WORDS: Final[dict[str, str]] = {
    "wei xin": "微信",
    "jia wei xin": "加微信",
    "jia v": "加微信",
    "dai li": "代理",
    "zhao dai li": "招代理",
    "zdl": "招代理",
    "yi jian dai fa": "一件代发",
    "yjdf": "一件代发",
    "ling men kan": "零门槛",
    "lmk": "零门槛",
    "ling ku cun": "零库存",
    "zhuan qian": "赚钱",
    "bao ma": "宝妈",
    "he huo ren": "合伙人",
    "si liao": "私聊",
    "xia dan": "下单",
    "jian zhi": "兼职",
    "tang zhuan": "躺赚",
    "yue ru guo wan": "月入过万",
    "huo yuan": "货源",
    "chang jia zhi xiao": "厂家直销",
    "zong dai": "总代",
    "wei shang": "微商",
    "shou kuan": "收款",
    "fan kui": "反馈",
    "fu ye": "副业",
    "hui gou": "回购",
    "hao ping": "好评",
    "na huo": "拿货",
}

#: Characters that spell digits in phone and account numbers.
SPELLED_DIGITS: Final[dict[str, str]] = {
    "零": "0",
    "〇": "0",
    "○": "0",
    "洞": "0",
    "一": "1",
    "幺": "1",
    "壹": "1",
    "二": "2",
    "两": "2",
    "贰": "2",
    "貳": "2",
    "三": "3",
    "叁": "3",
    "参": "3",
    "參": "3",
    "四": "4",
    "肆": "4",
    "五": "5",
    "伍": "5",
    "六": "6",
    "陆": "6",
    "陸": "6",
    "七": "7",
    "柒": "7",
    "拐": "7",
    "八": "8",
    "捌": "8",
    "九": "9",
    "玖": "9",
    "勾": "9",
}

#: Characters OpenCC changes that also occur in ordinary simplified text; one of them
#: alone is no sign of a deliberate switch to traditional script.
TRADITIONAL_AMBIGUOUS: Final[frozenset[str]] = frozenset("著乾於瞭甚麼鍾捲祇")
