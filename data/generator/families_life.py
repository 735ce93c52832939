"""Hard-negative and normal families: posts that are not micro-business, many of which look like it.

Hard negatives borrow the sellers' surface on purpose (product names, prices, 微信 and phone numbers,
cars, parcels, screenshots, job openings) in posts that sell nothing or sell one's own thing once.
Normal posts cover everyday topics and go through the same layouts and emoji as seller posts. Both
use real sentences from the build's corpora, so real text is never a label shortcut.
"""

from __future__ import annotations

from collections.abc import Sequence

from data.generator import lexicon as lx
from data.generator import lexicon_life as ll
from data.generator.catalogue import category, draw_product
from data.generator.layout import assemble
from data.generator.parts import Gen
from data.generator.registry import Draft, family

NONE: tuple[str, ...] = ()


def _life(g: Gen, parts: list[str], *, tags: float = 0.15, emoji: Sequence[str] = lx.EMOJI_LIFE) -> str:
    if g.chance(0.5):
        parts.append(g.pick(ll.LIFE_TAILS))
    return assemble(g.rng, parts, emoji=emoji, hashtags=ll.HASHTAGS_LIFE if g.chance(tags) else (), loud=0.1)


# ---------------------------------------------------------------- hard negatives
@family("hard_negative/own_review")
def own_review(g: Gen) -> Draft:
    parts = [g.pick(ll.OWN_REVIEW_OPEN), g.real_sentence() if g.chance(0.6) else g.claims(1, 1)[0]]
    if g.chance(0.7):
        parts.append(g.pick(ll.OWN_REVIEW_VERDICT))
    if g.chance(0.3):
        parts.append(
            g.pick(("{price}块买的", "花了{price}", "活动价{price}入的", "原价{orig}，等了好久才打折"))
        )
    text = _life(g, parts, emoji=lx.EMOJI_SOFT + lx.EMOJI_LIFE)
    return Draft(
        text, NONE, "hard_negative/own_review", g.rng.choice(("product_photo", "lifestyle_photo", None))
    )


@family("hard_negative/ask_recommend")
def ask_recommend(g: Gen) -> Draft:
    parts = [g.pick(ll.ASK_RECOMMEND)]
    if g.chance(0.4):
        parts.append(
            g.pick(
                (
                    "在线等，挺急的",
                    "谢谢大家",
                    "评论区告诉我",
                    "不要微商的",
                    "最好是实体店能买到的",
                    "私我也行",
                )
            )
        )
    return Draft(_life(g, parts), NONE, "hard_negative/ask", None)


@family("hard_negative/hr_job")
def hr_job(g: Gen) -> Draft:
    parts = [g.pick(ll.HR_JOBS)]
    if g.chance(0.6):
        parts.append(
            g.pick(
                (
                    "薪资{k2}-{k}",
                    "要求：本科及以上",
                    "工作地点：{city}",
                    "有意者发简历到邮箱 hr@company.cn",
                    "简历请发我微信{wx}",
                    "公司氛围很好",
                    "带薪年假",
                    "欢迎转发给身边的朋友",
                )
            )
        )
    text = assemble(
        g.rng,
        parts,
        style=g.rng.choice(("lines", "bullets", "inline")),
        title=g.pick(("招聘", "内推", "急招")) if g.chance(0.4) else None,
        emoji=lx.EMOJI_LIFE,
    )
    return Draft(text, NONE, "hard_negative/job", None)


@family("hard_negative/secondhand_once")
def secondhand_once(g: Gen) -> Draft:
    parts = [g.pick(ll.SECONDHAND)]
    if g.chance(0.5):
        parts.append(
            g.pick(
                (
                    "没什么毛病",
                    "有点划痕",
                    "用了不到一年",
                    "原价{price}买的",
                    "有意私聊",
                    "先到先得，只有一个",
                )
            )
        )
    if g.chance(0.3):
        parts.append(g.pick(("电话{phone}", "微信联系", "同小区的优先")))
    return Draft(_life(g, parts), NONE, "hard_negative/secondhand", "lifestyle_photo")


