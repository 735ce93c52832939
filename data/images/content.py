"""Words that fill screenshots: names, praise, replies, goods, amounts, times.

Everything here draws from a ``random.Random`` passed in, so a screenshot's contents are a pure function of its
content seed. Inline emoji are written as ``[e0]``..``[e5]`` tokens because the CJK font has no colour emoji; the
drawing code paints them as small faces and hearts.
"""

from __future__ import annotations

import random

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
GIVEN = "丽娜敏静秀英华芳娟红霞玲燕萍婷雪琳晶欣悦雨涵子怡佳琪思颖梦洁楠倩薇露瑶蕾"
NICK_PARTS_A = ("小", "阿", "大", "老", "")
NICK_WORDS = (
    "雨",
    "糖糖",
    "桃子",
    "小鱼",
    "阳光",
    "果果",
    "安静",
    "向日葵",
    "晴天",
    "微笑",
    "喵喵",
    "柠檬",
    "木子",
    "兔兔",
    "樱桃",
    "花开",
    "丫头",
    "momo",
    "Lily",
    "Cindy",
    "Amy",
    "Coco",
    "Vivian",
    "Grace",
)
NICK_SUFFIX = ("", "", "", "~", "呀", "酱", "妈妈", "宝妈", "姐", "")
TITLES = ("宝妈", "姐妹", "客户", "VIP", "回头客", "新客")

EMOJI_TOKENS = tuple(f"[e{i}]" for i in range(6))

PRODUCTS = (
    ("面膜", "盒"),
    ("精华液", "瓶"),
    ("水乳套装", "套"),
    ("酵素", "盒"),
    ("代餐奶昔", "罐"),
    ("减肥茶", "盒"),
    ("益生菌", "盒"),
    ("胶原蛋白肽", "盒"),
    ("睫毛膏", "支"),
    ("沉香手串", "串"),
    ("普洱茶饼", "饼"),
    ("酱香白酒", "瓶"),
    ("婴儿纸尿裤", "包"),
    ("奶粉", "罐"),
    ("口红", "支"),
    ("防晒霜", "支"),
    ("洗发水", "瓶"),
    ("燕窝", "盒"),
    ("鱼油", "瓶"),
    ("私教课程", "期"),
)

PRAISE_OPENERS = ("亲爱的", "姐妹", "宝贝", "亲", "老板", "美女", "", "", "")
PRAISE_BODIES = (
    "用了一周皮肤好多了",
    "毛孔真的小了好多",
    "痘痘全下去了",
    "脸上的斑淡了很多",
    "皮肤水润润的",
    "已经瘦了8斤了",
    "这个月瘦了12斤",
    "肚子小了一圈",
    "睡眠好多了",
    "便秘解决了",
    "宝宝用了屁屁一点都不红",
    "我老公都说我变白了",
    "同事都问我用的什么",
    "效果太明显了",
    "真的是回购无数次了",
    "比专柜的还好用",
    "味道很好喝",
    "喝了精神特别好",
    "收到货了包装很精致",
    "质量真的没话说",
    "朋友用了也说好",
    "我妈用了也说好",
    "已经推荐给闺蜜了",
    "第三次回购了",
    "皮肤再也不干了",
    "黑眼圈淡了好多",
    "腰围小了5厘米",
    "气色好了很多",
    "坚持用了一个月，效果看得见",
)
PRAISE_TAILS = ("！", "！！", "", "～", "，太感谢你了", "，爱了爱了", "，必须好评", "，谢谢亲", "啊", "。")
REORDER = (
    "再给我来{n}{unit}",
    "帮我再拿{n}{unit}{product}",
    "我要回购{n}{unit}",
    "给我闺蜜也带{n}{unit}",
    "上次的{product}用完了，再来{n}{unit}",
    "还有货吗？要{n}{unit}",
)
QUESTIONS = (
    "什么时候发货呀",
    "这个孕妇能用吗",
    "一天喝几次",
    "能便宜点吗",
    "有没有活动",
    "怎么代理呀",
    "我也想做",
)
REPLIES = (
    "谢谢亲的反馈[e1]",
    "坚持用效果会更好哦",
    "好的宝贝，马上给你安排发货",
    "收到，今天就发",
    "记得按时用哦[e0]",
    "有效果就好，我也开心",
    "亲放心，正品保障",
    "好嘞，已经给你备注加急",
    "宝贝真棒，继续加油[e3]",
    "爱你哟[e2]",
    "今天下单送小样",
    "可以的，孕妇也能用",
    "一天两次，饭前喝",
    "现在有活动，买三送一",
    "好的，私信你",
    "想做代理的话我拉你进群",
    "嗯嗯，效果因人而异哦",
)
PERSONAL_LINES = (
    ("妈，我到家了", "好，路上冷不冷"),
    ("晚上回来吃饭吗", "回，想吃红烧肉"),
    ("周末去爬山吗", "好呀几点出发"),
    ("快递帮我拿一下", "已经拿了放门口"),
    ("孩子作业写完了吗", "写完了在看书"),
    ("明天开会别迟到", "收到"),
    ("生日快乐！", "谢谢，晚上请你吃饭"),
    ("年终奖发了！", "恭喜恭喜，请客"),
    ("你到了没", "马上，堵车"),
)
NOTES = ("面膜款", "货款", "酵素3盒", "代理费", "补货", "拿货", "尾款", "定金", "首批货款", "回购", "", "")
ORDER_STATUS = (("待发货", "#FA5151"), ("已发货", "#FF9500"), ("已签收", "#07C160"), ("待付款", "#FA5151"))
SPECS = ("1盒装", "3盒装", "5盒装", "家庭装", "体验装", "礼盒装", "标准版", "加强版")
PAY_METHODS = ("零钱", "零钱通", "招商银行储蓄卡(8867)", "建设银行储蓄卡(0231)", "信用卡")
CITIES = ("杭州", "深圳", "广州", "成都", "上海", "北京", "长沙", "武汉", "郑州", "温州")


