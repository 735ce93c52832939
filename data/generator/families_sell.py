"""Hard-sell families: posts whose purpose is to sell, from five-character DMs to long price menus.

Each recipe is a different structure (menu, hook + claims, flash sale, restock, 刷屏 repeat, daigou,
course, farm produce, soft lifestyle sell, group buy, problem hook, live stream, price comparison,
testimonial sell); parts inside come from the shared banks.
"""

from __future__ import annotations

from data.generator import lexicon as lx
from data.generator import lexicon_life as ll
from data.generator import lexicon_mlm as lm
from data.generator.catalogue import category, draw_product
from data.generator.layout import assemble
from data.generator.parts import Gen
from data.generator.registry import Draft, family

HS = ("hard_sell",)


def _img(g: Gen, *kinds: str | None) -> str | None:
    return g.rng.choice(kinds)


def _tail(g: Gen) -> dict:
    """Optional hashtags and signature shared by the seller layouts."""
    return {
        "hashtags": ll.HASHTAGS_SELL if g.chance(0.2) else (),
        "signature": g.pick(lx.SIGNATURES) if g.chance(0.2) else None,
        "emoji": lx.EMOJI_SELL if g.chance(0.6) else lx.EMOJI_SOFT,
    }


def _maybe_recruit_tail(
    g: Gen, labels: tuple[str, ...], p: float = 0.12
) -> tuple[list[str], tuple[str, ...]]:
    """Sellers often end an ad with an agent call; when they do, the post is recruitment too."""
    if g.chance(p):
        return [g.pick(lm.RECRUIT_WORDS) + g.rng.choice(("，", " ", "！")) + g.pick(lm.PITCH_WORDS)], (
            *labels,
            "recruitment",
        )
    return [], labels


@family("hard_sell/price_menu")
def price_menu(g: Gen) -> Draft:
    cat = g.product.category
    fmt = g.rng.choice(
        (
            "{name} {price}元",
            "{name}：¥{price}",
            "{name}---{price}",
            "{name} {price}/{unit}",
            "{name} 原{orig} 现{price}",
            "{name}  {price}r",
            "{b}{name} {price}",
        )
    )
    b = g.rng.choice(lx.BULLETS)
    lines = []
    for p in [draw_product(g.rng, cat) for _ in range(g.rng.randint(2, 6))]:
        lines.append(fmt.format(name=p.name, price=p.price, unit=p.unit, orig=p.original, b=b))
    head = g.pick(("今日价目表", "{cat}价格", "新品报价", "最新价格", "{cat}系列", "现货清单", "今天的价格"))
    parts = [*list(dict.fromkeys(lines))]
    if g.chance(0.5):
        parts.append(g.pick(lx.PRICE_DEALS))
    parts.append(g.cta())
    extra, labels = _maybe_recruit_tail(g, HS)
    text = assemble(
        g.rng, parts + extra, style=g.rng.choice(("lines", "lines", "spaced")), title=head, **_tail(g)
    )
    return Draft(text, labels, "hard_sell/price_menu", _img(g, "product_photo", "product_photo", None))


@family("hard_sell/hook_claims")
def hook_claims(g: Gen) -> Draft:
    parts = [g.pick(lx.HOOKS), g.product_intro(), *g.claims(1, 4)]
    if g.chance(0.8):
        parts.append(g.price())
    if g.chance(0.4):
        parts.append(g.scarcity())
    parts.append(g.cta())
    extra, labels = _maybe_recruit_tail(g, HS)
    text = assemble(g.rng, parts + extra, **_tail(g))
    return Draft(text, labels, "hard_sell/hook_claims", _img(g, "product_photo", "lifestyle_photo", None))


@family("hard_sell/short_dm")
def short_dm(g: Gen) -> Draft:
    text = g.pick(lx.SHORT_SELL)
    if g.chance(0.3):
        text += g.emoji()
    if g.chance(0.2):
        text += g.rng.choice((" ", "\n")) + g.pick(("私", "滴滴", "私我", "速", "扣1", "👇", "懂的来"))
    return Draft(text, HS, "hard_sell/short", _img(g, "product_photo", "product_photo", None))


@family("hard_sell/flash_sale")
def flash_sale(g: Gen) -> Draft:
    title = g.pick(
        ("限时秒杀", "今日特价", "秒杀", "限时福利", "清仓特卖", "炸了炸了", "捡漏时间", "福利来袭")
    )
    parts = [g.product_intro(), g.price(), g.scarcity()]
    if g.chance(0.5):
        parts.append(g.scarcity())
    if g.chance(0.5):
        parts.insert(1, g.claims(1, 2)[0])
    if g.chance(0.3):
        g.rng.shuffle(parts)
    parts.append(g.cta())
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SELL, title=title, loud=0.6, **_nolayout(_tail(g)))
    return Draft(text, HS, "hard_sell/flash_sale", _img(g, "product_photo", None))