@family("hard_negative/raise_pride")
def raise_pride(g: Gen) -> Draft:
    parts = [g.pick(ll.PRIDE_RAISE)]
    if g.chance(0.5):
        parts.append(g.pick(("谢谢领导", "继续努力", "请大家吃饭", "今年的辛苦没白费", "给爸妈包个红包")))
    img = g.rng.choice(("payment_screenshot", "lifestyle_photo", None))
    return Draft(_life(g, parts), NONE, "hard_negative/pride", img)


@family("hard_negative/new_car_pride")
def new_car_pride(g: Gen) -> Draft:
    parts = [g.pick(ll.PRIDE_CAR)]
    if g.chance(0.5):
        parts.append(
            g.pick(("贷款三年，慢慢还", "老公说开车要慢", "周末带爸妈兜风", "出入平安", "新手上路请多关照"))
        )
    return Draft(_life(g, parts), NONE, "hard_negative/pride", "lifestyle_photo")


@family("hard_negative/trip_pride")
def trip_pride(g: Gen) -> Draft:
    parts = [g.pick(ll.PRIDE_TRIP)]
    if g.chance(0.6):
        parts.append(g.pick(ll.TRAVEL))
    return Draft(_life(g, parts), NONE, "hard_negative/pride", "lifestyle_photo")


@family("hard_negative/spam_complaint")
def spam_complaint(g: Gen) -> Draft:
    parts = [g.pick(ll.SPAM_COMPLAINTS)]
    if g.chance(0.5):
        parts.append(
            g.pick(
                (
                    "什么零门槛月入过万，骗人的",
                    "一看到“宝妈创业”就想屏蔽",
                    "你们有没有同感",
                    "真的受不了",
                    "又是面膜又是减肥茶",
                    "我是来交朋友的不是来买东西的",
                )
            )
        )
    return Draft(_life(g, parts), NONE, "hard_negative/complaint", None)


@family("hard_negative/pyramid_news")
def pyramid_news(g: Gen) -> Draft:
    parts = [g.pick(ll.PYRAMID_NEWS)]
    if g.chance(0.5):
        parts.append(
            g.pick(
                (
                    "大家转给家里老人看看",
                    "身边就有被骗的",
                    "层层代理，最底下的人最惨",
                    "所谓的收款截图都是假的",
                    "警惕",
                    "别信什么躺赚",
                )
            )
        )
    if g.chance(0.3):
        parts.append(g.real_sentence())
    return Draft(_life(g, parts, tags=0.05), NONE, "hard_negative/news", None)


@family("hard_negative/restaurant_rec")
def restaurant_rec(g: Gen) -> Draft:
    parts = [g.pick(ll.RESTAURANT)]
    if g.chance(0.5):
        parts.append(g.pick(("地址在{city}老城区", "记得提前订位", "老板人很好", "下次还来", "强烈推荐")))
    return Draft(_life(g, parts), NONE, "hard_negative/recommend", "lifestyle_photo")


@family("hard_negative/friend_shop_opening")
def friend_shop_opening(g: Gen) -> Draft:
    parts = [g.pick(ll.FRIEND_SHOP)]
    if g.chance(0.4):
        parts.append(g.pick(("在{city}路口", "有空的朋友去坐坐", "开业大吉", "祝红红火火")))
    return Draft(_life(g, parts), NONE, "hard_negative/friend_shop", "lifestyle_photo")


@family("hard_negative/shopping_haul")
def shopping_haul(g: Gen) -> Draft:
    parts = [g.pick(ll.HAUL)]
    if g.chance(0.5):
        parts.append(g.pick(("吃土了", "下个月再也不买了", "快乐是真的快乐", "钱包空了")))
    return Draft(
        _life(g, parts), NONE, "hard_negative/haul", g.rng.choice(("parcel_pile", "order_list", None))
    )


@family("hard_negative/scam_warning")
def scam_warning(g: Gen) -> Draft:
    parts = [g.pick(ll.SCAM_WARNINGS)]
    if g.chance(0.5):
        parts.append(g.pick(("大家互相提醒", "转给家人", "有事打我电话确认", "不要点陌生链接")))
    return Draft(
        _life(g, parts, tags=0.0), NONE, "hard_negative/warning", g.rng.choice(("chat_screenshot", None))
    )


