"""Order-list screenshots: rows of buyer, item, quantity, amount and status, as sellers show "爆单" (order floods).

The first row is the headline that fabricators edit (amount, buyer name, time). The scroll position and the number and
sizes of rows come from the content, so two different order lists from one app do not look alike.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from PIL import Image

from data.images import content as ct
from data.images.drawing import Canvas, draw_status_bar, draw_text, draw_title_bar, new_canvas, thumbnail
from data.images.style import Style

TABS = ("全部", "待付款", "待发货", "已发货", "售后")


@dataclass
class OrderRow:
    buyer: str
    title: str
    qty: int
    unit: str
    amount: str
    status: str
    status_colour: str
    time: tuple[int, int]
    thumb: int
    order_no: str


@dataclass
class OrdersContent:
    status_delta: int
    battery: int
    signal: int
    tab: int
    banner: bool  # a stats strip above the list (today's orders, to ship, turnover)
    stats: tuple[int, int, str]
    date: str
    rows: list[OrderRow] = field(default_factory=list)


def make_content(content_seed: int, topic: str) -> OrdersContent:
    rng = random.Random(f"orders:{topic}:{content_seed}")
    rows = []
    products = ct.product_range(rng)
    tab = rng.choice((0, 0, 2, 3))
    for _ in range(rng.randint(4, 9)):
        title, unit = ct.product_line(rng, products)
        status, colour = rng.choice(ct.ORDER_STATUS)
        if TABS[tab] in ("待发货", "已发货"):  # a filtered tab lists only orders in that state
            status, colour = next(sc for sc in ct.ORDER_STATUS if sc[0] == TABS[tab])
        qty = rng.choice((1, 1, 2, 3, 5, 10, 20))
        rows.append(
            OrderRow(
                buyer=ct.person_name(rng),
                title=title,
                qty=qty,
                unit=unit,
                amount=ct.fmt_amount(ct.amount_value(rng, 59, 2000) * min(qty, 5)),
                status=status,
                status_colour=colour,
                time=ct.clock(rng),
                thumb=rng.randrange(10**9),
                order_no=ct.order_number(rng),
            )
        )
    return OrdersContent(
        status_delta=rng.randint(0, 50),
        battery=rng.randint(8, 100),
        signal=rng.randint(2, 4),
        tab=tab,
        banner=rng.random() < 0.5,
        stats=(rng.randint(20, 400), rng.randint(3, 80), ct.fmt_amount(ct.amount_value(rng, 3000, 90000))),
        date=f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        rows=rows,
    )


def apply_edits(orders: OrdersContent, edits: Mapping[str, str]) -> None:
    head = orders.rows[0]
    if "amount" in edits:
        head.amount = ct.parse_amount(str(edits["amount"]))
    if "name" in edits:
        head.buyer = str(edits["name"])
    if "time" in edits:
        head.time = ct.parse_clock(str(edits["time"]))
    if "avatar_seed" in edits:
        head.thumb = int(edits["avatar_seed"])


def _row(c: Canvas, y: int, row: OrderRow, compact: bool, date: str) -> int:
    st = c.style
    x0, x1 = c.p(24), c.width - c.p(24)
    h = c.p(250 if compact else 380)
    c.draw.rounded_rectangle((x0, y, x1, y + h), radius=c.p(16), fill=st.card)
    f, f_small = c.font(28), c.font(24)
    draw_text(c, (x0 + c.p(28), y + c.p(22)), f"买家：{row.buyer}", f, st.text)
    draw_text(c, (x1 - c.p(28), y + c.p(24)), row.status, f, row.status_colour, anchor="ra")
    t = c.p(140 if compact else 170)
    ty = y + c.p(76)
    c.image.paste(thumbnail(row.thumb, t), (x0 + c.p(28), ty))
    tx = x0 + c.p(28) + t + c.p(20)
    title = row.title if len(row.title) <= 16 else row.title[:16] + "…"
    draw_text(c, (tx, ty), title, f, st.text)
    draw_text(c, (tx, ty + c.p(46)), f"数量 x{row.qty}{row.unit}", f_small, st.subtext)
    draw_text(c, (tx, ty + c.p(84)), f"{date} {ct.fmt_clock(*row.time)}", f_small, st.subtext)
    draw_text(
        c, (x1 - c.p(28), ty + c.p(46)), f"实付 ¥{row.amount}", c.font(30, "bold"), st.text, anchor="ra"
    )
    if not compact:
        by = y + h - c.p(86)
        draw_text(c, (x0 + c.p(28), by + c.p(14)), f"订单号 {row.order_no}", f_small, st.subtext)
        for i, label in enumerate(("查看物流", "确认发货" if row.status == "待发货" else "联系买家")):
            bx1 = x1 - c.p(28) - i * c.p(170)
            colour = st.accent if i == 0 else st.subtext
            c.draw.rounded_rectangle(
                (bx1 - c.p(150), by, bx1, by + c.p(56)), radius=c.p(28), outline=colour, width=max(1, c.p(2))
            )
            draw_text(c, (bx1 - c.p(75), by + c.p(12)), label, f_small, colour, anchor="ma")
    return y + h + c.p(20)


def _banner(c: Canvas, y: int, stats: tuple[int, int, str]) -> int:
    st = c.style
    x0, x1 = c.p(24), c.width - c.p(24)
    h = c.p(170)
    c.draw.rounded_rectangle((x0, y, x1, y + h), radius=c.p(16), fill=st.accent)
    cells = (("今日订单", str(stats[0])), ("待发货", str(stats[1])), ("成交额", f"¥{stats[2]}"))
    w = (x1 - x0) / 3
    for i, (label, value) in enumerate(cells):
        cx = x0 + w * (i + 0.5)
        draw_text(c, (cx, y + c.p(34)), value, c.font(36 if i < 2 else 30, "bold"), "#FFFFFF", anchor="ma")
        draw_text(c, (cx, y + c.p(104)), label, c.font(24), "#FFFFFF", anchor="ma")
    return y + h + c.p(20)


def render_orders(orders: OrdersContent, style: Style, size: tuple[int, int]) -> Image.Image:
    c = new_canvas(size, style)
    bar_h = c.p(64 if style.phone == "iphone" else 52)
    top = bar_h + c.p(88)
    tabs_h = c.p(84)
    compact = style.order_layout == "compact"
    y = top + tabs_h + c.p(20)
    if orders.banner:
        y = _banner(c, y, orders.stats)
    for row in orders.rows:  # the headline (edited) row comes first, always fully visible
        if y > c.height:
            break
        y = _row(c, y, row, compact, orders.date)
    # tabs
    c.draw.rectangle((0, top, c.width, top + tabs_h), fill=style.card)
    f = c.font(28)
    tab_w = c.width / len(TABS)
    for i, tab in enumerate(TABS):
        colour = style.accent if i == orders.tab else style.text
        draw_text(c, (tab_w * (i + 0.5), top + c.p(22)), tab, f, colour, anchor="ma")
        if i == orders.tab:
            c.draw.rounded_rectangle(
                (
                    tab_w * (i + 0.5) - c.p(28),
                    top + tabs_h - c.p(10),
                    tab_w * (i + 0.5) + c.p(28),
                    top + tabs_h - c.p(4),
                ),
                radius=c.p(3),
                fill=style.accent,
            )
    status_time = ct.fmt_clock(*ct.add_minutes(orders.rows[0].time, orders.status_delta))
    draw_status_bar(c, status_time, orders.battery, orders.signal)
    draw_title_bar(c, bar_h, "订单管理", right_icon="dots")
    return c.image
