"""Opt-in training families for the plain ways people sell and show off, drawn only with ``--variety N``.

Why: a holdout written by someone who never saw this generator (``feedguard eval --holdout``,
session 18) found the release missing posts that make their case in everyday words rather than in
the generator's seller phrasing: a sales count said the way a farmer would ("上周卖了两吨"), a
customer's result retold by the seller ("她说血脂都降了"), a product listed bare with a price and no
call to action ("枸杞 宁夏中宁 头茬 50一斤"), a family story that ends in an offer, success credited
to "this small business". Each is in DOMAIN.md; the training families say them in fewer ways. ANCHORS'
probe said it first: variety of the generated language, not its volume, is the lever.

These families are the test of that. They are a separate pool (``registry`` pool ``variety``), drawn
in a build's fourth generator call only when ``feedguard data build --variety N`` asks, and go to
``train`` only; every default build stays byte-identical, so the released model's data still
rebuilds. The two contrast families (counts at an ordinary job, sales phrases quoted to mock them)
keep the new cues from turning every number into fake proof.

Honest caveat: they were written after reading that holdout's misses, so that holdout now informs
the training data and can no longer judge this change; a second holdout by another writer, unread,
does. The held-out generator families (test, evasion) are untouched by construction, but some of
them (a seller's diary with sales counts) say similar things, so a gain there is partly expected.
"""

from __future__ import annotations

from data.generator import lexicon as lx
from data.generator.layout import assemble
from data.generator.parts import Gen
from data.generator.registry import Draft, family

HS: tuple[str, ...] = ("hard_sell",)
FP: tuple[str, ...] = ("fake_proof",)
HS_FP: tuple[str, ...] = ("hard_sell", "fake_proof")
RC_FP: tuple[str, ...] = ("recruitment", "fake_proof")
NONE: tuple[str, ...] = ()

#: Farm goods and food sold by the weight or the box, by where they come from:
#: kind -> (name, unit, low price, high price, origins, grades).
_PRODUCE: dict[str, tuple[tuple[str, str, int, int, tuple[str, ...], tuple[str, ...]], ...]] = {
    "fruit": (
        ("冰糖心苹果", "箱", 45, 98, ("阿克苏", "新疆"), ("85果", "80果", "一级果")),
        ("脐橙", "箱", 39, 79, ("赣南", "秭归"), ("大果", "中果", "现摘")),
        ("猕猴桃", "箱", 49, 99, ("周至", "蒲江"), ("红心", "徐香", "大果")),
        ("芒果", "箱", 39, 89, ("攀枝花", "海南"), ("凯特", "贵妃")),
    ),
    "field": (
        ("枸杞", "斤", 35, 90, ("宁夏", "青海"), ("特级", "免洗", "大果")),
        ("红枣", "斤", 15, 40, ("新疆若羌", "和田"), ("骏枣", "特级", "一级")),
        ("大米", "袋", 49, 129, ("五常", "盘锦"), ("稻花香", "新米", "十斤装")),
        ("小米", "斤", 8, 20, ("东北", "山西沁州"), ("黄小米", "新米")),
        ("核桃", "斤", 16, 35, ("云南", "新疆阿克苏"), ("薄皮", "纸皮", "新货")),
    ),
    "hive": (("土蜂蜜", "斤", 40, 88, ("秦岭", "大别山"), ("百花蜜", "槐花蜜", "土法摇的")),),
    "kitchen": (
        ("腊肉", "斤", 45, 78, ("湘西", "四川"), ("柴火熏的", "五花", "后腿")),
        ("辣椒酱", "瓶", 18, 39, ("贵州", "湖南"), ("自家炒的", "牛肉末")),
        ("咸鸭蛋", "枚", 3, 6, ("高邮", "洪湖"), ("流油", "红心")),
        ("牛肉干", "袋", 39, 89, ("内蒙古", "西藏"), ("风干", "手撕", "原味")),
    ),
    "tea": (
        ("龙井", "斤", 380, 1680, ("西湖", "梅家坞"), ("明前", "雨前", "一级")),
        ("普洱", "饼", 120, 460, ("临沧", "普洱"), ("老料", "七子饼", "熟普")),
    ),
    "catch": (
        ("花胶", "两", 60, 260, ("广东", "南美"), ("鳕鱼胶", "干货")),
        ("大闸蟹", "只", 25, 78, ("阳澄湖", "固城湖"), ("公蟹四两", "母蟹三两")),
    ),
}
#: Units a count of sales reads naturally in; a course sold "by the month" is counted in orders.
_COUNTABLE: frozenset[str] = frozenset(
    {
        "斤",
        "箱",
        "袋",
        "盒",
        "瓶",
        "只",
        "件",
        "套",
        "支",
        "片",
        "罐",
        "包",
        "条",
        "份",
        "饼",
        "枚",
        "两",
        "双",
        "台",
        "个",
    }
)