@family("hard_negative/contact_change")
def contact_change(g: Gen) -> Draft:
    parts = [g.pick(ll.CONTACT_CHANGE)]
    if g.chance(0.4):
        parts.append(g.pick(("谢谢大家", "麻烦互相转告", "有急事打电话")))
    return Draft(_life(g, parts, tags=0.0), NONE, "hard_negative/contact", None)


@family("hard_negative/family_produce")
def family_produce(g: Gen) -> Draft:
    g.set_product(draw_product(g.rng, category("水果农产品")))
    parts = [g.pick(ll.FAMILY_PRODUCE)]
    if g.chance(0.5):
        parts.append(g.pick(ll.FAMILY + ll.MOODS))
    return Draft(_life(g, parts), NONE, "hard_negative/family_produce", "lifestyle_photo")


@family("hard_negative/gift_received")
def gift_received(g: Gen) -> Draft:
    parts = [g.pick(ll.GIFTS)]
    if g.chance(0.4):
        parts.append(g.real_sentence())
    return Draft(
        _life(g, parts, emoji=lx.EMOJI_SOFT),
        NONE,
        "hard_negative/gift",
        g.rng.choice(("product_photo", None)),
    )


@family("hard_negative/work_pride")
def work_pride(g: Gen) -> Draft:
    parts = [g.pick(ll.WORK_PRIDE)]
    if g.chance(0.5):
        parts.append(g.pick(ll.WORK))
    return Draft(_life(g, parts), NONE, "hard_negative/pride", g.rng.choice(("lifestyle_photo", None)))


@family("hard_negative/funny_chat")
def funny_chat(g: Gen) -> Draft:
    parts = [g.pick(ll.FUNNY_CHATS)]
    if g.chance(0.6):
        parts.append(g.real_sentence())
    return Draft(_life(g, parts), NONE, "hard_negative/chat", "chat_screenshot")


@family("hard_negative/study_course")
def study_course(g: Gen) -> Draft:
    parts = [g.pick(ll.STUDY_COURSE)]
    if g.chance(0.5):
        parts.append(g.pick(ll.STUDY + ll.MOODS))
    return Draft(_life(g, parts), NONE, "hard_negative/study", None)


@family("hard_negative/deal_share")
def deal_share(g: Gen) -> Draft:
    parts = [g.pick(ll.SALE_SHARE)]
    if g.chance(0.5):
        parts.append(g.pick(("不是广告哈", "囤了一堆", "早去早买", "跟我妈一起去的")))
    return Draft(_life(g, parts), NONE, "hard_negative/deal_share", None)


@family("hard_negative/parcel_work")
def parcel_work(g: Gen) -> Draft:
    """Parcels, orders and packing in a real job (warehouse, courier, one's own shop on a big day)."""
    parts = [
        g.pick(
            (
                "仓库双十一加班，今天打包了{N}单",
                "快递站兼职的第{n}天，腰都直不起来了",
                "今天在店里帮忙打包",
                "我们仓库今天出货{N}件，全员加班",
                "老公在物流公司，这几天天天凌晨回家",
            )
        )
    ]
    if g.chance(0.5):
        parts.append(g.pick(("辛苦所有快递员", "明天还要早起", "累瘫", "向一线工人致敬")))
    return Draft(_life(g, parts), NONE, "hard_negative/parcels", "parcel_pile")


# ---------------------------------------------------------------- normal
def _topic(
    fid: str, bank: Sequence[str], img: tuple[str | None, ...], real_p: float = 0.2, more: Sequence[str] = ()
) -> None:
    """Register a normal family: one to three lines of a topic, sometimes a real sentence or a mood."""

    def recipe(g: Gen) -> Draft:
        parts = g.some(bank, 1, 2)
        if more and g.chance(0.5):
            parts.append(g.pick(more))
        if g.chance(real_p):
            parts.insert(g.rng.randint(0, len(parts)), g.real_sentence())
        return Draft(_life(g, parts), NONE, fid, g.rng.choice(img))

    recipe.__name__ = fid.replace("/", "_")
    family(fid)(recipe)


