"""Families that widen the generator's language: long story posts, keyword-free sells and proofs, multi-label
posts, and hard negatives that use seller words innocently.

Real feeds carry 200-300+ character diary-style posts for every label, sells disguised as life posts,
recruiting told as a personal story, proof captions with no 收款/反馈 keyword, and ordinary people who
write 回购, salaries and prices for honest reasons. Each recipe here strings stages (opening, middle,
turn, ending) drawn from its own banks, so the same machinery writes spam and non-spam alike.
"""

from __future__ import annotations

from collections.abc import Sequence

from data.generator import lexicon as lx
from data.generator import lexicon_life as ll
from data.generator.catalogue import category, draw_product
from data.generator.layout import assemble
from data.generator.parts import Gen
from data.generator.registry import Draft, family


def _story(g: Gen, opening: Sequence[str], middle: Sequence[str], ending: Sequence[str]) -> list[str]:
    """Opening, three to six distinct middle sentences, an ending: the arc of a 100-300 char diary post."""
    return [*g.some(opening, 1, 2), *g.some(middle, 3, 6), *g.some(ending, 1, 2)]


def _prose(g: Gen, parts: list[str], emoji: Sequence[str] = lx.EMOJI_SOFT) -> str:
    """Story posts are mostly prose: run-on with full stops, or a paragraph per line."""
    if g.chance(0.55):
        sep = g.rng.choice(("。", "，", "。", " "))
        text = sep.join(p.rstrip("。") for p in parts)
        return text + ("。" if g.chance(0.5) else g.emoji(emoji, 1, 2))
    return assemble(g.rng, parts, emoji=emoji, style=g.rng.choice(("lines", "spaced", "inline")), loud=0.05)


# ---------------------------------------------------------------- shared life openings
LIFE_OPEN = (
    "今年是我{role}的第{n}年",
    "这两年过得挺难的",
    "{nn}岁生日那天一个人在出租屋里吃泡面",
    "以前在{city}上班，每天通勤两个多小时",
    "生完老二以后，我整个人都是灰的",
    "说件小事，最近总想起刚来{city}的那年",
    "去年冬天，我爸住院了一个多月",
    "前几天整理旧手机，翻到了几年前的照片",
    "早上五点半醒了就再也睡不着",
    "以前我是那种特别不爱说话的人",
)

# ---------------------------------------------------------------- hard sell
SOFT_MID = (
    "那段时间{problem}，整个人状态都很差",
    "镜子里的自己连我都不想看",
    "试过好多办法，钱花了不少，都没坚持下来",
    "后来一个老同学给我寄了{ps}，说让我先试试",
    "一开始我也是半信半疑的",
    "用了大概{n}周，身边的人先发现了变化",
    "老公说我最近气色好了，我就笑笑没说话",
    "现在每天早上起来第一件事就是这个，已经成了习惯",
)
SOFT_END = (
    "有同样困扰的可以来问问我",
    "想试的姐妹我这里还有几{unit}",
    "需要的悄悄找我",
    "不多说了，懂的人自然懂",
    "好东西想分享给身边的人",
    "想要的评论区扣个1，我一个个回",
    "价格不贵，问我就行",
)


@family("hard_sell/soft_story")
def soft_story(g: Gen) -> Draft:
    parts = _story(g, LIFE_OPEN, SOFT_MID, SOFT_END)
    if g.chance(0.3):
        parts.insert(-1, g.claims(1, 1)[0])
    return Draft(
        _prose(g, parts), ("hard_sell",), "hard_sell/soft_story", g.rng.choice(("lifestyle_photo", None))
    )


BARE = (
    "{ps}到了",
    "{ps} 到货",
    "{p}还剩{n}{unit}",
    "新一批{ps}已到",
    "{ps}上新",
    "{cat}补货完毕",
    "{p} 现货",
    "{ps}有了",
    "今天的{ps}",
    "{ps}，老地方取",
    "{p} 可预订",
    "{ps}回来了",
)


