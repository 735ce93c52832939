"""Recruitment and fake-proof families: the two deceptive labels, with and without keywords.

Recruitment: agent ladders, keyword pitches, stories, audience pitches, soft invites, training,
Q&A, welcomes, brand calls, short posts, income-backed recruiting. Fake proof: chat feedback
(quoting real reviews), repurchases, payments, orders, parcels (with and without keywords), cars,
trips, income, customer results, popularity, bare gratitude under a screenshot.
"""

from __future__ import annotations

from data.generator import lexicon as lx
from data.generator import lexicon_life as ll
from data.generator import lexicon_mlm as lm
from data.generator.layout import assemble
from data.generator.parts import Gen
from data.generator.registry import Draft, family

RC = ("recruitment",)
FP = ("fake_proof",)


def _img(g: Gen, *kinds: str | None) -> str | None:
    return g.rng.choice(kinds)


def _emoji(g: Gen) -> tuple[str, ...]:
    return g.rng.choice((lx.EMOJI_SOFT, lx.EMOJI_SELL, lx.EMOJI_MONEY))


def _tags(g: Gen) -> tuple[str, ...]:
    return ll.HASHTAGS_SELL if g.chance(0.2) else ()


# ---------------------------------------------------------------- recruitment
@family("recruitment/ladder_table")
def ladder_table(g: Gen) -> Draft:
    # Levels top-down (LEVELS is ordered roughly that way); higher levels pay a bigger entry fee
    # for a deeper discount, as in real ladders.
    idx = sorted(g.rng.sample(range(len(lm.LEVELS)), g.rng.randint(2, 6)))
    levels = [lm.LEVELS[i] for i in idx]
    discounts = sorted(g.rng.sample(range(1, 10), len(levels)))
    top = g.rng.choice((9800, 19800, 29800, 49800, 6800, 100000))
    fees = [max(99, int(top / (1.8 + g.rng.random()) ** i) // 100 * 100 - 2) for i in range(len(levels))]
    line_t = g.rng.choice(lm.LADDER_LINES)
    lines = [
        g.f(line_t.replace("{level}", lv).replace("{d}", str(d)).replace("{N}", str(fee)))
        for lv, d, fee in zip(levels, discounts, fees, strict=True)
    ]
    parts = [*lines]
    if g.chance(0.6):
        parts.append(g.pitch())
    parts.append(g.rng.choice((g.cta(), g.pick(lm.STORY_CALLS))))
    text = assemble(
        g.rng, parts, style="lines", title=g.pick(lm.LADDER_HEADS), emoji=_emoji(g), hashtags=_tags(g)
    )
    return Draft(text, RC, "recruitment/ladder", _img(g, "product_photo", "chat_screenshot", None))


@family("recruitment/keyword_pitch")
def keyword_pitch(g: Gen) -> Draft:
    parts = [g.pick(lm.RECRUIT_WORDS), g.pitch()]
    if g.chance(0.5):
        parts.append(g.pick(lm.AUDIENCE_PITCHES))
    if g.chance(0.4):
        parts.append(g.pick(("做的是{p}", "产品是{p}，{claim}", "{brand}品牌", "大品牌有保障")))
    parts.append(g.rng.choice((g.cta(), g.pick(lm.STORY_CALLS))))
    text = assemble(g.rng, parts, emoji=_emoji(g), hashtags=_tags(g), loud=0.4)
    return Draft(text, RC, "recruitment/pitch", _img(g, None, "lifestyle_photo"))


@family("recruitment/mom_story")
def mom_story(g: Gen) -> Draft:
    parts = [g.pick(lm.STORY_OPENINGS), g.pick(lm.STORY_TURNS), g.pick(lm.STORY_ENDS)]
    if g.chance(0.5):
        parts.append(g.pick(lm.STORY_ENDS))
    parts.append(g.pick(lm.STORY_CALLS))
    style = g.rng.choice(("spaced", "lines", "inline", "dense"))
    labels = RC
    img = _img(g, "lifestyle_photo", None, "payment_screenshot")
    if img == "payment_screenshot":
        labels = ("recruitment", "fake_proof")
    text = assemble(g.rng, parts, style=style, emoji=lx.EMOJI_SOFT, loud=0.05)
    return Draft(text, labels, "recruitment/story", img)


@family("recruitment/student_pitch")
def student_pitch(g: Gen) -> Draft:
    g.slots["aud"] = g.rng.choice(("学生党", "大学生", "在校生", "暑假工", "寒假在家的同学"))
    parts = [
        g.pick(("{aud}看过来", "{aud}想赚生活费吗", "{aud}兼职", "课余时间就能做", "招{aud}")),
        g.pick(("不耽误上课", "宿舍就能做", "一部手机", "每天{n}小时", "生活费自己赚", "不用找爸妈要钱")),
        g.pick(lm.PITCH_WORDS),
        g.rng.choice((g.cta(), g.pick(("私我", "留言", "滴滴", "扣1拉群")))),
    ]
    text = assemble(g.rng, parts, emoji=_emoji(g))
    return Draft(text, RC, "recruitment/student", _img(g, None, "chat_screenshot"))


@family("recruitment/office_pitch")
def office_pitch(g: Gen) -> Draft:
    parts = [
        g.pick(
            (
                "工资不够花？",
                "上班族的副业",
                "下班后的时间别浪费",
                "死工资什么时候是个头",
                "打工人的第二份收入",
                "每天通勤{n}小时，不如做点什么",
            )
        ),
        g.pick(("下班发发朋友圈就行", "不影响主业", "利用碎片时间", "手机就能操作", "一个月多赚{k2}")),
    ]
    if g.chance(0.6):
        parts.append(g.pitch())
    parts.append(g.pick(lm.STORY_CALLS + lm.SOFT_INVITES))
    text = assemble(g.rng, parts, emoji=_emoji(g), hashtags=_tags(g))
    return Draft(text, RC, "recruitment/office", _img(g, None, "lifestyle_photo"))


@family("recruitment/soft_invite")
def soft_invite(g: Gen) -> Draft:
    """Recruiting without any keyword: the kind a keyword filter never catches."""
    parts = g.some(lm.SOFT_INVITES, 1, 3)
    if g.chance(0.4):
        parts.insert(0, g.pick(ll.MOODS))
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT, loud=0.05)
    return Draft(text, RC, "recruitment/soft", _img(g, "lifestyle_photo", None))


@family("recruitment/team_training")
def team_training(g: Gen) -> Draft:
    parts = g.some(lm.TEAM_TRAINING, 1, 3)
    if g.chance(0.6):
        parts.append(
            g.pick(
                (
                    "下一期{n}号开始",
                    "想加入的抓紧",
                    "欢迎更多姐妹加入",
                    "有兴趣的私我",
                    "一起成长",
                    "团队还在扩招",
                )
            )
        )
    text = assemble(g.rng, parts, emoji=_emoji(g), hashtags=_tags(g))
    return Draft(text, RC, "recruitment/training", _img(g, "lifestyle_photo", "chat_screenshot"))


@family("recruitment/qa_format")
def qa_format(g: Gen) -> Draft:
    pairs = g.rng.sample(list(lm.QA_PAIRS), g.rng.randint(2, 4))
    qf, af = g.rng.choice((("问：", "答："), ("Q：", "A："), ("❓", "✅"), ("", "→")))
    lines = [f"{qf}{q}\n{af}{a}" for q, a in pairs]
    parts = [*lines, g.rng.choice((g.cta(), g.pick(lm.STORY_CALLS)))]
    text = assemble(
        g.rng,
        parts,
        style="spaced",
        title=g.pick(("做代理常见问题", "新人必看", "你关心的问题", "大家问得最多的")),
    )
    return Draft(text, RC, "recruitment/qa", _img(g, None, "chat_screenshot"))


@family("recruitment/upline_welcome")
def upline_welcome(g: Gen) -> Draft:
    parts = [g.pick(lm.WELCOME)]
    if g.chance(0.6):
        parts.append(
            g.pick(
                ("从顾客变成家人", "又一位宝妈勇敢迈出了第一步", "相信你的选择", "我们一起加油", "未来可期")
            )
        )
    if g.chance(0.5):
        parts.append(g.pick(lm.STORY_CALLS))
    text = assemble(g.rng, parts, emoji=lx.EMOJI_MONEY + lx.EMOJI_SOFT)
    return Draft(text, RC, "recruitment/welcome", _img(g, "chat_screenshot", "lifestyle_photo"))


@family("recruitment/brand_partner")
def brand_partner(g: Gen) -> Draft:
    parts = [
        g.pick(("{brand}是一家专注{cat}的品牌", "品牌成立{n}年", "全国{N}家门店", "工厂直供 品牌授权")),
        g.pitch(),
        g.pick(("加盟费{k2}", "首批拿货{N}元", "保证金可退", "区域保护", "总部统一培训")),
        g.rng.choice((g.cta(), "详询{phone}", "招商热线{phone}")),
    ]
    text = assemble(
        g.rng,
        [g.f(p) for p in parts],
        style=g.rng.choice(("lines", "bullets")),
        title=g.pick(lm.BRAND_PARTNER),
    )
    return Draft(text, RC, "recruitment/brand", _img(g, "product_photo", None))


@family("recruitment/short_recruit")
def short_recruit(g: Gen) -> Draft:
    text = g.pick(
        (
            "招代理 私",
            "招代理",
            "收徒，私",
            "招{n}个人",
            "缺人，私",
            "招合伙人 {pw}",
            "带人，{pw}",
            "{aud}来",
            "诚招代理 {pw}",
            "团队招人",
            "找人一起做，私",
            "还有{n}个名额",
            "副业，私",
        )
    )
    if g.chance(0.3):
        text += g.emoji()
    return Draft(text, RC, "recruitment/short", None)


@family("recruitment/income_recruit")
def income_recruit(g: Gen) -> Draft:
    """Team results used to recruit: recruitment and fake proof at once."""
    parts = [g.pick(lm.INCOME_BRAGS), g.pick(lm.RECRUIT_WORDS), g.pick(lm.FOLLOW_ME)]
    if g.chance(0.5):
        parts.insert(1, g.pick(("团队又有{n}个人破万", "新人第一个月就回本", "带的徒弟都买车了")))
    text = assemble(g.rng, parts, emoji=lx.EMOJI_MONEY, hashtags=_tags(g))
    return Draft(
        text,
        ("recruitment", "fake_proof"),
        "recruitment/income",
        _img(g, "payment_screenshot", "chat_screenshot"),
    )


@family("recruitment/sell_and_recruit")
def sell_and_recruit(g: Gen) -> Draft:
    """Retail price for buyers, agent price for recruits: hard sell and recruitment in one post."""
    parts = [
        g.product_intro(),
        g.pick(("零售{price}", "零售价{price}", "单买{price}", "{price}一{unit}")),
        g.pick(("代理价私聊", "做代理更便宜", "拿货{d}折", "想拿货的私", "可以做代理", "自用省钱 分享赚钱")),
    ]
    if g.chance(0.5):
        parts.append(g.pick(lm.PITCH_WORDS))
    parts.append(g.cta())
    text = assemble(g.rng, parts, emoji=_emoji(g))
    return Draft(
        text, ("hard_sell", "recruitment"), "recruitment/sell_recruit", _img(g, "product_photo", None)
    )


# ---------------------------------------------------------------- fake proof
@family("fake_proof/chat_feedback")
def chat_feedback(g: Gen) -> Draft:
    quote = g.real_sentence()
    parts = [g.pick(lm.FEEDBACK_CAPTIONS)]
    if g.chance(0.8):
        parts.append(g.rng.choice((f"“{quote}”", f"宝宝说：{quote}", f"{quote}", f"「{quote}」")))
    if g.chance(0.4):
        parts.append(g.pick(("{p}真的不用我多说", "这就是{ps}的实力", "又一个{claim}的", "谢谢信任")))
    labels = FP
    if g.chance(0.25):
        parts.append(g.cta())
        labels = ("fake_proof", "hard_sell")
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT)
    return Draft(text, labels, "fake_proof/chat", "chat_screenshot")