def person_name(rng: random.Random) -> str:
    """A WeChat-style display name: a real name, a nickname, or a tagged contact ("A-王丽 宝妈")."""
    style = rng.random()
    if style < 0.35:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    if style < 0.75:
        return rng.choice(NICK_PARTS_A) + rng.choice(NICK_WORDS) + rng.choice(NICK_SUFFIX)
    return f"{rng.choice('ABCDVX')}-{rng.choice(SURNAMES)}{rng.choice(GIVEN)} {rng.choice(TITLES)}"


def masked_name(rng: random.Random) -> str:
    """A payer name as payment apps show it: "*丽", "王*", "**娜"."""
    name = rng.choice(SURNAMES) + rng.choice(GIVEN)
    return rng.choice(("*" + name[1], name[0] + "*", "**" + name[1]))


def amount_value(rng: random.Random, low: float = 38.0, high: float = 8800.0) -> float:
    """A plausible amount: often a round price (99, 299, 3680), sometimes with cents."""
    value = rng.uniform(low, high)
    if rng.random() < 0.7:
        magnitude = 10 if value < 1000 else 100
        value = round(value / magnitude) * magnitude - rng.choice((0, 0, 1, 2, 20)) * (magnitude // 10)
    else:
        value = round(value, 2)
    return max(value, 1.0)


def fmt_amount(value: float) -> str:
    return f"{value:,.2f}"


def clock(rng: random.Random) -> tuple[int, int]:
    """A time of day weighted toward the hours sellers post (late morning to late night)."""
    hour = rng.choice((8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 20, 21, 21, 22, 22, 23))
    return hour, rng.randint(0, 59)


def fmt_clock(hour: int, minute: int) -> str:
    return f"{hour % 24:02d}:{minute % 60:02d}"


def add_minutes(hm: tuple[int, int], minutes: int) -> tuple[int, int]:
    """Clock arithmetic that wraps at midnight (the status bar runs a few minutes after the edited time)."""
    total = (hm[0] * 60 + hm[1] + minutes) % (24 * 60)
    return total // 60, total % 60


def parse_clock(value: str) -> tuple[int, int]:
    """Parse "HH:MM" (the format of the ``time`` edit)."""
    parts = value.strip().split(":")
    if len(parts) < 2 or not all(p.isdigit() for p in parts[:2]):
        raise ValueError(
            f"The 'edits[\"time\"]' value of render_screenshot must look like 'HH:MM'; got {value!r} instead."
        )
    hour, minute = int(parts[0]), int(parts[1])
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(
            f"The 'edits[\"time\"]' value of render_screenshot must be a valid time; got {value!r} instead."
        )
    return hour, minute


def parse_amount(value: str) -> str:
    """Format the ``amount`` edit: numbers get thousands separators and cents, anything else is shown verbatim."""
    cleaned = value.strip().lstrip("+¥￥").replace(",", "")
    try:
        return fmt_amount(float(cleaned))
    except ValueError:
        return value.strip()


def praise(rng: random.Random) -> str:
    """A customer testimonial line, built from parts so that no two conversations read alike."""
    product, unit = rng.choice(PRODUCTS)
    roll = rng.random()
    if roll < 0.2:
        body = rng.choice(REORDER).format(n=rng.choice((2, 3, 5, 10)), unit=unit, product=product)
    elif roll < 0.3:
        body = f"你家的{product}{rng.choice(PRAISE_BODIES)}"
    else:
        body = rng.choice(PRAISE_BODIES)
    text = rng.choice(PRAISE_OPENERS) + ("，" if rng.random() < 0.5 else "") + body + rng.choice(PRAISE_TAILS)
    text = text.lstrip("，")
    if rng.random() < 0.3:
        text += rng.choice(EMOJI_TOKENS)
    if rng.random() < 0.15:
        text += rng.choice(PRAISE_BODIES) + rng.choice(("！", "。", ""))
    return text


def reply(rng: random.Random) -> str:
    return rng.choice(REPLIES)


def question(rng: random.Random) -> str:
    return rng.choice(QUESTIONS)


def personal_pair(rng: random.Random) -> tuple[str, str]:
    return rng.choice(PERSONAL_LINES)


_ADJECTIVES = {
    "面膜": ("补水", "美白", "修护", "玻尿酸"),
    "精华液": ("抗初老", "美白", "修护", "进口"),
    "水乳套装": ("补水", "控油", "敏感肌"),
    "酵素": ("果蔬", "台湾", "综合"),
    "代餐奶昔": ("低卡", "饱腹", "巧克力味"),
    "减肥茶": ("荷叶", "古法", "草本"),
    "益生菌": ("儿童", "冻干", "进口"),
    "胶原蛋白肽": ("小分子", "日本", "口服"),
    "睫毛膏": ("纤长", "防水", "浓密"),
    "沉香手串": ("越南", "老料", "开光"),
    "普洱茶饼": ("古树", "十年陈", "云南"),
    "酱香白酒": ("53度", "窖藏", "茅台镇"),
    "婴儿纸尿裤": ("超薄", "日本", "拉拉裤"),
    "奶粉": ("进口", "有机", "3段"),
    "口红": ("哑光", "丝绒", "大牌"),
    "防晒霜": ("清爽", "SPF50", "户外"),
    "洗发水": ("防脱", "生姜", "控油"),
    "燕窝": ("即食", "马来西亚", "孕妇"),
    "鱼油": ("深海", "挪威", "高纯度"),
    "私教课程": ("创业", "引流", "带货"),
}


def product_range(rng: random.Random) -> list[tuple[str, str]]:
    """The 1-3 products one seller's order list shows (sellers push a few products, not the whole catalogue)."""
    return rng.sample(PRODUCTS, rng.choice((1, 1, 2, 3)))


def product_line(rng: random.Random, products: list[tuple[str, str]] | None = None) -> tuple[str, str]:
    """(item title, unit) for an order row, e.g. ("【官方正品】补水面膜 3盒装", "盒")."""
    product, unit = rng.choice(products or PRODUCTS)
    prefix = rng.choice(("【官方正品】", "【限时特惠】", "【爆款】", "", "", "【代理专拿】"))
    adjective = rng.choice(_ADJECTIVES.get(product, ("经典",)))
    return f"{prefix}{adjective}{product} {rng.choice(SPECS)}", unit


def order_number(rng: random.Random) -> str:
    return "".join(rng.choice("0123456789") for _ in range(18))