@family("hard_sell/bare_arrival")
def bare_arrival(g: Gen) -> Draft:
    text = g.pick(BARE)
    if g.chance(0.4):
        text += g.rng.choice((" ", "，", "～")) + g.pick(
            ("要的说", "老客户优先", "私", "先到先得", "懂的来", "速度")
        )
    if g.chance(0.3):
        text += g.emoji(lx.EMOJI_SELL, 1, 2)
    return Draft(
        text, ("hard_sell",), "hard_sell/bare", g.rng.choice(("product_photo", "product_photo", None))
    )


SERVICE = (
    "本周还有{n}个空档，想约的早点说",
    "店里新来的老师手艺很好",
    "{p}做一次管一个月",
    "地址在{city}{shop}旁边，停车方便",
    "工作日下午来人少，不用等",
    "老顾客带新朋友来，两个人都有小礼物",
    "{p}体验价{price}，第二次恢复原价",
    "做完拍照对比，效果自己看",
    "营业到晚上九点，下班也能来",
)


@family("hard_sell/service_booking")
def service_booking(g: Gen) -> Draft:
    g.set_product(draw_product(g.rng, category("美业服务")))
    parts = [
        g.pick(("{p}可以预约了", "最近好多人问{p}", "{p}档期开放", "这个月的{p}排期")),
        *g.some(SERVICE, 2, 4),
    ]
    if g.chance(0.5):
        parts.append(g.pick(("预约私信", "提前一天约哦", "电话{phone}", "约的扣1")))
    return Draft(
        assemble(g.rng, parts, emoji=lx.EMOJI_SOFT), ("hard_sell",), "hard_sell/service", "product_photo"
    )


SEASON = (
    "{holiday}快到了，送{who}的礼物准备好了吗",
    "今年{holiday}的{ps}开始接单了",
    "还是去年那家老作坊做的，味道没变",
    "单位团购可以开票，量大另谈",
    "可以帮忙写贺卡直接寄到{who}家",
    "{n}号之前下单{holiday}前一定到",
    "去年没抢到的朋友今年早点说",
    "包装大气，拿得出手",
)


@family("hard_sell/season_gift")
def season_gift(g: Gen) -> Draft:
    g.set_product(draw_product(g.rng, category(g.rng.choice(("节礼粮油", "生鲜水产", "茶叶", "白酒")))))
    parts = g.some(SEASON, 2, 4)
    if g.chance(0.5):
        parts.append(g.price())
    if g.chance(0.6):
        parts.append(g.cta())
    return Draft(
        assemble(g.rng, parts, emoji=lx.EMOJI_SOFT), ("hard_sell",), "hard_sell/season", "product_photo"
    )


# ---------------------------------------------------------------- recruitment
RECRUIT_MID = (
    "那时候每个月等着发工资，交完房租剩不了多少",
    "想给孩子报个兴趣班都要算来算去",
    "后来跟着{upline}学，用下班后的时间做",
    "没想到第一个月就赚回了一个月的菜钱",
    "现在不用看谁的脸色，接孩子放学也不用请假",
    "我没有什么背景，也不会说话，就是肯坚持",
    "这份事业给我的不只是钱，还有底气",
    "身边好几个姐妹都是看着我变好才来的",
)
RECRUIT_END = (
    "今年想再带{n}个愿意改变的人",
    "如果你也不甘心，可以来找我聊聊",
    "不需要你有经验，我一步步带",
    "名额不多，只带真心想做的",
    "想了解的留言，我私信发你",
    "你缺的不是能力，是一个开始",
)


@family("recruitment/life_story")
def recruit_life_story(g: Gen) -> Draft:
    parts = _story(g, LIFE_OPEN, RECRUIT_MID, RECRUIT_END)
    return Draft(
        _prose(g, parts), ("recruitment",), "recruitment/story", g.rng.choice(("lifestyle_photo", None))
    )


