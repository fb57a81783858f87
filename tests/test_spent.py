"""/spent, end to end: this month's orders and total by platform, and the year as a chart sent
as a picture (checked as the PNG it is), in English and Russian; and in the terminal demo."""

from __future__ import annotations

import datetime as dt
import io
import time
from decimal import Decimal
from pathlib import Path

from babel.dates import format_date
from PIL import Image

from bot.charts import short_amount
from bot.sandbox.telegram import ChatMessage, SimulatedUser
from storage import orders
from storage.orders import CheckResult, OrderState
from tests.flows import place_order
from tests.harness import BotHarness
from tests.helpers import russian
from tests.test_demo import SCRIPT, demo_with


def picture(user: SimulatedUser) -> ChatMessage | None:
    return next((m for m in reversed(user.bot_messages) if m.photo is not None), None)


async def an_old_order(
    bot: BotHarness, user_id: int, months_ago: int, price: str, *, delivered: int = 1000
) -> None:
    """An order of 1,000 placed `months_ago` months back (the bot has been around that long),
    ended with `delivered` of them delivered."""
    assert bot.services is not None
    db = bot.services.db
    token = f"old-{months_ago}-{price}"
    placed, _ = await orders.start_submitting(
        db,
        token=token,
        user_id=user_id,
        chat_id=user_id,
        account="alice@example.com",
        service_id="389",
        service_name="Instagram Likes",
        params={"url": "https://instagram.com/p/old", "count": "1000"},
        quantity=1000,
        total=Decimal(price),
    )
    await orders.mark_placed(
        db, token, panel_order_id=f"69{months_ago}{len(price)}", charged=Decimal(price),
        next_check_at=time.time(),
    )  # fmt: skip
    ended = OrderState.COMPLETED if delivered == 1000 else OrderState.PARTIAL
    done = CheckResult(ended, "5", "", 1000 - delivered, None)
    await orders.record_check(db, placed.id, done, event=False)
    when = dt.datetime.now(dt.UTC) - dt.timedelta(days=31 * months_ago)
    await db.execute("UPDATE orders SET created_at = ? WHERE id = ?", (when.timestamp(), placed.id))


async def test_this_months_spending_by_platform_and_the_year_as_a_picture(
    harness: BotHarness,
) -> None:
    anna = harness.user(501, "Anna")
    await anna.send("/spent")
    assert "No orders this month." in anna.last_message.text
    assert picture(anna) is None  # nothing to draw

    await place_order(anna)
    await place_order(anna)
    await an_old_order(harness, 501, 3, "120.00")
    await an_old_order(harness, 501, 5, "7.50")
    await an_old_order(harness, 501, 4, "10.00", delivered=250)  # a quarter: 2.50
    cancelled = dict(harness.panel.orders)  # a third this month, cancelled: its money is back
    await place_order(anna)
    [third] = [i for i in harness.panel.orders if i not in cancelled]
    assert harness.services is not None
    mine = await orders.list_for_user(harness.services.db, 501, limit=10)
    [row] = [o for o in mine if o.panel_order_id == third]
    gone = CheckResult(OrderState.CANCELLED, "7", "", 1000, None)
    await orders.record_check(harness.services.db, row.id, gone, event=False)

    await anna.send("/orders")
    await anna.press("📊 Spending")
    month = format_date(dt.datetime.now(dt.UTC).date(), "LLLL y", locale="en")
    summary = [m.text for m in anna.bot_messages if "📊 Spent in" in m.text][-1]
    assert f"📊 Spent in {month}" in summary
    assert "Orders: 2 · RUB\u00a01.00" in summary
    assert "• Instagram: Orders: 2 · RUB\u00a01.00" in summary
    chart = picture(anna)
    assert chart is not None
    assert chart.text == "📊 The last 12 months: RUB\u00a0131.00 in all"
    assert chart.photo is not None
    with Image.open(io.BytesIO(chart.photo)) as image:
        assert (image.format, image.size) == ("PNG", (720, 360))


async def test_spent_speaks_russian(harness: BotHarness) -> None:
    ru = russian()
    ivan = harness.user(600, "Иван", language_code="ru")
    await ivan.send("/start")
    await an_old_order(harness, 600, 0, "3.00")  # this month's
    await ivan.send("/spent")
    month = format_date(dt.datetime.now(dt.UTC).date(), "LLLL y", locale="ru")
    text = next(m.text for m in ivan.bot_messages if m.text.startswith("📊 Расходы"))
    assert (
        ru("📊 <b>Spent in {month}</b>", month=month).replace("<b>", "").replace("</b>", "") in text
    )
    chart = picture(ivan)
    assert chart is not None
    assert chart.text.startswith("📊 Последние 12 месяцев")


async def test_the_demo_saves_the_chart_and_prints_where(tmp_path: Path) -> None:
    chat = await demo_with(tmp_path, [*SCRIPT, ("Order #7000000", "/spent"), ("🖼", None)])
    saved = [line for line in chat.splitlines() if line.startswith("🖼 picture saved to ")]
    assert saved, chat
    path = Path(saved[-1].removeprefix("🖼 picture saved to "))
    assert path.parent == tmp_path / "pictures"
    with path.open("rb") as saved_picture:  # noqa: ASYNC230 - a test's one small read
        assert saved_picture.read(8) == b"\x89PNG\r\n\x1a\n"


def test_amounts_above_the_bars_are_short() -> None:
    assert [short_amount(Decimal(v)) for v in ("0.125", "7.50", "9.999", "10.4", "2300.5")] == [
        "0.13",
        "7.5",
        "10",
        "10",
        "2,301",
    ]