@family("fake_proof/repurchase")
def repurchase(g: Gen) -> Draft:
    parts = [g.pick(lm.REPURCHASE)]
    if g.chance(0.5):
        parts.append(g.pick(("{p}就是这么好用", "好东西自己会说话", "用过都回来了", "口碑就是这样来的")))
    if g.chance(0.3):
        parts.append(g.real_sentence())
    text = assemble(g.rng, parts, emoji=_emoji(g))
    return Draft(text, FP, "fake_proof/chat", "chat_screenshot")


@family("fake_proof/payment")
def payment(g: Gen) -> Draft:
    parts = g.some(lm.PAYMENT, 1, 2)
    if g.chance(0.4):
        parts.append(g.pick(lm.GRATITUDE_NOKW))
    labels = FP
    if g.chance(0.3):
        parts.append(g.pick(lm.FOLLOW_ME))
        labels = ("fake_proof", "recruitment")
    text = assemble(g.rng, parts, emoji=lx.EMOJI_MONEY)
    return Draft(text, labels, "fake_proof/payment", "payment_screenshot")


@family("fake_proof/order_list")
def order_list(g: Gen) -> Draft:
    parts = g.some(lm.ORDERS, 1, 2)
    if g.chance(0.4):
        parts.append(g.pick(("{p}又卖断货了", "都是{ps}", "主要是{p}", "老客户带新客户")))
    text = assemble(g.rng, parts, emoji=lx.EMOJI_MONEY + lx.EMOJI_SELL)
    return Draft(text, FP, "fake_proof/orders", "order_list")


