"""Training-only everyday families: lists of steps, items and quantities that sell nothing.

Why they exist: release r6 flagged 138 of 300 held-out ``normal/cooking`` posts as hard_sell. Those
posts are bulleted lists of short imperative steps with quantities ("加两勺生抽"), a shape that no
training family had outside seller posts (usage instructions, doses, price lists), so the model learnt
"a list of doses is a sales pitch". These families teach the shape on everyday topics. Their wording
stays clear of the held-out food families (no dishes, seasonings or oven steps), so the test still
measures transfer, not recall. They are registered as supplement families (training only, see
``registry.SUPPLEMENT_FAMILIES``).
"""

from __future__ import annotations

from data.generator import lexicon as lx
from data.generator.layout import assemble
from data.generator.parts import Gen
from data.generator.registry import Draft, family

NONE: tuple[str, ...] = ()
#: Lists dominate: that is the shape the held-out errors had.
_LIST_STYLES: tuple[str, ...] = ("bullets", "bullets", "lines", "spaced", "inline", "mixed")


def _list_post(g: Gen, opening: str, items: list[str], ending: str) -> str:
    return assemble(
        g.rng, [opening, *items, ending], style=g.rng.choice(_LIST_STYLES), emoji=lx.EMOJI_LIFE, loud=0.05
    )


@family("normal/howto_steps", pool="supplement")
def howto_steps(g: Gen) -> Draft:
    """Household repairs and chores written down as steps, with counts, turns and minutes."""
    task, steps = g.rng.choice(
        (
            (
                "换水龙头",
                ("先关总阀", "拧下旧的阀芯", "生料带缠{n}圈", "扳手拧紧半圈就够", "开阀试水{n}分钟"),
            ),
            (
                "洗羽绒服",
                ("水温不超过30度", "中性洗衣液一瓶盖", "泡{nn}分钟", "别拧干，平铺晾", "干了拍{n}下就蓬松"),
            ),
            (
                "组装书架",
                (
                    "先数螺丝，一共{nn}颗",
                    "侧板和底板先拼",
                    "每层隔{nn}厘米",
                    "最后装背板",
                    "拧紧后晃{n}下试试",
                ),
            ),
            (
                "给猫剪指甲",
                ("趁它睡着", "一次只剪{n}个", "只剪透明的尖", "剪完给{n}粒猫粮奖励"),
            ),
            (
                "通下水道",
                ("先倒一壶开水", "小苏打{n}勺", "白醋半碗", "等{nn}分钟再冲", "还不通就用疏通器"),
            ),
            (
                "给自行车打气",
                ("看胎壁上的数字", "前轮{n}个大气压", "后轮多一点", "气嘴帽别丢"),
            ),
            (
                "清洗空调滤网",
                ("先断电", "掀开面板取滤网", "清水冲{n}遍", "阴干{n}小时再装"),
            ),
        )
    )
    opening = g.pick(
        (
            f"记录一下{task}的步骤",
            f"第一次自己{task}，成功了",
            f"{task}其实很简单",
            f"学会了{task}",
            f"今天{task}，做个备忘",
        )
    )
    ending = g.pick(("省了上门费", "原来这么简单", "下次就不求人了", "给自己点个赞", "老公都夸我", ""))
    return Draft(_list_post(g, opening, g.some(steps, 2, 4), ending), NONE, "normal/howto", None)


@family("normal/packing_list", pool="supplement")
def packing_list(g: Gen) -> Draft:
    """A trip or move checklist: items with counts, the way a price menu looks but with nothing for sale."""
    opening = g.pick(
        (
            "{place}出发前的清单",
            "明天出差，列个清单",
            "带娃出门要带的东西",
            "搬家打包清单",
            "开学要带的东西",
            "露营装备清点一下",
        )
    )
    items = g.some(
        (
            "身份证",
            "充电宝{n}个",
            "换洗衣服{n}套",
            "雨伞一把",
            "纸巾{n}包",
            "保温杯",
            "拖鞋一双",
            "数据线{n}根",
            "帐篷和睡袋",
            "尿不湿{nn}片",
            "湿巾{n}包",
            "台灯",
            "被子{n}床",
            "药箱",
            "防晒霜",
        ),
        3,
        6,
    )
    ending = g.pick(("应该没漏吧", "每次都忘带东西", "收拾了{n}个小时", "出发！", "箱子塞不下了", ""))
    return Draft(_list_post(g, opening, items, ending), NONE, "normal/checklist", None)


@family("normal/workout_log", pool="supplement")
def workout_log(g: Gen) -> Draft:
    """A training log: sets, reps, distances and times, a personal result that proves nothing for sale."""
    r = g.rng
    opening = g.pick(("今天的训练", "练腿日", "第{nn}次打卡", "这周训练计划", "恢复训练第{n}天"))
    items = g.some(
        (
            "深蹲{n}组×{nn}个",
            "平板支撑{n}组，每组一分钟",
            "慢跑{n}公里",
            f"配速{r.randint(4, 8)}分{r.randint(10, 59)}秒",
            "跳绳{N}个",
            "拉伸{nn}分钟",
            "俯卧撑{nn}个",
            f"游泳{r.choice((500, 800, 1000, 1500, 2000))}米",
            f"心率最高{r.randint(150, 190)}",
        ),
        2,
        5,
    )
    ending = g.pick(
        ("腿已经不是自己的了", "坚持就是胜利", "明天休息", "比上周进步了", "教练说姿势还要改", "")
    )
    return Draft(_list_post(g, opening, items, ending), NONE, "normal/fitness_log", "lifestyle_photo")