def _nolayout(t: dict) -> dict:
    t.pop("emoji", None)
    return t


@family("hard_sell/restock")
def restock(g: Gen) -> Draft:
    parts = [g.pick(lx.RESTOCK)]
    if g.chance(0.5):
        parts.append(
            g.pick(
                (
                    "老顾客都知道",
                    "懂的都懂",
                    "不用多说了吧",
                    "还是原来的味道",
                    "品质一如既往",
                    "上次好多人没抢到",
                )
            )
        )
    if g.chance(0.5):
        parts.append(g.price())
    parts.append(g.rng.choice((g.scarcity(), g.cta(), g.cta())))
    text = assemble(g.rng, parts, **_tail(g))
    return Draft(text, HS, "hard_sell/restock", _img(g, "product_photo", "parcel_pile", None))


@family("hard_sell/spam_repeat")
def spam_repeat(g: Gen) -> Draft:
    core = g.rng.choice((g.pick(lx.SHORT_SELL), f"{g.product_intro()} {g.price()}"))
    reps = g.rng.randint(2, 4)
    sep = g.rng.choice(("\n", " ", "！", "\n\n", g.emoji()))
    body = sep.join([core] * reps)
    head = g.pick(lx.REPEAT_HEADS) if g.chance(0.7) else ""
    text = assemble(g.rng, [head, body, g.cta() if g.chance(0.5) else ""], style="lines", loud=0.3)
    return Draft(text, HS, "hard_sell/spam_repeat", _img(g, "product_photo", None))


@family("hard_sell/daigou")
def daigou(g: Gen) -> Draft:
    g.set_product(draw_product(g.rng, category("代购奢侈品")))
    parts = g.some(lx.DAIGOU, 1, 3)
    if g.chance(0.6):
        parts.append(g.price())
    parts.append(g.pick(("现货秒发", "可预定", "支持专柜验货", "假一赔十", "只有{n}个", "手慢无")))
    parts.append(g.cta())
    text = assemble(g.rng, parts, **_tail(g))
    return Draft(text, HS, "hard_sell/daigou", _img(g, "product_photo", "lifestyle_photo"))


@family("hard_sell/course")
def course(g: Gen) -> Draft:
    g.set_product(draw_product(g.rng, category("网课")))
    parts = g.some(lx.COURSE, 2, 3)
    if g.chance(0.5):
        parts.append(g.pick(("适合{aud}", "{aud}也能学", "不限年龄学历")))
    parts.append(g.rng.choice((g.cta(), g.pick(("扫码进群", "点头像报名", "私我报名", "名额有限 速报")))))
    extra, labels = _maybe_recruit_tail(g, HS, 0.15)
    text = assemble(g.rng, parts + extra, **_tail(g))
    return Draft(text, labels, "hard_sell/course", _img(g, "lifestyle_photo", "chat_screenshot", None))


@family("hard_sell/farm_produce")
def farm_produce(g: Gen) -> Draft:
    g.set_product(draw_product(g.rng, category("水果农产品")))
    parts = [g.pick(lx.FARM), *g.claims(1, 3), g.price()]
    if g.chance(0.4):
        parts.append(
            g.pick(("{n}斤起发", "一箱{n}斤", "全国包邮（新疆西藏除外）", "坏果包赔", "今天下单明天发"))
        )
    parts.append(g.cta())
    text = assemble(g.rng, parts, emoji=lx.EMOJI_LIFE if g.chance(0.5) else lx.EMOJI_SELL)
    return Draft(text, HS, "hard_sell/farm", _img(g, "product_photo", "lifestyle_photo"))


@family("hard_sell/lifestyle_soft")
def lifestyle_soft(g: Gen) -> Draft:
    """A life moment, then the product, no price: soft selling a keyword filter misses."""
    life = g.pick(ll.DAILY + ll.MOODS + ll.FOOD)
    mid = g.pick(
        (
            "最近一直在用{p}",
            "这段时间全靠{p}续命",
            "出门必带{p}",
            "被问了好多次用的什么，就是这个{ps}",
            "{p}真的救了我",
            "朋友们都说我气色变好了，秘密是{p}",
            "{claim}的感觉太好了",
        )
    )
    end = g.pick(
        ("需要的找我", "想要的私", "有需要可以问我", "懂的来", "同款找我", "私我拿同款", "喜欢的滴滴")
    )
    text = assemble(g.rng, [life, mid, end], emoji=lx.EMOJI_SOFT)
    return Draft(text, HS, "hard_sell/soft", _img(g, "lifestyle_photo", "product_photo"))