@family("fake_proof/parcels")
def parcels(g: Gen) -> Draft:
    parts = g.some(lm.PARCELS, 1, 3)
    labels = FP
    if g.chance(0.3):
        parts.append(g.pick(("没抢到的明天早点", "明天继续发{ps}", "要的抓紧", "还有少量现货 私")))
        labels = ("fake_proof", "hard_sell")
    text = assemble(g.rng, parts, emoji=_emoji(g))
    return Draft(text, labels, "fake_proof/parcels", "parcel_pile")


@family("fake_proof/parcels_nokw")
def parcels_nokw(g: Gen) -> Draft:
    """Parcel-pile bragging with no selling word at all: the picture does the talking."""
    parts = g.some(lm.PARCELS_NOKW, 1, 2)
    if g.chance(0.4):
        parts.append(g.pick(lm.GRATITUDE_NOKW))
    text = assemble(g.rng, parts, emoji=lx.EMOJI_LIFE)
    return Draft(text, FP, "fake_proof/parcels", "parcel_pile")


@family("fake_proof/car")
def car(g: Gen) -> Draft:
    parts = [
        g.pick(lm.CAR_LINES),
        g.pick(("感谢团队", "感谢平台", "感谢{upline}", "感恩遇见", "努力终有回报", "这只是开始")),
    ]
    text = assemble(g.rng, parts, emoji=lx.EMOJI_MONEY + lx.EMOJI_SOFT)
    return Draft(text, FP, "fake_proof/car", "lifestyle_photo")


