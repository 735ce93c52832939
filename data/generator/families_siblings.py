"""Second recipes for ideas that had only one family: identity claims, borrowed fame, repeat buyers,
agent price lists, campus agents, mocking spam, recipes with numbers.

Why: the split holds out whole families, so an idea carried by a single family is either never seen
in training or never measured. With two recipes per idea (different wording and structure), a
held-out recipe has a sibling in training often enough to measure transfer rather than absence.
The wording here is written fresh; it does not reuse the phrase banks of the first recipe.
"""

from __future__ import annotations

from data.generator import lexicon as lx
from data.generator.layout import assemble
from data.generator.parts import Gen
from data.generator.registry import Draft, family

_SELL_PROOF = ("hard_sell", "fake_proof")


@family("fake_proof/expert_vouch")
def expert_vouch(g: Gen) -> Draft:
    """A credential (pharmacist, coach, beautician) lends trust to a product: a fabricated identity."""
    parts = [
        g.pick(
            (
                "做了{n}年药剂师，{ps}是我唯一会推荐给亲戚的",
                "健身教练亲测：{ps}",
                "开美容院{n}年，店里顾客都在用{ps}",
                "幼儿园园长，自己孩子也吃{ps}",
                "退役空姐，飞了{n}年只认这一款{ps}",
                "在大学教了快二十年化学，成分我一眼就懂",
                "专业育婴师，宝宝用品只选{ps}",
            )
        ),
        g.pick(("懂行的人都知道", "外行看热闹，内行看成分", "我的专业可以担保", "我不会拿名声开玩笑")),
    ]
    if g.chance(0.6):
        parts.append(g.price())
    parts.append(g.cta())
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT + lx.EMOJI_SELL)
    return Draft(text, _SELL_PROOF, "fake_proof/identity", g.rng.choice(("lifestyle_photo", "product_photo")))


@family("fake_proof/borrowed_fame")
def borrowed_fame(g: Gen) -> Draft:
    """Borrowed fame: 'the same one a star uses', 'as seen on TV', with no way to check."""
    parts = [
        g.pick(
            (
                "某当红女星同款{ps}",
                "电视台报道过的{p}",
                "大主播直播间卖断货的{ps}",
                "明星化妆师包里常备",
                "{city}卫视推荐过",
                "国宴指定{cat}",
                "专柜柜姐私下都在买的{ps}",
            )
        ),
        g.pick(("同一个厂出来的", "正品保证", "一模一样的货", "别人家拿不到这个价", "渠道货，量不多")),
        g.price(),
    ]
    if g.chance(0.7):
        parts.append(g.cta())
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SELL)
    return Draft(text, _SELL_PROOF, "fake_proof/identity", "product_photo")


@family("fake_proof/loyal_customers")
def loyal_customers(g: Gen) -> Draft:
    """Boasting about returning buyers and word of mouth over a chat screenshot: proof by repetition."""
    parts = [
        g.pick(
            (
                "{name}姐第{n}次来拿{ps}了",
                "回头客又来了，这次一口气订了{n}{unit}",
                "老顾客介绍新顾客，一个带一个",
                "一位阿姨订了一整年的量",
                "去年的客户今年全都回来了",
                "闺蜜带闺蜜，朋友带朋友",
                "有的顾客已经跟了我{n}年",
            )
        ),
        g.pick(
            ("东西好不好，看回头率就知道", "不用我多说", "信任是一点点攒起来的", "感谢一直支持的老朋友们")
        ),
    ]
    if g.chance(0.3):
        parts.append(f"“{g.real_sentence()}”")
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT)
    return Draft(text, ("fake_proof",), "fake_proof/chat", "chat_screenshot")


@family("recruitment/agent_price_list")
def agent_price_list(g: Gen) -> Draft:
    """A price list with agent tiers beside the retail price: selling and recruiting in one table."""
    lines = [
        g.pick(("{p}价格表", "{ps}拿货价", "【{p}】价目", "{ps}最新价格")),
        g.pick(("零售：{price}元", "市场价{orig}，零售{price}", "单盒{price}")),
        g.pick(("代理：私聊", "一级代理：{d}折", "代理拿货：{price2}起", "批发价另算")),
    ]
    if g.chance(0.5):
        lines.append(g.pick(("总代：另谈", "{level}：私聊", "拿货越多越便宜", "囤货有返利")))
    lines.append(g.pick(("欢迎咨询", "自用分享都可以", "有意向的留言", "招各级代理")))
    text = assemble(g.rng, lines, style="lines", emoji=lx.EMOJI_MONEY)
    return Draft(text, ("hard_sell", "recruitment"), "recruitment/sell_recruit", "product_photo")


@family("recruitment/campus_agent")
def campus_agent(g: Gen) -> Draft:
    """Recruiting 'campus agents': students told a dorm and a phone are enough."""
    parts = [
        g.pick(
            (
                "招校园代理",
                "每个学校只招{n}个",
                "想自己挣学费的同学",
                "大一到大四都可以",
                "寝室里就能做的兼职",
            )
        ),
        g.pick(
            (
                "毕业前攒了{k2}",
                "不用坐班，课少的时候发发动态",
                "在学校就能接单",
                "上手快，有人带",
                "室友都跟着做了",
            )
        ),
        g.pick(("感兴趣的同学私我", "留言带你入门", "扣个1发你资料", "加我详聊")),
    ]
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT + lx.EMOJI_MONEY)
    return Draft(text, ("recruitment",), "recruitment/student", "chat_screenshot")


@family("hard_negative/spam_mock")
def spam_mock(g: Gen) -> Draft:
    """Mocking the spam: seller slogans quoted in scorn. Normal, however many keywords it quotes."""
    parts = [
        g.pick(
            (
                "刷了一圈朋友圈，十条里有八条在“招代理”",
                "同学群里又有人发“零门槛月入过万”",
                "老同学突然找我聊天，三句话就问我想不想“做代理”",
                "朋友圈变成了“宝妈创业基地”",
                "有人给我发“躺赚”的链接",
            )
        ),
        g.pick(
            (
                "我已经学会直接分组了",
                "这年头谁还信这个",
                "真要这么好赚你自己怎么不去",
                "默默设置了不看ta",
                "笑死，我连自己都养不活",
            )
        ),
    ]
    text = assemble(g.rng, parts, emoji=lx.EMOJI_LIFE)
    return Draft(text, (), "hard_negative/complaint", None)


@family("normal/recipe_steps")
def recipe_steps(g: Gen) -> Draft:
    """A home recipe with quantities, temperatures and times: numbers that are not prices."""
    grams = str(g.rng.choice((50, 80, 100, 150, 200, 250, 300, 500)))
    degrees = str(g.rng.choice((160, 170, 180, 190, 200, 220)))
    steps = g.some(
        (
            "{n}个鸡蛋打散",
            f"面粉{grams}克",
            f"烤箱预热{degrees}度",
            "烤{nn}分钟",
            "冷藏{n}小时",
            "加{n}勺生抽",
            "水开后煮{n}分钟",
            "白糖{nn}克",
        ),
        2,
        4,
    )
    parts = [
        g.pick(("周末试了{dish}", "记录一下{dish}的做法", "跟着视频做了{dish}", "今天的{dish}成功了")),
        *steps,
        g.pick(("孩子吃了两碗", "下次少放点糖", "比外面买的还好吃", "厨房一片狼藉")),
    ]
    text = assemble(g.rng, parts, emoji=lx.EMOJI_LIFE)
    return Draft(text, (), "normal/food", "lifestyle_photo")
