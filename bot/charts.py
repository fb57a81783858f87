"""The spending chart: a bar a month, drawn with Pillow as a PNG. Only digits are drawn (the
months as numbers, the years, the amounts): Pillow's own font has them, so the picture
needs no font on the machine and reads the same in every language; the words go in the
message around it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 720, 360
MARGIN, TOP, BOTTOM = 24, 40, 56  # room for the amounts above, the months below
BACKGROUND, BAR, LATEST, INK, FAINT = "#ffffff", "#8fb4e8", "#2f6fd0", "#1f2328", "#d0d7de"


@dataclass(frozen=True, slots=True)
class Month:
    year: int
    month: int  # 1..12
    spent: Decimal


def short_amount(amount: Decimal) -> str:
    """An amount above its bar: whole from 10 up (2,300), to the cent below (0.13, 7.5)."""
    if amount >= 10:
        return f"{amount.quantize(Decimal(1), ROUND_HALF_UP):,}"
    cents = f"{amount.quantize(Decimal('0.01'), ROUND_HALF_UP):f}"
    return cents.rstrip("0").rstrip(".") if "." in cents else cents


def monthly_bars(months: Sequence[Month]) -> bytes:
    """A PNG: one bar per month, oldest on the left, the latest darker; its amount above
    each bar that has one."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    small, large = ImageFont.load_default(size=14), ImageFont.load_default(size=16)
    base = HEIGHT - BOTTOM
    draw.line([(MARGIN, base), (WIDTH - MARGIN, base)], fill=FAINT, width=2)
    highest = max((m.spent for m in months), default=Decimal(0))
    slot = (WIDTH - 2 * MARGIN) / max(1, len(months))
    for index, month in enumerate(months):
        left = MARGIN + index * slot + slot * 0.15
        right = MARGIN + (index + 1) * slot - slot * 0.15
        middle = (left + right) / 2
        if month.spent > 0 and highest > 0:
            tall = float(month.spent / highest) * (base - TOP)
            colour = LATEST if index == len(months) - 1 else BAR
            draw.rectangle([(left, base - max(2.0, tall)), (right, base - 1)], fill=colour)
            label = short_amount(month.spent)
            draw.text((middle, base - tall - 4), label, font=small, fill=INK, anchor="md")
        draw.text((middle, base + 8), f"{month.month:02d}", font=large, fill=INK, anchor="mt")
        if index == 0 or month.month == 1:
            draw.text((middle, base + 30), str(month.year), font=small, fill=INK, anchor="mt")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