@family("fake_proof/car_recruit")
def car_recruit(g: Gen) -> Draft:
    parts = [g.pick(lm.CAR_LINES), g.pick(lm.FOLLOW_ME)]
    if g.chance(0.4):
        parts.insert(1, g.pick(("做{ps}{n}年", "全靠这份副业", "一年前我还在挤公交")))
    text = assemble(g.rng, parts, emoji=lx.EMOJI_MONEY)
    return Draft(text, ("fake_proof", "recruitment"), "fake_proof/car", "lifestyle_photo")


@family("fake_proof/trip")
def trip(g: Gen) -> Draft:
    parts = [g.pick(lm.TRIP_LINES)]
    if g.chance(0.6):
        parts.append(
            g.pick(("吃住全包", "一分钱没花", "明年带更多姐妹来", "这就是跟对团队的好处", "下次一起来？"))
        )
    labels = FP
    if g.chance(0.3):
        parts.append(g.pick(lm.STORY_CALLS))
        labels = ("fake_proof", "recruitment")
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT + lx.EMOJI_MONEY)
    return Draft(text, labels, "fake_proof/trip", "lifestyle_photo")


@family("fake_proof/income_brag")
def income_brag(g: Gen) -> Draft:
    parts = [g.pick(lm.INCOME_BRAGS)]
    if g.chance(0.5):
        parts.append(g.pick(lm.GRATITUDE_NOKW))
    labels = FP
    if g.chance(0.5):
        parts.append(g.pick(lm.FOLLOW_ME))
        labels = ("fake_proof", "recruitment")
    text = assemble(g.rng, parts, emoji=lx.EMOJI_MONEY)
    return Draft(text, labels, "fake_proof/income", g.rng.choice(("payment_screenshot", "chat_screenshot")))