EVENT = (
    "本周{n}晚七点，{city}{shop}二楼有个小型交流会",
    "这周末在{city}办一场线下沙龙",
    "下周在酒店会议室有个创业分享，{nn}个位置",
    "聊聊普通人怎么用一部手机多一份收入",
    "现场有{level}讲她从零起步的经历",
    "不收费，来了坐坐听听也行",
    "带上一个想改变的朋友一起来",
    "报名私我，名额满了就不加了",
    "来的朋友都有伴手礼",
)


@family("recruitment/meetup")
def meetup(g: Gen) -> Draft:
    parts = g.some(EVENT, 3, 5)
    return Draft(
        assemble(
            g.rng,
            parts,
            emoji=lx.EMOJI_SOFT,
            title=g.pick(("分享会", "沙龙预告", "线下见")) if g.chance(0.3) else None,
        ),
        ("recruitment",),
        "recruitment/meetup",
        g.rng.choice(("lifestyle_photo", None)),
    )


SEEK = (
    "我不推产品，只找合伙人",
    "找几个不甘心的人",
    "只要你肯学，剩下的交给我",
    "不看学历不看年龄，只看态度",
    "一起做事的人，比做什么事更重要",
    "想多一份收入的，来聊",
    "缺几个伙伴，有想法的来",
    "下班后的两小时，可以换一个未来",
    "别再只靠一份工资了",
    "今年的最后几个位置",
)


@family("recruitment/seek_people")
def seek_people(g: Gen) -> Draft:
    parts = g.some(SEEK, 1, 3)
    if g.chance(0.4):
        parts.append(g.pick(("私我", "滴滴我", "留言", "找我", "👇")))
    return Draft(assemble(g.rng, parts, emoji=lx.EMOJI_SOFT), ("recruitment",), "recruitment/seek", None)


# ---------------------------------------------------------------- fake proof (keyword-free captions)
BUSY = (
    "早上一睁眼手机里{nn}条未读",
    "今天从早忙到现在，午饭是下午三点吃的",
    "打包打到手指发麻，胶带都用完了{n}卷",
    "快递小哥说我们家的件比整个小区加起来还多",
    "一边回消息一边吃饭，饭都凉了",
    "晚上{h}点了还在对单子",
    "被需要的感觉真好",
    "累，但是心里是满的",
    "家里客厅已经堆不下了",
    "今天又是被催着发货的一天",
)


@family("fake_proof/busy_day")
def busy_day(g: Gen) -> Draft:
    parts = g.some(BUSY, 2, 5)
    if g.chance(0.3):
        parts.insert(0, g.pick(LIFE_OPEN))
    return Draft(
        _prose(g, parts),
        ("fake_proof",),
        "fake_proof/busy",
        g.rng.choice(("parcel_pile", "order_list", None)),
    )


QUOTES = (
    "“上次那个{ps}还有吗？再来{n}{unit}”",
    "“我妈用了说好，让我再给她买”",
    "“同事问我是不是换了什么，我说了你家”",
    "“这次怎么这么快就到了”",
    "“用完了，老规矩”",
    "“我闺蜜也要，地址发你”",
    "“谢谢你，真的跟以前不一样了”",
)
QUOTE_TAIL = (
    "这已经是她第{n}次了",
    "每次看到这样的消息都觉得值",
    "不多说，大家自己看",
    "截了一部分，还有很多发不完",
    "老客户的信任是最好的口碑",
    "半夜收到的消息，开心到睡不着",
)


@family("fake_proof/quoted_customer")
def quoted_customer(g: Gen) -> Draft:
    parts = [*g.some(QUOTES, 1, 3), *g.some(QUOTE_TAIL, 1, 2)]
    if g.chance(0.25):
        parts.insert(1, g.real_sentence())
    return Draft(_prose(g, parts), ("fake_proof",), "fake_proof/chat", "chat_screenshot")