_topic("normal/daily_life", ll.DAILY, ("lifestyle_photo", None), more=ll.MOODS)
_topic("normal/food", ll.FOOD, ("lifestyle_photo", "lifestyle_photo", None), more=ll.DISHES)
_topic("normal/travel", ll.TRAVEL, ("lifestyle_photo",), more=ll.MOODS)
_topic("normal/work", ll.WORK, ("lifestyle_photo", None), more=ll.MOODS)
_topic("normal/pets", ll.PETS, ("lifestyle_photo",))
_topic("normal/study", ll.STUDY, (None, "lifestyle_photo"), more=ll.MOODS)
_topic("normal/weather", ll.WEATHER, (None, "lifestyle_photo"))
_topic("normal/jokes", ll.JOKES, (None,), real_p=0.1)
_topic("normal/holiday", ll.HOLIDAY, ("lifestyle_photo", None), more=ll.FAMILY)
_topic("normal/family_kids", ll.FAMILY, ("lifestyle_photo", None), more=ll.MOODS)
_topic("normal/fitness", ll.FITNESS, ("lifestyle_photo", None), more=ll.MOODS)
_topic("normal/culture", ll.CULTURE, (None, "lifestyle_photo"), real_p=0.4)
_topic("normal/mood", ll.MOODS, (None, "lifestyle_photo"), real_p=0.4)


@family("normal/quote_share")
def quote_share(g: Gen) -> Draft:
    lead = g.pick(("", "", "今日分享：", "喜欢这句话：", "摘抄", "读到一句话", "共勉"))
    parts = [lead, g.real_sentence()]
    if g.chance(0.3):
        parts.append(g.real_sentence())
    return Draft(
        _life(g, parts, emoji=lx.EMOJI_SOFT), NONE, "normal/quote", g.rng.choice(("lifestyle_photo", None))
    )


@family("normal/news_comment")
def news_comment(g: Gen) -> Draft:
    parts = [
        g.real_sentence(),
        g.pick(("转发", "关注一下", "支持", "了解一下", "说得好", "感慨", "厉害了", "值得一看")),
    ]
    g.rng.shuffle(parts)
    return Draft(_life(g, parts, tags=0.0), NONE, "normal/news", None)


@family("normal/birthday")
def birthday(g: Gen) -> Draft:
    parts = [
        g.pick(
            (
                "{name}生日快乐！",
                "今天是我{nn}岁生日",
                "祝宝贝{n}岁生日快乐",
                "妈妈生日快乐",
                "谢谢大家的祝福",
            )
        )
    ]
    if g.chance(0.5):
        parts.append(g.pick(ll.MOODS + ll.FOOD))
    return Draft(
        _life(g, parts, emoji=lx.EMOJI_LIFE + lx.EMOJI_SOFT), NONE, "normal/birthday", "lifestyle_photo"
    )


@family("normal/hometown")
def hometown(g: Gen) -> Draft:
    parts = [g.pick(("回到{city}老家", "家乡的变化好大", "小时候常去的地方", "过年回家的路上", "老屋还在"))]
    if g.chance(0.5):
        parts.append(g.pick(ll.FAMILY + ll.FOOD))
    if g.chance(0.3):
        parts.append(g.real_sentence())
    return Draft(_life(g, parts), NONE, "normal/hometown", "lifestyle_photo")


@family("normal/cooking")
def cooking(g: Gen) -> Draft:
    steps = g.rng.sample(
        [
            "先焯水",
            "加两勺生抽",
            "小火炖四十分钟",
            "放葱姜蒜",
            "大火收汁",
            "撒点芝麻",
            "加一勺糖",
            "提前腌半小时",
            "用空气炸锅一百八十度十五分钟",
            "最后淋上热油",
        ],
        g.rng.randint(2, 4),
    )
    parts = [g.pick(("今天学做{dish}", "记录一下{dish}的做法", "第一次做{dish}", "周末在家做{dish}")), *steps]
    text = assemble(g.rng, parts, style=g.rng.choice(("bullets", "lines", "inline")), emoji=lx.EMOJI_LIFE)
    return Draft(text, NONE, "normal/cooking", "lifestyle_photo")