def _produce(g: Gen, kinds: tuple[str, ...] = tuple(_PRODUCE)) -> tuple[str, str, int, str, str]:
    """(name, unit, price, origin, grade) for one farm or food product of one of ``kinds``."""
    name, unit, lo, hi, origins, grades = g.rng.choice(_PRODUCE[g.rng.choice(kinds)])
    return name, unit, g.rng.randint(lo, hi), g.rng.choice(origins), g.rng.choice(grades)


def _amount(g: Gen, unit: str) -> str:
    """A sold quantity the way people say it: digits or words, round or exact, sometimes by weight."""
    r = g.rng
    words = ("两", "三", "四", "五", "六", "七", "八")
    return r.choice(
        (
            f"{r.randint(120, 980)}{unit}",
            f"{r.choice(words)}百多{unit}",
            f"一千多{unit}",
            f"{r.choice(words)}千{unit}",
            f"{r.randint(23, 97)}{unit}",
            f"{r.choice(('一', '两', '三'))}吨"
            if unit in ("斤", "箱", "袋")
            else f"{r.randint(300, 3000)}{unit}",
            f"{r.randint(2, 9)}00来{unit}",
        )
    )


_WHEN: tuple[str, ...] = (
    "上周",
    "昨天",
    "今天上午",
    "这个月",
    "开卖三天",
    "直播一个小时",
    "一个早上",
    "这两天",
    "从月初到现在",
    "国庆七天",
    "上架不到半天",
)
_SOLD: tuple[str, ...] = ("卖了", "走了", "出了", "发出去", "卖出去", "被抢了", "成交了")


@family("fake_proof/plain_tally", pool="variety")
def plain_tally(g: Gen) -> Draft:
    """How much sold, said plainly, then what is left: selling, with a sales count as the proof."""
    r = g.rng
    if g.chance(0.5):
        name, unit, price, origin, _ = _produce(g)
        thing = r.choice((name, f"{origin}{name}", f"这批{name}", f"自家的{name}"))
    else:
        name, unit, price = g.f("{ps}"), g.f("{unit}"), int(g.f("{price}"))
        unit = unit if unit in _COUNTABLE else "单"
        thing = r.choice((name, f"这款{name}", f"上新的{name}"))
    amount, when, sold = _amount(g, unit), r.choice(_WHEN), r.choice(_SOLD)
    opening = r.choice(
        (
            f"{thing}{when}{sold}{amount}",
            f"{when}{thing}{sold}{amount}",
            f"算了一下，{thing}{when}一共{sold}{amount}",
            f"{when}的单子刚打完包，{thing}{sold}{amount}",
            f"后台显示{thing}{when}成交{amount}",
            f"仓库说{thing}{when}{sold}{amount}，我自己都没想到",
            f"{amount}{thing}，{when}就没了",
            f"{thing}又补了一次货，{when}{sold}{amount}",
        )
    )
    after = g.some(
        (
            "好多人吃完又来买",
            "一大半是老客户回购",
            "剩下的不多了",
            f"还有{r.randint(20, 300)}{unit}左右",
            "下一批要等下周",
            "打包打到手软",
            "谢谢大家捧场",
            "今天是最后一批",
            "晚了就只能等明年了",
            f"{price}一{unit}，价格没涨",
        ),
        1,
        2,
    )
    ending = r.choice(("", "", "要的说一声", "想要的早点留言", "老规矩，先到先得", g.cta()))
    text = assemble(r, [opening, *after, ending], emoji=lx.EMOJI_SELL if g.chance(0.5) else lx.EMOJI_SOFT)
    return Draft(text, HS_FP, "fake_proof/tally", r.choice(("order_list", "parcel_pile", None)))


_TOLD_BY: tuple[str, ...] = (
    "她",
    "一个老顾客",
    "楼下的王姐",
    "我表姐",
    "上个月找我的那个宝妈",
    "一位六十多岁的阿姨",
    "客户",
    "合作三年的老客户",
    "同事的妈妈",
    "一个在外地的客户",
)
_RESULTS: tuple[str, ...] = (
    "空腹血糖从八点几降到了六点多",
    "这次三高的指标都在正常范围里",
    "腰围小了一圈",
    "一个月掉了{n}斤秤",
    "黄褐斑几乎看不出来了",
    "娃吃饭不用追着喂了",
    "半夜再也不醒了",
    "走楼梯腿不软了",
    "洗头掉的头发少了一半",
    "额头的闭口全消了",
    "每天早上都很规律",
    "皮肤亮得同事追着问",
    "婆婆说她年轻了好几岁",
    "复查的时候医生说指标好多了",
)
_TOLD_HOW: tuple[str, ...] = (
    "{who}说{res}",
    "{who}今天发消息给我，说{res}",
    "{who}把复查单发到了我微信上，{res}",
    "刚收到{who}的语音，{res}",
    "{who}又来回购了，说{res}",
    "{who}跟我说，吃了{n}个疗程，{res}",
    "晚上{who}打电话来，第一句就是：{res}",
)


