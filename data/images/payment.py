"""Payment screenshots: "收款成功" receipts, payment-received notices and "今日战绩" daily sales summaries.

The layout (which of the three) belongs to the style; the amounts, payers, number of rows and times to the content.
The headline amount, payer name and time are the fields fabricators edit.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from PIL import Image

from data.images import content as ct
from data.images.drawing import (
    Canvas,
    draw_check_circle,
    draw_status_bar,
    draw_text,
    draw_title_bar,
    new_canvas,
    paste_avatar,
    thumbnail,
)
from data.images.style import Style


@dataclass
class PaymentContent:
    amount: str
    name: str
    base_time: tuple[int, int]
    date: str
    status_delta: int
    battery: int
    signal: int
    order_no: str
    method: str
    note: str
    payer_avatar: int
    total_count: int
    total: str
    agents: int
    extra_rows: tuple[str, ...]  # which optional detail rows this receipt shows (varies the page height)
    ad_seed: int | None  # an ad banner under the receipt (a product photo strip), or none
    rows: list[tuple[str, str, str, int]] = field(default_factory=list)  # name, amount, time, avatar seed
    history: list[tuple[str, str, str]] = field(
        default_factory=list
    )  # earlier notices: time label, amount, note


def make_content(content_seed: int, topic: str) -> PaymentContent:
    rng = random.Random(f"payment:{topic}:{content_seed}")
    big = topic == "personal"
    amount = ct.amount_value(rng, 5000, 60000) if big else ct.amount_value(rng, 99, 9800)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    n_rows = rng.randint(3, 12)
    rows = []
    for _ in range(n_rows):
        rows.append(
            (
                ct.masked_name(rng) if rng.random() < 0.5 else ct.person_name(rng),
                ct.fmt_amount(ct.amount_value(rng, 39, 6000)),
                ct.fmt_clock(*ct.clock(rng)),
                rng.randrange(10**9),
            )
        )
    total_value = amount + sum(float(r[1].replace(",", "")) for r in rows)
    history = [
        (
            f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日 {ct.fmt_clock(*ct.clock(rng))}",
            ct.fmt_amount(ct.amount_value(rng, 99, 9800)),
            rng.choice(ct.NOTES),
        )
        for _ in range(rng.randint(1, 3))
    ]
    extra_rows = tuple(r for r in ("商户单号", "收款方备注", "到账时间", "汇总") if rng.random() < 0.5)
    ad_seed = rng.randrange(10**9) if rng.random() < 0.7 else None
    return PaymentContent(
        amount=ct.fmt_amount(amount),
        name=("公司" if big and rng.random() < 0.5 else "")
        + (ct.masked_name(rng) if rng.random() < 0.6 else ct.person_name(rng)),
        base_time=ct.clock(rng),
        date=f"2024-{month:02d}-{day:02d}",
        status_delta=rng.randint(0, 30),
        battery=rng.randint(8, 100),
        signal=rng.randint(2, 4),
        order_no=ct.order_number(rng)[:10] + ct.order_number(rng),
        method=rng.choice(ct.PAY_METHODS),
        note=("年终奖" if big else rng.choice(ct.NOTES)),
        payer_avatar=rng.randrange(10**9),
        total_count=n_rows + 1 + rng.randint(0, 40),
        total=ct.fmt_amount(total_value),
        agents=rng.randint(0, 9),
        extra_rows=extra_rows,
        ad_seed=ad_seed,
        rows=rows,
        history=history,
    )


def apply_edits(pay: PaymentContent, edits: Mapping[str, str]) -> None:
    if "amount" in edits:
        pay.amount = ct.parse_amount(str(edits["amount"]))
    if "name" in edits:
        pay.name = str(edits["name"])
    if "time" in edits:
        pay.base_time = ct.parse_clock(str(edits["time"]))
    if "avatar_seed" in edits:
        pay.payer_avatar = int(edits["avatar_seed"])


def _detail_rows(c: Canvas, x0: int, x1: int, y: int, rows: list[tuple[str, str]]) -> int:
    f = c.font(28)
    for label, value in rows:
        draw_text(c, (x0, y), label, f, c.style.subtext)
        draw_text(c, (x1, y), value, f, c.style.text, anchor="ra")
        y += c.p(62)
    return y


def _receipt(c: Canvas, pay: PaymentContent, top: int) -> None:
    st = c.style
    x0, x1 = c.p(32), c.width - c.p(32)
    clock = ct.fmt_clock(*pay.base_time)
    details = [
        ("付款方", pay.name),
        ("收款时间", f"{pay.date} {clock}:{pay.status_delta:02d}"),
        ("支付方式", pay.method),
        ("交易单号", pay.order_no[:22]),
    ]
    optional = {
        "商户单号": pay.order_no[4:26],
        "收款方备注": pay.note or "无",
        "到账时间": f"{pay.date} {clock}",
        "汇总": f"今日第{pay.total_count}笔",
    }
    details += [(name, optional[name]) for name in pay.extra_rows]
    card_bottom = top + c.p(400) + c.p(62) * len(details)
    c.draw.rounded_rectangle((x0, top + c.p(24), x1, card_bottom), radius=c.p(16), fill=st.card)
    cx = c.width / 2
    paste_avatar(c, pay.payer_avatar, round(cx - c.p(48)), top + c.p(60), c.p(96))
    draw_check_circle(c.draw, cx + c.p(40), top + c.p(146), c.p(18), st.accent)
    draw_text(c, (cx, top + c.p(180)), "收款成功", c.font(32), st.text, anchor="ma")
    draw_text(c, (cx, top + c.p(236)), f"+¥{pay.amount}", c.font(52, "bold"), st.text, anchor="ma")
    c.draw.line([(x0 + c.p(36), top + c.p(340)), (x1 - c.p(36), top + c.p(340))], fill=st.line, width=1)
    _detail_rows(c, x0 + c.p(36), x1 - c.p(36), top + c.p(370), details)
    y = card_bottom + c.p(24)
    if pay.ad_seed is not None:
        y = _ad_banner(c, y, pay.ad_seed)
    draw_text(
        c, (x0 + c.p(8), y), f"今日收款 {pay.total_count} 笔，共计 ¥{pay.total}", c.font(26), st.subtext
    )
    _rows_list(c, pay.rows, y + c.p(56))


def _ad_banner(c: Canvas, y: int, ad_seed: int) -> int:
    """The advert strip payment apps show under a receipt: a product photo band with a caption."""
    h = c.p(190)
    x0, x1 = c.p(32), c.width - c.p(32)
    strip = thumbnail(ad_seed, x1 - x0)
    crop_top = (strip.height - h) // 2
    c.image.paste(strip.crop((0, crop_top, strip.width, crop_top + h)), (x0, y))
    f = c.font(30, "bold")
    caption = ("限时优惠", "新人专享", "领取红包", "会员福利", "立即查看")[ad_seed % 5]
    c.draw.rounded_rectangle(
        (x0 + c.p(20), y + h - c.p(70), x0 + c.p(220), y + h - c.p(20)), radius=c.p(8), fill="#262626"
    )
    draw_text(c, (x0 + c.p(36), y + h - c.p(66)), caption, f, "#FFFFFF")
    draw_text(c, (x1 - c.p(16), y + c.p(10)), "广告", c.font(20), "#FFFFFF", anchor="ra")
    return y + h + c.p(24)


def _rows_list(c: Canvas, rows: list[tuple[str, str, str, int]], y: int) -> None:
    st = c.style
    x0, x1 = c.p(32), c.width - c.p(32)
    f, f_small = c.font(30), c.font(24)
    for name, amount, clock, seed in rows:
        if y > c.height:
            break
        c.draw.rectangle((x0, y, x1, y + c.p(120)), fill=st.card)
        paste_avatar(c, seed, x0 + c.p(24), y + c.p(22), c.p(76))
        draw_text(c, (x0 + c.p(120), y + c.p(20)), name, f, st.text)
        draw_text(c, (x0 + c.p(120), y + c.p(70)), f"今天 {clock}", f_small, st.subtext)
        draw_text(c, (x1 - c.p(24), y + c.p(38)), f"+{amount}", c.font(34, "bold"), st.text, anchor="ra")
        c.draw.line([(x0 + c.p(120), y + c.p(119)), (x1, y + c.p(119))], fill=st.line, width=1)
        y += c.p(120)


def _notice_rows(name: str, count: int, total: str, note: str) -> list[tuple[str, str]]:
    rows = [("付款方", name)]
    if note:
        rows.append(("收款备注", note))
    if count % 3 != 0:  # some notices carry the daily summary line, some do not
        rows.append(("汇总", f"今日第{count}笔，共计¥{total}"))
    return rows


def _notice_height(c: Canvas, rows: list[tuple[str, str]]) -> int:
    return c.p(340) + c.p(62) * len(rows)


def _notice_card(c: Canvas, y: int, amount: str, date: str, rows: list[tuple[str, str]]) -> int:
    st = c.style
    x0, x1 = c.p(32), c.width - c.p(32)
    h = _notice_height(c, rows)
    c.draw.rounded_rectangle((x0, y, x1, y + h), radius=c.p(12), fill=st.card)
    draw_text(c, (x0 + c.p(36), y + c.p(32)), "收款到账通知", c.font(32), st.text)
    draw_text(c, (x0 + c.p(36), y + c.p(84)), date, c.font(24), st.subtext)
    draw_text(c, (x0 + c.p(36), y + c.p(132)), "收款金额", c.font(26), st.subtext)
    draw_text(c, (x0 + c.p(36), y + c.p(174)), f"¥{amount}", c.font(44, "bold"), st.text)
    _detail_rows(c, x0 + c.p(36), x1 - c.p(36), y + c.p(262), rows)
    c.draw.line([(x0 + c.p(36), y + h - c.p(72)), (x1 - c.p(36), y + h - c.p(72))], fill=st.line, width=1)
    draw_text(c, (x0 + c.p(36), y + h - c.p(52)), "收款小账本", c.font(26), st.text)
    draw_text(c, (x1 - c.p(36), y + h - c.p(52)), ">", c.font(26), st.subtext, anchor="ra")
    return y + h


def _notices(c: Canvas, pay: PaymentContent, top: int) -> None:
    # The latest notice (the edited one) sits at the bottom; earlier ones scroll off the top.
    cards = []
    for i, (label, amount, note) in enumerate(pay.history):
        name, row_total = pay.rows[i % len(pay.rows)][0], pay.rows[(i + 1) % len(pay.rows)][1]
        cards.append((label, amount, label.split(" ")[0], _notice_rows(name, i + 1, row_total, note)))
    clock = ct.fmt_clock(*pay.base_time)
    cards.append(
        (
            clock,
            pay.amount,
            f"{pay.date} {clock}",
            _notice_rows(pay.name, pay.total_count, pay.total, pay.note),
        )
    )
    gap = c.p(90)
    y = c.height - c.p(30) - sum(_notice_height(c, rows) + gap for *_, rows in cards)
    for label, amount, date, rows in cards:
        h = _notice_height(c, rows) + gap
        if y + h > top:
            draw_text(c, (c.width / 2, y + c.p(26)), label, c.font(24), c.style.subtext, anchor="ma")
            _notice_card(c, y + gap, amount, date, rows)
        y += h


def _summary(c: Canvas, pay: PaymentContent, top: int) -> None:
    st = c.style
    banner_h = c.p(400)
    c.draw.rectangle((0, top, c.width, top + banner_h), fill=st.accent)
    for i in range(6):  # soft decorative circles
        r = c.p(90 + 40 * i)
        c.draw.ellipse((c.width - r, top - r // 2, c.width + r, top + r * 1.5), outline="#FFFFFF", width=1)
    draw_text(c, (c.p(48), top + c.p(36)), "今日战绩", c.font(44, "bold"), "#FFFFFF")
    draw_text(
        c, (c.p(48), top + c.p(110)), f"{pay.date} 截至 {ct.fmt_clock(*pay.base_time)}", c.font(26), "#FFFFFF"
    )
    draw_text(c, (c.p(48), top + c.p(170)), f"¥{pay.total}", c.font(76, "bold"), "#FFFFFF")
    f = c.font(28)
    draw_text(c, (c.p(48), top + c.p(300)), f"成交 {pay.total_count} 单", f, "#FFFFFF")
    draw_text(c, (c.width / 2, top + c.p(300)), f"新增代理 {pay.agents} 人", f, "#FFFFFF")
    y = top + banner_h + c.p(24)
    draw_text(c, (c.p(40), y), "最新到账", c.font(30, "bold"), st.text)
    rows = [(pay.name, pay.amount, ct.fmt_clock(*pay.base_time), pay.payer_avatar), *pay.rows[1:]]
    _rows_list(c, rows, y + c.p(60))


def render_payment(pay: PaymentContent, style: Style, size: tuple[int, int]) -> Image.Image:
    c = new_canvas(size, style)
    bar_h = c.p(64 if style.phone == "iphone" else 52)
    top = bar_h + c.p(88)
    layout = style.payment_layout
    if layout == "receipt":
        _receipt(c, pay, top)
    elif layout == "notices":
        _notices(c, pay, top)
    else:
        _summary(c, pay, top)
    status_time = ct.fmt_clock(*ct.add_minutes(pay.base_time, pay.status_delta))
    draw_status_bar(c, status_time, pay.battery, pay.signal)
    title = {"receipt": "收款详情", "notices": "微信支付", "summary": "收款助手"}[layout]
    draw_title_bar(c, bar_h, title, right_icon="person" if layout == "notices" else "dots")
    return c.image