@family("fake_proof/customer_result")
def customer_result(g: Gen) -> Draft:
    parts = [g.pick(lm.RESULTS)]
    if g.chance(0.5):
        parts.append(g.real_sentence())
    if g.chance(0.5):
        parts.append(g.pick(("{p}真的有用", "不是我吹", "坚持就有效果", "你也可以")))
    labels = FP
    if g.chance(0.3):
        parts.append(g.cta())
        labels = ("fake_proof", "hard_sell")
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT)
    return Draft(text, labels, "fake_proof/result", g.rng.choice(("chat_screenshot", "product_photo")))


@family("fake_proof/popularity")
def popularity(g: Gen) -> Draft:
    parts = g.some(lm.POPULARITY, 1, 2)
    if g.chance(0.5):
        parts.append(g.pick(("{p}", "我家{ps}", "{brand}{ps}")))
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SELL)
    return Draft(text, FP, "fake_proof/popularity", g.rng.choice(("chat_screenshot", "order_list")))


@family("fake_proof/gratitude_nokw")
def gratitude_nokw(g: Gen) -> Draft:
    """A bare grateful caption over a payment or chat screenshot, no keyword in the text."""
    parts = g.some(lm.GRATITUDE_NOKW, 1, 2)
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT + lx.EMOJI_MONEY, loud=0.05)
    return Draft(
        text, FP, "fake_proof/nokw", g.rng.choice(("payment_screenshot", "chat_screenshot", "order_list"))
    )


@family("fake_proof/short_proof")
def short_proof(g: Gen) -> Draft:
    text = g.pick(
        (
            "又发了{N}单",
            "今日{nn}单",
            "又收款",
            "开单",
            "又爆单",
            "到账",
            "提车",
            "又回购",
            "反馈",
            "又收了{n}单",
            "今日战绩",
            "又是满满的一天",
        )
    )
    if g.chance(0.6):
        text += g.emoji(lx.EMOJI_MONEY)
    return Draft(
        text, FP, "fake_proof/short", g.rng.choice(("payment_screenshot", "parcel_pile", "chat_screenshot"))
    )


@family("recruitment/pyramid_math")
def pyramid_math(g: Gen) -> Draft:
    """The agent's arithmetic: margin per unit, units per day, then the overrides from recruits."""
    parts = [
        g.pick(("给大家算笔账", "算一笔账你就明白了", "很多人问我怎么赚的", "说点实在的")),
        g.pick(("拿货价{d}折，一{unit}赚{nn}", "进价{price}，卖{orig}", "一{unit}利润{nn}块")),
        g.pick(("一天卖{n}{unit}，一个月就是{k}", "一天只要出{n}单", "朋友圈随便发发一天也能出几单")),
        g.pick(
            (
                "再带{n}个代理，她们拿货你还有提成",
                "团队做起来以后，躺着也有收入",
                "下面的人拿货，上面都有返点",
                "带出一个{level}，奖励{k2}",
            )
        ),
        g.pick(lm.STORY_CALLS),
    ]
    text = assemble(
        g.rng, parts, style=g.rng.choice(("lines", "spaced", "inline", "bullets")), emoji=lx.EMOJI_MONEY
    )
    return Draft(text, RC, "recruitment/math", _img(g, None, "chat_screenshot"))