@family("fake_proof/retold_result", pool="variety")
def retold_result(g: Gen) -> Draft:
    """A customer's result retold by the seller, with or without an offer: proof by testimony."""
    r = g.rng
    told = r.choice(_TOLD_HOW).replace("{who}", r.choice(_TOLD_BY)).replace("{res}", r.choice(_RESULTS))
    parts = [g.f(told)]
    if g.chance(0.5):
        parts.insert(
            0, g.f(r.choice(("用的是我家的{ps}", "她在我这拿的{ps}", "就是这款{p}", "{ps}第{n}次回购了")))
        )
    parts.append(
        r.choice(
            (
                "比我自己赚钱还开心",
                "这就是我坚持做下去的理由",
                "产品会说话",
                "真的被暖到了",
                "效果因人而异，但坚持真的有用",
                "",
            )
        )
    )
    selling = g.chance(0.5)
    if selling:
        parts.append(r.choice((g.price(), g.cta(), f"{g.price()}，{g.scarcity()}")))
    text = assemble(r, parts, emoji=lx.EMOJI_SOFT, loud=0.05)
    return Draft(text, HS_FP if selling else FP, "fake_proof/testimony", r.choice(("chat_screenshot", None)))


@family("hard_sell/bare_listing", pool="variety")
def bare_listing(g: Gen) -> Draft:
    """A product named with its origin, grade and price and nothing else: selling without a call to action."""
    r = g.rng
    name, unit, price, origin, grade = _produce(g)
    line = r.choice(
        (
            f"{name} {origin} {grade} {price}一{unit}",
            f"{origin}{name}，{grade}，{price}/{unit}",
            f"{grade}{name} {price}元{unit}",
            f"{name}\n产地：{origin}\n{grade}\n{price}一{unit}",
            f"{origin}的{name}到了 {grade} {price}",
            f"{name}（{origin}）{price}一{unit} 包邮",
            f"{name} {price}",
        )
    )
    tail = r.choice(("", "", "", "现货", "自己家的", "量不多", "顺丰", "可以先尝", "留言"))
    text = line if not tail else f"{line} {tail}"
    if g.chance(0.3):
        text = f"{g.emoji(lx.EMOJI_SOFT, 1, 1)}{text}"
    return Draft(text, HS, "hard_sell/listing", r.choice(("product_photo", None, None)))


#: (story, the produce kinds it can be about).
_STORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("外公在半山腰守着几十箱蜂，今年的{name}收成好，却没人上门来收", ("hive",)),
    ("家里果园今年的{name}结得特别多，批发价低得让人心疼", ("fruit",)),
    ("我妈每年入冬都要张罗{name}，今年多做了好些", ("kitchen",)),
    ("上周回乡下帮忙收{name}，晒得脱了一层皮", ("field", "fruit", "tea")),
    ("外婆做的{name}是我们家过年的味道，她八十岁了还坚持自己动手", ("kitchen",)),
    ("表哥放弃了城里的工作回乡种{name}，今年第一次大丰收", ("field", "fruit")),
    ("邻居大叔种了一辈子{name}，今年腿摔了，没法去集上卖", ("field", "fruit")),
    ("舅舅在村里的茶山守了二十年，今年的{name}品相特别好", ("tea",)),
    ("姑父在湖边养了十几年，今年的{name}个头大", ("catch",)),
)
_OFFERS: tuple[str, ...] = (
    "{price}一{unit}，需要的朋友说一声",
    "想帮他们卖一点，{price}一{unit}",
    "{price}一{unit}包邮，不赚钱，就想让老人家的东西有人吃",
    "有需要的我可以帮忙问问，{price}左右一{unit}",
    "分一些给朋友们，{price}一{unit}，吃着好再来",
)