@family("normal/mixed_chat")
def mixed_chat(g: Gen) -> Draft:
    """A chat-line style post built around real chat or review sentences."""
    parts = [g.real_sentence()]
    if g.chance(0.5):
        parts.append(g.pick(ll.LIFE_TAILS + ll.MOODS))
    return Draft(_life(g, parts), NONE, "normal/chat", None)


@family("hard_negative/ask_about_mlm")
def ask_about_mlm(g: Gen) -> Draft:
    """Someone asking whether an agent offer is real: recruitment words, no recruiting."""
    parts = [
        g.pick(
            (
                "我朋友拉我做{cat}代理，说零门槛月入过万，靠谱吗？",
                "同学让我交{k2}做{level}，说三个月回本，你们怎么看",
                "有人做过{ps}代理吗？真能赚钱吗",
                "我妈想加入一个卖{ps}的团队，我该怎么劝",
                "被拉进一个“宝妈创业群”，天天晒收款，是真的吗",
            )
        ),
        g.pick(("总觉得不对劲", "求懂的朋友说说", "怕被骗", "在线等", "")),
    ]
    return Draft(_life(g, parts, tags=0.0), NONE, "hard_negative/ask", None)


@family("hard_negative/quit_mlm")
def quit_mlm(g: Gen) -> Draft:
    """An ex-agent's story: the ladder, the stock, the loss; nothing for sale."""
    parts = [
        g.pick(
            (
                "做了半年微商，囤了一屋子{p}，终于退出了",
                "当年交了{k2}做代理，货到现在还没卖完",
                "以前做过{cat}代理，上面的人只管让你拿货",
                "退出团队一年了，说说真实情况",
            )
        ),
        g.pick(
            (
                "所谓的月入过万都是上面的人",
                "赚的钱全压在货里了",
                "朋友都被我发广告发得拉黑了",
                "别再相信什么躺赚",
                "剩下的货自己用吧",
            )
        ),
    ]
    if g.chance(0.4):
        parts.append(g.pick(ll.MOODS))
    return Draft(
        _life(g, parts, tags=0.0), NONE, "hard_negative/ex_seller", g.rng.choice(("parcel_pile", None))
    )


_topic(
    "normal/commute",
    (
        "早高峰地铁挤成照片",
        "堵车堵了一个小时",
        "今天骑车上班，风好大",
        "公交上遇到老同学",
        "下班路上买了个烤红薯",
        "打车排队{nn}人",
        "地铁上看完了一本书",
    ),
    (None, "lifestyle_photo"),
    more=ll.MOODS,
)
_topic(
    "normal/sports_watch",
    (
        "昨晚的球赛太精彩了",
        "国足又输了",
        "熬夜看比赛，困死",
        "和朋友一起看欧冠",
        "女排加油！",
        "今天的马拉松跑完了，破了个人纪录",
    ),
    (None, "lifestyle_photo"),
    more=ll.JOKES,
)


@family("hard_negative/long_review")
def long_review(g: Gen) -> Draft:
    """A long honest review of something bought, with prices and verdicts, selling nothing."""
    paras = [
        g.pick(ll.OWN_REVIEW_OPEN)
        + "，"
        + g.pick(("用了差不多一个月", "来交作业了", "说点真实感受", "不吹不黑")),
        g.pick(("优点：", "好的地方：", "先说优点，")) + g.claims(1, 1)[0] + "，" + g.real_sentence(),
        g.pick(("缺点：", "不好的地方：", "再说缺点，"))
        + g.pick(("价格偏贵", "味道有点重", "包装太浪费", "客服回复慢", "效果因人而异", "{price}这个价不值")),
        g.pick(ll.OWN_REVIEW_VERDICT),
    ]
    text = assemble(g.rng, paras, style=g.rng.choice(("spaced", "lines", "bullets")), emoji=lx.EMOJI_LIFE)
    return Draft(text, NONE, "hard_negative/own_review", g.rng.choice(("product_photo", None)))