FLEX = (
    "这个月：{k}",
    "上周流水{k}，一部手机",
    "第{n}台车，不是终点",
    "公司奖励的{place}，今年第{n}次了",
    "又被奖励出去玩了，{place}见",
    "给爸妈在老家翻新了房子",
    "{nn}岁，全款",
    "从负债到现在，用了{n}年",
    "感恩平台，感恩遇见",
    "数字不会骗人",
    "跟对人，做对事",
)


@family("fake_proof/quiet_flex")
def quiet_flex(g: Gen) -> Draft:
    parts = g.some(FLEX, 1, 3)
    return Draft(
        assemble(g.rng, parts, emoji=lx.EMOJI_MONEY if g.chance(0.5) else lx.EMOJI_SOFT),
        ("fake_proof",),
        "fake_proof/flex",
        g.rng.choice(("payment_screenshot", "lifestyle_photo", None)),
    )


# ---------------------------------------------------------------- multi-label
SOLD = (
    "上一批{ps}{n}天就清空了",
    "{N}{unit}，一晚上走完",
    "这是这个月第{n}次补货",
    "好多老客户一买就是好几{unit}",
    "没抢到的宝宝别催了",
    "工厂那边在加班赶货",
)
NEXT = (
    "第二批{n}号到，先付款先发",
    "今天又调来{N}{unit}，要的抓紧",
    "预定开始，按顺序发",
    "这次再没有就要等下个月了",
    "老价格{price}，下批要涨",
)


@family("fake_proof/sold_out_next")
def sold_out_next(g: Gen) -> Draft:
    parts = [*g.some(SOLD, 1, 3), *g.some(NEXT, 1, 2)]
    return Draft(
        _prose(g, parts, lx.EMOJI_SELL),
        ("fake_proof", "hard_sell"),
        "fake_proof/sold_out",
        g.rng.choice(("order_list", "parcel_pile", "product_photo")),
    )


DOWN = (
    "{name}跟我做了{n}个月",
    "她之前也是{aud}，什么都不懂",
    "今天她提车了",
    "这个月她拿到了{k2}",
    "一个月从零做到{level}",
    "她说这是当妈以后第一次自己挣的钱",
    "团队这个月又多了{nn}个新伙伴",
    "我们团队第{n}台车",
)
DOWN_END = (
    "下一个会是你吗",
    "她可以，你也可以",
    "想跟我们一起的留言",
    "还有{n}个带教名额",
    "不信的可以来看截图",
)


@family("fake_proof/downline_win")
def downline_win(g: Gen) -> Draft:
    parts = [*g.some(DOWN, 2, 4), *g.some(DOWN_END, 1, 2)]
    return Draft(
        _prose(g, parts),
        ("fake_proof", "recruitment"),
        "fake_proof/downline",
        g.rng.choice(("payment_screenshot", "lifestyle_photo", "chat_screenshot")),
    )


# ---------------------------------------------------------------- hard negatives
NEG_STORY_MID = (
    "后来换了份工作，工资不算高但是踏实",
    "每天下班回家能陪孩子吃顿饭",
    "周末跟老公去菜市场，买点菜回家慢慢做",
    "也试过被朋友拉去做什么副业，没两个月就退了",
    "慢慢学会了不跟别人比",
    "去医院陪护那段时间，才知道身体最重要",
    "现在每天跑三公里，睡得也好了",
    "存款不多，但够用",
)
NEG_STORY_END = (
    "记录一下，给以后的自己看",
    "愿大家都平平安安",
    "日子是自己的，慢慢来",
    "谢谢一路上帮过我的人",
    "明天继续加油",
)


@family("normal/long_diary")
def long_diary(g: Gen) -> Draft:
    parts = _story(g, LIFE_OPEN, NEG_STORY_MID, NEG_STORY_END)
    if g.chance(0.3):
        parts.insert(2, g.real_sentence())
    return Draft(_prose(g, parts, lx.EMOJI_LIFE), (), "normal/diary", g.rng.choice(("lifestyle_photo", None)))


