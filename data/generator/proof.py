"""The fake-proof rule: a seller post that states a concrete result is fake proof, whichever recipe wrote it.

Why a rule and not a label per family: recipes were labelled one at a time, and the same claim got
different labels in different families. "上个月业绩破7200" was recruitment only inside a recruiting
story while "又一个月破10004元" was fake proof inside an income pitch; "基本都被老顾客订完了" was hard
sell only in a seller's diary while "上一批3天就清空了" was fake proof. Families are the unit of the
train/test split, so the model learnt one convention and was marked against the other.

The rule follows DOMAIN.md and the hand-written dev set: fake proof manufactures the look of
success, so a **specific result the poster claims** makes a post fake proof: an earnings or sales
figure reached, a sell-out, a day's sales count, a car or a house bought with the proceeds. A generic
promise ("月入过万不是梦"), a vague outcome ("奶粉钱都是我自己挣的") or marketing talk ("老顾客都在回购",
"手慢无") does not. The rule is applied per phrase: a recipe's bank phrases listed here mark the post
when they are drawn, so one family can hold posts with and without proof.
"""

from __future__ import annotations

from data.generator.registry import Draft

#: Bank templates (before slot filling) that claim a concrete result. Each must occur in a bank;
#: ``tests/test_data_generator.py`` checks that, so a reworded phrase cannot silently drop out.
PROOF_CLAIMS: frozenset[str] = frozenset(
    {
        # a seller's day: sales counted, stock sold out
        "{p}今天又走了{n}{unit}",
        "{ps}基本都被老顾客订完了",
        # recruiting stories: the poster's own figures and purchases
        "现在每个月收入{k}",
        "上个月业绩破{k}",
        "现在时间自由 收入翻了{n}倍",
        "今年给自己换了车",
        "给爸妈换了新房子",
        "已经全款买了房",
    }
)

#: Groups whose posts the rule may add fake_proof to: sellers. Normal posts and hard negatives never
#: draw these phrases, and a label must not appear on them if a future recipe does.
SELLER_GROUPS: frozenset[str] = frozenset({"hard_sell", "recruitment", "fake_proof"})


def with_proof_label(draft: Draft, group: str, claimed_result: bool) -> Draft:
    """``draft`` with fake_proof added when a seller post drew a result claim; otherwise unchanged."""
    if not claimed_result or group not in SELLER_GROUPS or "fake_proof" in draft.labels:
        return draft
    return Draft(draft.text, (*draft.labels, "fake_proof"), draft.kind, draft.image_kind)