@family("recruitment/project_invite")
def project_invite(g: Gen) -> Draft:
    """A vague 'small project' invite: no product, no keyword, still recruiting."""
    parts = [
        g.pick(
            (
                "最近在做一个小项目",
                "手上有个机会",
                "发现了一个适合普通人的路子",
                "今年在做一件事",
                "身边好几个朋友已经在做了",
            )
        ),
        g.pick(
            ("想找几个靠谱的人一起", "一个人忙不过来", "想带几个有执行力的", "缺几个帮手", "不需要什么基础")
        ),
        g.pick(("有兴趣的留言", "想了解的私我", "合适的话带你", "先聊聊，不合适也没关系", "评论区扣个1")),
    ]
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT + lx.EMOJI_LIFE, loud=0.05)
    return Draft(text, RC, "recruitment/soft", _img(g, None, "lifestyle_photo"))


@family("fake_proof/fake_identity")
def fake_identity(g: Gen) -> Draft:
    """A borrowed identity (nurse, teacher, doctor) vouching for the product: fake proof selling."""
    parts = [
        g.pick(
            (
                "{city}三甲医院护士，业余做{cat}",
                "我是一名有{nn}年经验的皮肤科医生",
                "中学老师，下班分享{ps}",
                "营养师{name}，只推荐自己吃过的",
                "前{brand}公司研发人员",
                "海归硕士，辞职专心做{cat}",
            )
        ),
        g.pick(("不为赚钱，只为分享", "用专业说话", "我自己家人都在用", "放心，我不会坑大家", "良心推荐")),
        g.product_intro(),
    ]
    if g.chance(0.5):
        parts.append(g.cta())
    text = assemble(g.rng, parts, emoji=lx.EMOJI_SOFT)
    return Draft(
        text, ("fake_proof", "hard_sell"), "fake_proof/identity", _img(g, "lifestyle_photo", "product_photo")
    )


@family("fake_proof/night_owl")
def night_owl(g: Gen) -> Draft:
    """Late-night 'busy answering customers' posts over a chat screenshot, no selling word."""
    parts = [
        g.pick(
            (
                "凌晨{n}点还在回消息",
                "一天下来嗓子都哑了",
                "手机一直响，饭都凉了",
                "睡前最后看一眼，又是{nn}条新消息",
                "这就是我的日常",
            )
        ),
        g.pick((*lm.GRATITUDE_NOKW, "累并快乐着", "有你们真好", "忙到飞起")),
    ]
    text = assemble(g.rng, parts, emoji=lx.EMOJI_LIFE)
    return Draft(text, FP, "fake_proof/nokw", "chat_screenshot")


@family("recruitment/long_story")
def long_story(g: Gen) -> Draft:
    """A long recruiting testimony: before, the turn, the ladder, the results, the invitation."""
    paras = [
        g.pick(lm.STORY_OPENINGS)
        + "，"
        + g.pick(("每天都很迷茫", "看不到希望", "连孩子的学费都要借", "心里特别不甘心")),
        g.pick(lm.STORY_TURNS)
        + "，"
        + g.pick(("从{level}做起", "第一个月就回本了", "一开始也不好意思发朋友圈")),
        g.pick(lm.STORY_ENDS) + "，" + g.pick(lm.STORY_ENDS),
        g.pitch(),
        g.pick(lm.AUDIENCE_PITCHES),
        g.pick(lm.SOFT_INVITES) + g.rng.choice(("，", "。", "！")) + g.pick(lm.STORY_CALLS),
    ]
    text = assemble(g.rng, paras, style=g.rng.choice(("spaced", "lines")), emoji=lx.EMOJI_SOFT, loud=0.1)
    return Draft(text, RC, "recruitment/story", _img(g, "lifestyle_photo", None))