OWN_BUY = (
    "第{n}次回购{ps}了，没人给我钱，纯自己喜欢",
    "{p}又囤了{n}{unit}，用完这瓶就续上",
    "这个{ps}我家已经回购好几年了",
    "不是广告，{ps}真的是我自己花钱一直在用的",
    "帮{who}又买了{n}{unit}{ps}，她说好用",
)


@family("hard_negative/repurchase_own")
def repurchase_own(g: Gen) -> Draft:
    parts = [g.pick(OWN_BUY)]
    if g.chance(0.5):
        parts.append(g.real_sentence() if g.chance(0.5) else g.pick(ll.OWN_REVIEW_VERDICT))
    if g.chance(0.3):
        parts.append(g.pick(("{price}块一{unit}，不便宜", "等打折入的", "有问的我就说一下，不卖")))
    return Draft(
        assemble(g.rng, parts, emoji=lx.EMOJI_LIFE), (), "hard_negative/own_review", "lifestyle_photo"
    )


JOB = (
    "我们部门招{role}，{city}，五险一金",
    "公司在招{role}，月薪{k2}到{k2}，双休",
    "朋友公司缺个{role}，要有{n}年经验",
    "正规单位，不是什么兼职代理",
    "有意向的把简历发我邮箱，我转给HR",
    "不收任何费用，面试地点在公司",
    "试用期{n}个月，转正后有年终奖",
    "帮忙扩散，谢谢大家",
)


@family("hard_negative/real_job_salary")
def real_job_salary(g: Gen) -> Draft:
    parts = g.some(JOB, 2, 5)
    return Draft(assemble(g.rng, parts, emoji=lx.EMOJI_LIFE), (), "hard_negative/hr_job", None)


MOVING = (
    "下个月搬去{city}了，家里东西出一下",
    "{item}，用了一年，{price2}",
    "{item}九成新，{price2}自提",
    "书桌和椅子一起{price2}",
    "便宜给需要的朋友，不议价",
    "只限同城，周末前要搬走",
    "东西都是自己用的，没有什么存货",
)


@family("hard_negative/moving_sale")
def moving_sale(g: Gen) -> Draft:
    parts = g.some(MOVING, 2, 4)
    return Draft(
        assemble(g.rng, parts, emoji=lx.EMOJI_LIFE, style=g.rng.choice(("lines", "inline"))),
        (),
        "hard_negative/secondhand",
        "lifestyle_photo",
    )


QUOTE_SPAM = (
    "今天又被拉进一个群，群里全是“{pw}”",
    "老同学十年没联系，一开口就是“{pw}，了解一下”",
    "有人私信我“宝妈在家就能做”，我拉黑了",
    "朋友圈一刷全是“{ps}到了”“最后{n}{unit}”",
    "我妈差点被“{pw}”骗去交钱",
    "能不能别再给我发“{pw}”了",
)
QUOTE_END = (
    "真的很烦",
    "屏蔽了一圈，清净了",
    "大家擦亮眼睛",
    "天上不会掉馅饼",
    "看到的朋友提醒一下家里老人",
)


@family("hard_negative/spam_quote")
def spam_quote(g: Gen) -> Draft:
    parts = [*g.some(QUOTE_SPAM, 1, 2), *g.some(QUOTE_END, 1, 2)]
    return Draft(assemble(g.rng, parts, emoji=lx.EMOJI_LIFE), (), "hard_negative/complaint", None)


PLANS = (
    "周六聚餐，谁来",
    "今晚{dish}，走起",
    "明天谁去爬山",
    "下班去吃{dish}吗",
    "周末看电影，有一起的吗",
    "约了{name}打球",
    "终于放假了",
    "今天好冷",
)


@family("normal/short_plans")
def short_plans(g: Gen) -> Draft:
    text = g.pick(PLANS)
    if g.chance(0.5):
        text += g.emoji(lx.EMOJI_LIFE, 1, 2)
    return Draft(text, (), "normal/plans", None)