@family("normal/spending_log", pool="supplement")
def spending_log(g: Gen) -> Draft:
    """A household account: money figures that are one's own bills, not earnings or sales."""
    r = g.rng
    opening = g.pick(
        ("这个月记账", "{n}月开销汇总", "算了一下这周花了多少", "记账第{nn}天", "年底盘点一下家里开销")
    )
    items = g.some(
        (
            f"房租{r.randint(12, 60) * 100}",
            f"水电{r.randint(80, 400)}块",
            "话费{nn}",
            f"买菜{r.randint(600, 2500)}",
            f"孩子兴趣班{r.randint(3, 30) * 100}",
            "打车{nn}块",
            f"人情{r.choice((200, 500, 600, 800, 1000, 2000))}",
            f"加油{r.randint(150, 900)}",
            f"物业费{r.randint(100, 600)}",
            f"看病{r.randint(50, 1500)}",
        ),
        3,
        6,
    )
    ending = g.pick(("下个月必须省着点", "钱都去哪了", "又超支了", "比上个月少花了一点", "存钱好难", ""))
    return Draft(_list_post(g, opening, items, ending), NONE, "normal/budget", None)


@family("normal/garden_log", pool="supplement")
def garden_log(g: Gen) -> Draft:
    """Balcony garden notes: watering, feeding and a harvest counted in jin, kept or given away."""
    plant = g.rng.choice(("小番茄", "绿萝", "多肉", "辣椒", "月季", "草莓", "薄荷", "丝瓜"))
    opening = g.pick(
        (f"阳台的{plant}", f"种{plant}第{{nn}}天", f"{plant}养护笔记", f"今年的{plant}", f"记录一下{plant}")
    )
    items = g.some(
        (
            "每周浇{n}次水",
            "见干见湿",
            "一个月施一次肥",
            "每天晒{n}小时太阳",
            "剪掉了{n}根侧枝",
            "结了{nn}个果",
            "收了{n}斤多",
            "分了{n}盆",
            "送了邻居一袋",
        ),
        2,
        4,
    )
    ending = g.pick(("自己种的就是香", "成就感满满", "希望明年更好", "快被虫吃光了", ""))
    return Draft(_list_post(g, opening, items, ending), NONE, "normal/garden", "lifestyle_photo")


@family("hard_negative/baby_care_log", pool="supplement")
def baby_care_log(g: Gen) -> Draft:
    """A parent's feeding and sleep record: formula, scoops and millilitres, nothing recommended or sold."""
    r = g.rng
    opening = g.pick(
        ("宝宝{n}个月记录", "今天的喂养记录", "给自己做个备忘", "二宝第{nn}天", "新手妈妈的一天")
    )
    items = g.some(
        (
            "奶粉每次{n}勺",
            f"温水{r.choice((90, 120, 150, 180, 210))}毫升",
            "一天喝{n}顿",
            "辅食加了半个蛋黄",
            "睡了{h}个小时",
            f"体重{r.randint(4, 14)}公斤",
            f"身高{r.randint(55, 95)}厘米",
            "维生素D每天一粒",
            "夜里醒了{n}次",
        ),
        2,
        5,
    )
    ending = g.pick(("医生说长得挺好", "当妈真不容易", "求睡整觉", "一天天长大了", ""))
    return Draft(_list_post(g, opening, items, ending), NONE, "hard_negative/parenting", "lifestyle_photo")


@family("hard_negative/home_remedy", pool="supplement")
def home_remedy(g: Gen) -> Draft:
    """An old family remedy shared with doses: health claims and quantities, no product, price or contact."""
    trouble = g.rng.choice(("嗓子疼", "感冒刚开始", "手脚冰凉", "晚上睡不着", "咳嗽", "胃不舒服"))
    opening = g.pick(
        (
            f"{trouble}的时候我妈的土办法",
            f"{trouble}，试了奶奶教的方子",
            f"分享一个{trouble}时的老办法",
            f"{trouble}好几天了",
        )
    )
    items = g.some(
        (
            "枸杞一小把",
            "红枣{n}颗",
            "煮水{nn}分钟",
            "一天喝{n}次",
            "睡前泡脚{nn}分钟",
            "多喝热水",
            "连着{n}天",
            "蜂蜜一小勺",
        ),
        2,
        4,
    )
    ending = g.pick(("不舒服还是要去医院", "不知道有没有科学依据", "反正喝了舒服点", "家里老人都信这个", ""))
    return Draft(_list_post(g, opening, items, ending), NONE, "hard_negative/remedy", None)