@family("hard_sell/group_buy")
def group_buy(g: Gen) -> Draft:
    head = g.pick(lx.GROUP_BUY)
    parts = [g.price()]
    if g.chance(0.6):
        parts.append(g.claims(1, 1)[0])
    names = [
        g.pick(lx.NAMES) + (f" {g.rng.randint(1, 5)}{g.product.unit}" if g.chance(0.6) else "")
        for _ in range(g.rng.randint(1, 5))
    ]
    if g.chance(0.7):
        parts.append("\n".join(f"{i + 1}. {n}" for i, n in enumerate(names)))
    parts.append(g.pick(("接龙下单", "要的接龙", "截止今晚{h}点", "满{nn}份发货", "群里接龙", "跟着接")))
    text = assemble(g.rng, parts, style="lines", title=head)
    return Draft(text, HS, "hard_sell/group_buy", _img(g, "product_photo", None))


@family("hard_sell/problem_hook")
def problem_hook(g: Gen) -> Draft:
    parts = [
        g.pick(lx.PROBLEM_HOOKS),
        g.pick(("试试{p}", "{p}帮你解决", "一{unit}{ps}搞定", "你需要的是{p}")),
        *g.claims(1, 3),
    ]
    if g.chance(0.6):
        parts.append(g.price())
    parts.append(g.cta())
    text = assemble(g.rng, parts, **_tail(g))
    return Draft(text, HS, "hard_sell/problem_hook", _img(g, "product_photo", "lifestyle_photo", None))


@family("hard_sell/live_stream")
def live_stream(g: Gen) -> Draft:
    parts = g.some(lx.LIVE, 1, 3)
    if g.chance(0.5):
        parts.append(g.product_intro())
    if g.chance(0.5):
        parts.append(g.pick(lx.PRICE_DEALS))
    parts.append(g.pick(("不见不散", "记得来", "定好闹钟", "准时来抢", "先关注", "进不去的私我")))
    text = assemble(g.rng, parts, **_tail(g))
    return Draft(text, HS, "hard_sell/live", _img(g, "lifestyle_photo", "product_photo", None))


@family("hard_sell/compare_price")
def compare_price(g: Gen) -> Draft:
    parts = [g.product_intro(), g.pick(lx.COMPARE)]
    if g.chance(0.5):
        parts.append(g.pick(("同一个工厂出来的", "一样的品质", "不赚差价", "源头直发", "省下的钱不香吗")))
    parts.append(g.cta())
    text = assemble(g.rng, parts, **_tail(g))
    return Draft(text, HS, "hard_sell/compare", _img(g, "product_photo", None))


@family("hard_sell/testimonial_sell")
def testimonial_sell(g: Gen) -> Draft:
    """Sell with a quoted customer review (often a real review sentence): hard sell and fake proof."""
    quote = g.real_sentence()
    parts = [
        g.pick(("顾客说：", "宝宝反馈：", "老顾客原话：", "买家评价：", "看看她们怎么说👇", ""))
        + f"“{quote}”",
        g.product_intro(),
    ]
    if g.chance(0.7):
        parts.append(g.price())
    parts.append(g.cta())
    if g.chance(0.5):
        parts.insert(0, g.pick(lm.FEEDBACK_CAPTIONS))
    text = assemble(g.rng, parts, **_tail(g))
    return Draft(
        text,
        ("hard_sell", "fake_proof"),
        "hard_sell/testimonial",
        _img(g, "chat_screenshot", "product_photo"),
    )


@family("hard_sell/gift_pitch")
def gift_pitch(g: Gen) -> Draft:
    parts = [
        g.pick(
            ("送{who}的礼物还没想好？", "{holiday}送礼就送{p}", "孝敬{who}，{p}最合适", "{holiday}礼盒来了")
        ),
        *g.claims(1, 2),
        g.price(),
        g.pick(("可代写贺卡", "直接寄到家", "礼盒包装", "送礼有面")),
        g.cta(),
    ]
    text = assemble(g.rng, parts, **_tail(g))
    return Draft(text, HS, "hard_sell/gift", _img(g, "product_photo", None))


