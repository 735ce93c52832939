"""Training-only contrast families for fake proof: big counts and big purchases that prove nothing.

Why they exist: the fake-proof rule (``proof.py``) marks a *claimed result*: sales reached, stock sold
out, a car bought with the proceeds. In training, though, every post with a stock count in the
hundreds ("今天又发了{N}单") or a car bought ("提车啦") was fake proof, so the deeper students of
release r7 put stock arrivals ("仓库刚到2566套", hard sell only) and a family's first car (no label)
among their highest fake-proof scores on validation and the hand-written dev set, and their policy
never reached the 0.97 precision a fake-proof review cut needs. These families give the model the
missing contrast: a shop announcing how much arrived (hard sell, no result claimed) and people
telling what their own car or appliance cost (no label). Honest caveat: they were written after
reading validation's top-scored negatives (``restock``, ``new_car_pride``), so validation and the
policy cut it sets are partly informed by them; wording stays clear of those families' banks, and
test, evasion, real_normal and the hand-written dev set are untouched checks.
"""

from __future__ import annotations

from data.generator import lexicon as lx
from data.generator.layout import assemble
from data.generator.parts import Gen
from data.generator.registry import Draft, family

NONE: tuple[str, ...] = ()
HS: tuple[str, ...] = ("hard_sell",)

#: How much came in: quantities of stock, never of sales or shipped orders (those are proof).
_ARRIVALS: tuple[str, ...] = (
    "新到{N}{unit}{ps}，已经上架",
    "这批{ps}一共{N}{unit}",
    "库房今天进了{N}{unit}",
    "{ps}第二批{N}{unit}今天入库",
    "工厂直发{N}{unit}，明天开始发",
    "{ps}现货{N}{unit}",
    "货到了，{nn}箱{ps}",
    "冷链车刚卸完，{nn}箱{ps}",
    "{n}月新批次{ps}，{N}{unit}",
    "{ps}备货{N}{unit}，放心拍",
)
_ARRIVAL_DETAILS: tuple[str, ...] = (
    "生产日期是这个月的",
    "批号都能查",
    "保质期到明年{n}月",
    "按下单顺序发",
    "外箱有点压痕的便宜{n}块",
    "每人限购{n}{unit}",
    "顺丰包邮",
    "偏远地区补运费",
)
#: Everyday cars, so that "提车" is not only ever said of a luxury reward car.
_FAMILY_CARS: tuple[str, ...] = (
    "卡罗拉",
    "轩逸",
    "朗逸",
    "比亚迪秦",
    "哈弗H6",
    "五菱宏光MINI",
    "思域",
    "宋PLUS",
    "Model 3",
    "雅阁",
)


def _purchase_post(g: Gen, opening: str, details: list[str], endings: tuple[str, ...]) -> Draft:
    """A purchase told as a life post: opening, what it cost, a closing line; never a label."""
    ending = g.pick(endings)
    text = assemble(g.rng, [opening, *details, ending], emoji=lx.EMOJI_LIFE, loud=0.05)
    return Draft(text, NONE, "hard_negative/purchase", g.rng.choice(("lifestyle_photo", None)))


@family("hard_sell/stock_count", pool="supplement")
def stock_count(g: Gen) -> Draft:
    """A shop telling how much stock arrived, with a price or a call to order: selling, no result claimed."""
    parts = [g.pick(_ARRIVALS)]
    if g.chance(0.6):
        parts.append(g.pick(_ARRIVAL_DETAILS))
    if g.chance(0.6):
        parts.append(g.price())
    parts.append(g.rng.choice((g.scarcity(), g.cta(), g.cta())))
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SELL if g.chance(0.6) else lx.EMOJI_SOFT)
    return Draft(text, HS, "hard_sell/stock", g.rng.choice(("product_photo", "parcel_pile", None)))


@family("hard_negative/car_purchase", pool="supplement")
def car_purchase(g: Gen) -> Draft:
    """A family's car bought with its own savings or a loan: the sums are what it cost, not what anyone earned."""
    r = g.rng
    car = r.choice(_FAMILY_CARS)
    opening = g.pick(
        (
            f"提车了，{car}",
            f"今天去4S店提了{car}",
            f"新车到家：{car}",
            f"开了{{nn}}万公里的老车退休了，换了{car}",
            f"纠结了半年，最后定了{car}",
        )
    )
    details = g.some(
        (
            f"落地{r.randint(8, 25)}万{r.randint(1, 9)}",
            f"首付{r.randint(2, 9)}万",
            f"月供{r.randint(15, 45) * 100}",
            "贷款{n}年",
            "旧车卖了{n}万",
            "销售磨了一下午才送了脚垫和贴膜",
            "选了白色，耐脏",
            "上牌又排了{n}天队",
        ),
        1,
        3,
    )
    return _purchase_post(
        g, opening, details, ("以后接孩子方便了", "慢慢还贷吧", "新手上路多多包涵", "周末带爸妈出去转转", "")
    )


@family("hard_negative/big_purchase", pool="supplement")
def big_purchase(g: Gen) -> Draft:
    """One big thing bought for the home, what it cost and why: a price that is spent, not a deal offered."""
    r = g.rng
    thing, price = r.choice(
        (
            ("冰箱", r.randint(30, 90) * 100),
            ("洗碗机", r.randint(25, 60) * 100),
            ("电动车", r.randint(20, 50) * 100),
            ("按摩椅", r.randint(40, 120) * 100),
            ("空调", r.randint(25, 80) * 100),
            ("笔记本电脑", r.randint(45, 120) * 100),
            ("婴儿车", r.randint(8, 30) * 100),
            ("钢琴", r.randint(120, 300) * 100),
        )
    )
    opening = g.pick(
        (
            f"家里的{thing}终于换了",
            f"咬咬牙买了{thing}",
            f"{thing}到了，{price}块",
            f"攒了{{n}}个月的钱，买了{thing}",
            f"双十一买的{thing}今天装好了",
        )
    )
    details = g.some(
        (
            f"花了{price}",
            "比了{n}家店",
            "用了{n}张优惠券",
            f"分{r.choice((3, 6, 12, 24))}期免息",
            "旧的用了{nn}年",
            "师傅上门装了{n}个小时",
            "老公心疼了一晚上",
        ),
        1,
        2,
    )
    return _purchase_post(
        g, opening, details, ("钱包空了", "希望能用十年", "值不值用了再说", "这个月吃土", "")
    )