@family("hard_sell/story_offer", pool="variety")
def story_offer(g: Gen) -> Draft:
    """A family story that ends in an offer with a price: the selling comes last and softly."""
    r = g.rng
    story, kinds = r.choice(_STORIES)
    name, unit, price, origin, grade = _produce(g, kinds)
    story = story.replace("{name}", name)
    middle = r.choice(
        (
            f"{origin}的，{grade}",
            "没用任何添加",
            "自己家吃也是这个",
            "量不多，就这一批",
            "味道是小时候的味道",
            "",
        )
    )
    offer = r.choice(_OFFERS).replace("{price}", str(price)).replace("{unit}", unit)
    text = assemble(
        r, [story, middle, offer], emoji=lx.EMOJI_LIFE, style=r.choice(("inline", "lines", "dense"))
    )
    return Draft(text, HS, "hard_sell/story", r.choice(("lifestyle_photo", "product_photo", None)))


_CREDITS: tuple[str, ...] = (
    "这台车的首付，是我一单一单卖{ps}攒出来的",
    "{n}年前还欠着信用卡，现在每个月能给家里打{k}",
    "晚上十二点了，手机还在叮叮响着进账",
    "年初定的目标是换车，十月就提了",
    "当初笑我卖货的人，现在来问我怎么做",
    "离职那天领导说我会后悔，今年的收入是那时的{n}倍",
    "带爸妈第一次坐飞机去了{place}，机票酒店都是这份副业出的",
    "这个月到账{k}，终于不用看人脸色",
    "团队这个月业绩过了{nn}万，又有{n}个姐妹提了车",
    "第一批货是借钱拿的，现在房贷已经还了一半",
)
_INVITES: tuple[str, ...] = (
    "想试试的可以找我聊",
    "愿意吃苦的来",
    "下个月开新班，只带{n}个人",
    "带人不看学历",
    "你缺的只是一个开始",
)


@family("fake_proof/credited_success", pool="variety")
def credited_success(g: Gen) -> Draft:
    """Money, a car or a house credited to the business, sometimes with an invitation to join."""
    r = g.rng
    parts = g.some(_CREDITS, 1, 2)
    parts.append(
        r.choice(("选择大于努力", "感谢当初没放弃的自己", "有人说我运气好，只有我知道熬了多少夜", ""))
    )
    invites = g.chance(0.45)
    if invites:
        parts.append(g.pick(_INVITES))
    text = assemble(r, parts, emoji=lx.EMOJI_SOFT, loud=0.1)
    image = r.choice(("payment_screenshot", "lifestyle_photo", None))
    return Draft(text, RC_FP if invites else FP, "fake_proof/credited", image)


_JOB_COUNTS: tuple[str, ...] = (
    "分拣线今天过了{nn}万件包裹，手都麻了",
    "今天门诊看了{nn}个病人，嗓子哑了",
    "月底冲业绩，我们组完成了{pct}%，经理请喝奶茶",
    "快递站今天到了{N}个件，取件的排到门口",
    "食堂今天卖出去{N}份红烧肉，打饭阿姨说创纪录了",
    "店里今天营业额破纪录，老板给每个人发了{n}十块红包",
    "这学期批了{N}份作业，眼睛要瞎了",
    "跑单一天送了{nn}单，电动车电都不够了",
)


@family("hard_negative/job_counts", pool="variety")
def job_counts(g: Gen) -> Draft:
    """Counts from an ordinary job: orders, patients, sales at work, told as tiredness or pride, selling nothing."""
    r = g.rng
    parts = [
        g.pick(_JOB_COUNTS),
        r.choice(("累并快乐着", "明天继续", "打工人不容易", "终于下班了", "晚上加个鸡腿", "")),
    ]
    return Draft(assemble(r, parts, emoji=lx.EMOJI_LIFE, loud=0.05), NONE, "hard_negative/job", None)


_MOCKED: tuple[str, ...] = (
    "刷朋友圈十条有八条在晒收款，我是不是加错群了",
    "卖茶的同学每天三条'感恩又出单'，心疼她的朋友圈",
    "有人私信问我要不要做代理，说'躺着也能赚'，我回了个微笑",
    "新闻里那个传销案，所谓的三级代理全是被拉进去的亲戚",
    "我妈转来一条'在家带娃月入三万'，问我靠不靠谱，我给她讲了半小时",
    "屏蔽了第{n}个天天晒单的微商，世界清净了",
)


@family("hard_negative/mocked_claims", pool="variety")
def mocked_claims(g: Gen) -> Draft:
    """Seller claims quoted to mock or warn about them: the words of fake proof, the purpose of a normal post."""
    r = g.rng
    parts = [g.pick(_MOCKED), r.choice(("大家擦亮眼睛", "哈哈哈", "别信", "笑死", "", ""))]
    return Draft(assemble(r, parts, emoji=lx.EMOJI_LIFE, loud=0.05), NONE, "hard_negative/mock", None)