@family("hard_sell/seller_diary")
def seller_diary(g: Gen) -> Draft:
    """A seller's day told like a diary, the product slipped in; no price, no banner."""
    parts = [
        g.pick(
            (
                "早上送完孩子就开始回消息",
                "今天一睁眼就是{n}条未读",
                "忙了一整天，终于坐下来喝口水",
                "下午去仓库盘了一下货",
                "中午饭都是站着吃的",
                "今天下雨，还是有好多人来拿货",
            )
        ),
        g.pick(
            (
                "{p}今天又走了{n}{unit}",
                "{ps}基本都被老顾客订完了",
                "好几个人问{ps}还有没有",
                "{p}剩得不多了",
                "新到的{p}拆开看了，品质真的没话说",
            )
        ),
        g.pick(
            (
                "明天还有一批，要的提前说",
                "要的宝宝早点说",
                "给我留言就行",
                "有需要的说一声，给你留着",
                "老规矩，先到先得",
            )
        ),
    ]
    if g.chance(0.3):
        parts.append(g.pick(lm.GRATITUDE_NOKW))
    text = assemble(
        g.rng, parts, style=g.rng.choice(("inline", "dense", "lines")), emoji=lx.EMOJI_LIFE + lx.EMOJI_SOFT
    )
    return Draft(text, HS, "hard_sell/diary", _img(g, "product_photo", "lifestyle_photo", None))


@family("hard_sell/customer_dialogue")
def customer_dialogue(g: Gen) -> Draft:
    """Selling through a retold exchange with a customer."""
    q = g.pick(
        (
            "{ps}真的有用吗？",
            "{ps}多少钱？",
            "孕妇能用吗？",
            "多久见效？",
            "是正品吗？",
            "能便宜点吗？",
            "几天到？",
        )
    )
    a = g.pick(
        (
            "用过的都说好",
            "{price}，老顾客价",
            "放心用",
            "一个疗程就能看到变化",
            "假一赔十",
            "今天下单送小样",
            "顺丰两天到",
        )
    )
    who = g.rng.choice(("顾客", "客户", "宝宝", "姐妹", "买家", "有人"))
    me = g.rng.choice(("我", "我说", "答"))
    parts = [g.pick(("今天又有人问我", "被问最多的问题", "每天都有人问", "")), f"{who}：{q}", f"{me}：{a}"]
    if g.chance(0.6):
        parts.append(g.cta())
    text = assemble(g.rng, parts, style="lines", emoji=lx.EMOJI_SOFT)
    return Draft(text, HS, "hard_sell/dialogue", _img(g, "chat_screenshot", None))


@family("hard_sell/carry_back")
def carry_back(g: Gen) -> Draft:
    """'Anyone want X? I can bring some': trading dressed as a favour, no price, no keyword."""
    parts = [
        g.pick(
            (
                "有人要{p}吗？",
                "这周去{city}拿货，可以帮带{ps}",
                "过几天回老家，要{ps}的说",
                "朋友那边有一批{p}，要的说一声",
                "又要去{place}了，需要带{ps}的提前讲",
                "{ps}我这还能匀出{n}{unit}",
            )
        ),
        g.pick(("跟上次一样的", "质量你们知道的", "数量不多", "先说先得", "价格好商量", "")),
    ]
    text = assemble(g.rng, parts, emoji=lx.EMOJI_LIFE)
    return Draft(text, HS, "hard_sell/favour", _img(g, None, "product_photo"))


@family("hard_sell/long_post")
def long_post(g: Gen) -> Draft:
    """A long multi-paragraph ad: story, product, claims, a quoted review, price, urgency, contact."""
    paras = [
        g.pick(lx.HOOKS) + "。" + g.pick(ll.DAILY + ll.MOODS),
        g.pick(lx.PROBLEM_HOOKS).rstrip("？")
        + "？"
        + g.pick(("后来朋友推荐了{p}", "直到我用了{p}", "试了很多都没用，最后是{p}")),
        "，".join(g.claims(2, 4)),
        "“" + g.real_sentence() + "”" + g.pick(("——老顾客原话", "这是顾客给我的反馈", "")),
        g.price() + "，" + g.scarcity(),
        g.cta(),
    ]
    labels = ("hard_sell", "fake_proof") if g.chance(0.5) else HS
    if labels == HS:
        paras.pop(3)
    text = assemble(g.rng, paras, style=g.rng.choice(("spaced", "lines", "mixed")), **_tail(g))
    return Draft(text, labels, "hard_sell/long", _img(g, "product_photo", "chat_screenshot"))
