"""Every keyboard the bot shows, in one place.

Built as plain rows of buttons: aiogram's `InlineKeyboardBuilder` makes the same markup at
about eight times the cost, on every screen (`benchmarks/keyboards.py`, docs/PERFORMANCE.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TypeVar

from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonWebApp,
    WebAppInfo,
)
from aiogram.utils.i18n import gettext as _

from bot.catalog import CatalogSnapshot, Category, Platform, service_key
from bot.formatting import money, number
from bot.params import FieldKind, FieldSpec, fields_of
from bot.smmlaba import Service
from handlers.callbacks import (
    CategoryByPrice,
    CategoryPage,
    Confirm,
    Favourite,
    LanguageChoice,
    Link,
    Menu,
    Noop,
    NotifySetting,
    OrderCard,
    OrderService,
    OrdersPage,
    PlatformPage,
    Platforms,
    SearchHit,
    SearchResults,
    ServiceCard,
    Settle,
    SeveralConfirm,
    SeveralLinks,
    SeveralStep,
    Step,
    StepAction,
)
from storage.favourites import Favourite as FavouriteRow
from storage.orders import Order, OrderState
from storage.users import NotifyMode

T = TypeVar("T")

LABEL_LIMIT = 30
PER_PAGE = 8

Rows = list[list[InlineKeyboardButton]]


# Prices in lists and cards are for one unit per kind of service, whatever `per` the panel
# wrote ("0.05 per 100", "45.00 per 1000"), so that neighbours compare at a glance.
PER_COUNT = 1000


@dataclass(frozen=True)
class UnitPrice:
    """What `PER_COUNT` of a service ordered by count costs, else one item (a comment, a line
    of a multi-line field: what such an order counts)."""

    amount: Decimal
    by_count: bool

    def text(self, currency: str) -> str:
        """For a card: "RUB 0.50 per 1,000", "RUB 2.50 per item"."""
        price = money(self.amount, currency)
        if self.by_count:
            return _("{price} per {count}").format(price=price, count=number(PER_COUNT))
        return _("{price} per item").format(price=price)

    def tag(self, currency: str) -> str:
        """For a button, where room is short: "RUB 0.50/1K", "RUB 2.50/item"."""
        price = money(self.amount, currency)
        return (
            _("{price}/1K").format(price=price)
            if self.by_count
            else _("{price}/item").format(price=price)
        )


def unit_price(service: Service) -> UnitPrice | None:
    """The service's price per unit of its kind, or None when the panel's price did not parse
    (price on request)."""
    price = service.price
    if price.amount is None or price.per is None:
        return None
    # The panel's `count` field, even where its rule did not parse: it counts units.
    by_count = any(spec.is_quantity or spec.param == "count" for spec in fields_of(service))
    return UnitPrice(price.amount * (PER_COUNT if by_count else 1) / price.per, by_count)


def service_label(service: Service, currency: str, limit: int = LABEL_LIMIT) -> str:
    """A service's button: its name and, where known, its unit price after " · "."""
    unit = unit_price(service)
    name = label(service.name, limit)
    return name if unit is None else f"{name} · {unit.tag(currency)}"


def by_price(items: Sequence[Service]) -> list[Service]:
    """Cheapest first: services by count, then by the item; unpriced ones last, and ties in
    catalog order (the sort is stable)."""

    def key(service: Service) -> tuple[bool, bool, Decimal]:
        unit = unit_price(service)
        if unit is None:
            return True, True, Decimal(0)
        return False, not unit.by_count, unit.amount

    return sorted(items, key=key)


def label(text: str, limit: int = LABEL_LIMIT) -> str:
    """Short enough for a phone: longer names end in "…" (the full name is on the card)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def markup(rows: Rows) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[row for row in rows if row])


def pages(count: int, per_page: int = PER_PAGE) -> int:
    return max(1, -(-count // per_page))


def page_of(
    items: Sequence[T], page: int, per_page: int = PER_PAGE
) -> tuple[Sequence[T], int, int]:
    """(the items on `page`, that page, the number of pages): a page out of range (a stale
    button after the catalog shrank) shows the nearest one. Only the visible items become
    buttons: a category may hold hundreds of services."""
    total = pages(len(items), per_page)
    page = min(max(page, 0), total - 1)
    return items[page * per_page : (page + 1) * per_page], page, total


def pager(
    page: int, total: int, to_page: Callable[[int], CallbackData]
) -> list[InlineKeyboardButton]:
    """[◀️] 2/5 [▶️] on its own row; nothing when everything fits on one page."""
    if total <= 1:
        return []
    row = []
    if page > 0:
        row.append(button("◀️", to_page(page - 1)))
    row.append(button(f"{page + 1}/{total}", Noop()))
    if page + 1 < total:
        row.append(button("▶️", to_page(page + 1)))
    return row


def grid(buttons: Sequence[InlineKeyboardButton], columns: int) -> Rows:
    return [list(buttons[i : i + columns]) for i in range(0, len(buttons), columns)]


def back_cancel(back: CallbackData) -> list[InlineKeyboardButton]:
    return [button(_("⬅️ Back"), back), button(_("✖️ Cancel"), Menu(to="home"))]


def main_menu(
    *, connect: bool = False, recent: Sequence[Order] = (), catalog_app: str | None = None
) -> InlineKeyboardMarkup:
    """The main menu; `connect` adds a first row for people without a panel account; `recent`,
    the last orders of the services the person ordered last, a row each to order again;
    `catalog_app`, the Mini App's address, a button that opens it."""
    return markup(
        [
            [button(_("🔗 Link my SMMLaba account"), Link(action="connect"))] if connect else [],
            [catalog_app_button(catalog_app)] if catalog_app and not connect else [],
            *([again_button(order)] for order in recent),
            [
                button(_("🛒 New order"), Menu(to="new")),
                button(_("📦 My orders"), Menu(to="orders")),
            ],
            [
                button(_("🔍 Search"), Menu(to="search")),
                button(_("💰 Balance"), Menu(to="balance")),
            ],
            [button(_("⭐ Favourites"), Menu(to="favourites"))],
            [
                button(_("⚙️ Settings"), Menu(to="settings")),
                button(_("❓ Help"), Menu(to="help")),
            ],
        ]
    )


def catalog_app_button(url: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_("🛍 Catalog"), web_app=WebAppInfo(url=url))


def catalog_menu_button(url: str) -> MenuButtonWebApp:
    """The Mini App as the button beside the chat's input field."""
    return MenuButtonWebApp(text=_("🛍 Catalog"), web_app=WebAppInfo(url=url))


def again_button(order: Order) -> InlineKeyboardButton:
    """A recent service: its card, which offers the last order's values again."""
    return button(
        "🔁 " + label(order.service_name, 40), ServiceCard(service=service_key(order.service_id))
    )


def connect_menu() -> InlineKeyboardMarkup:
    return markup(
        [
            [button(_("🔗 Link my SMMLaba account"), Link(action="connect"))],
            [button(_("🏠 Menu"), Menu(to="home"))],
        ]
    )


def cancel_only() -> InlineKeyboardMarkup:
    return markup([[button(_("✖️ Cancel"), Menu(to="home"))]])


def connect_step() -> InlineKeyboardMarkup:
    """Under the key prompt: start over with another e-mail, or stop."""
    return markup(
        [
            [button(_("✏️ Another e-mail"), Link(action="email"))],
            [button(_("✖️ Cancel"), Menu(to="home"))],
        ]
    )


def account_menu(*, linked: bool) -> InlineKeyboardMarkup:
    first = (
        button(_("🔌 Unlink this account"), Link(action="disconnect"))
        if linked
        else button(_("🔗 Link my own account"), Link(action="connect"))
    )
    return markup([[first], [button(_("🏠 Menu"), Menu(to="home"))]])


def confirm_unlink() -> InlineKeyboardMarkup:
    return markup(
        [
            [button(_("🔌 Yes, unlink and delete the key"), Link(action="unlink"))],
            [button(_("Keep it"), Link(action="account"))],
        ]
    )


def to_orders_and_menu() -> InlineKeyboardMarkup:
    return markup(
        [[button(_("📦 My orders"), Menu(to="orders")), button(_("🏠 Menu"), Menu(to="home"))]]
    )


def to_orders() -> InlineKeyboardMarkup:
    return markup([[button(_("📦 My orders"), Menu(to="orders"))]])


def to_menu() -> InlineKeyboardMarkup:
    return markup([[button(_("🏠 Menu"), Menu(to="home"))]])


def platforms(snapshot: CatalogSnapshot, page: int) -> InlineKeyboardMarkup:
    shown, page, total = page_of(snapshot.platforms, page)
    items = [
        button(label(f"{p.name} ({p.service_count})"), PlatformPage(platform=p.key)) for p in shown
    ]
    return markup(
        [
            *grid(items, 2),
            pager(page, total, lambda n: Platforms(page=n)),
            [button(_("⬅️ Back"), Menu(to="home")), button(_("✖️ Cancel"), Menu(to="home"))],
        ]
    )


def categories(platform: Platform, page: int) -> InlineKeyboardMarkup:
    shown, page, total = page_of(platform.categories, page)
    items = [
        button(label(f"{c.name} ({len(c.services)})"), category_or_its_service(platform, c))
        for c in shown
    ]
    return markup(
        [
            *grid(items, 2),
            pager(page, total, lambda n: PlatformPage(platform=platform.key, page=n)),
            back_cancel(Platforms()),
        ]
    )


def services(
    platform: Platform, category: Category, page: int, currency: str, *, cheapest: bool = False
) -> InlineKeyboardMarkup:
    """A category's services with their unit prices, in catalog order or `cheapest` first;
    a toggle between the two when there are prices to compare."""
    listed = by_price(category.services) if cheapest else category.services
    shown, page, total = page_of(listed, page)
    items = [
        button(service_label(s, currency), ServiceCard(service=service_key(s.id))) for s in shown
    ]
    page_data = CategoryByPrice if cheapest else CategoryPage
    toggle: list[InlineKeyboardButton] = []
    if sum(unit_price(s) is not None for s in category.services) > 1:
        toggle_data = CategoryPage if cheapest else CategoryByPrice
        toggle = [
            button(
                _("↩️ Catalog order") if cheapest else _("💰 Cheapest first"),
                toggle_data(platform=platform.key, category=category.key),
            )
        ]
    return markup(
        [
            toggle,
            *grid(items, 1),
            pager(
                page,
                total,
                lambda n: page_data(platform=platform.key, category=category.key, page=n),
            ),
            back_cancel(PlatformPage(platform=platform.key)),
        ]
    )


def category_or_its_service(platform: Platform, category: Category) -> CallbackData:
    """A category of one service opens that service: a list of one is a tap for nothing."""
    if len(category.services) == 1:
        return ServiceCard(service=service_key(category.services[0].id))
    return CategoryPage(platform=platform.key, category=category.key)


def service_card(
    service: Service,
    platform: Platform,
    category: Category,
    *,
    found_by: str = "",
    share: str | None = None,
    favourite: bool = False,
    last_order: int | None = None,
    several: bool = False,
) -> InlineKeyboardMarkup:
    """Back goes where the card was opened from: the results of the search `found_by` (its
    words, see `search_words`), else the category, or the platform when the category holds
    only this service. `share`: Telegram's share page for a link that opens the card.
    `favourite`: whether the person starred it; `last_order`: their last order of it, whose
    values "Same as last time" offers again; `several`: it takes several links at once."""
    back: CallbackData
    if found_by:
        back = SearchResults(query=found_by)
    elif len(category.services) == 1:
        back = PlatformPage(platform=platform.key)
    else:
        back = CategoryPage(platform=platform.key, category=category.key)
    return markup(
        [
            [
                button(
                    _("🛒 Order this"),
                    OrderService(service=service_key(service.id), found_by=found_by),
                )
            ],
            [button(_("🔁 Same as last time"), OrderCard(order=last_order, action="again"))]
            if last_order is not None
            else [],
            [button(_("📋 Several links"), SeveralLinks(service=service_key(service.id)))]
            if several
            else [],
            [favourite_button(service, favourite)],
            [InlineKeyboardButton(text=_("📤 Share"), url=share)] if share else [],
            back_cancel(back),
        ]
    )


def several_prompt() -> InlineKeyboardMarkup:
    return markup([[button(_("✖️ Cancel"), SeveralStep(action="cancel"))]])


def several_amounts(presets: Sequence[int]) -> InlineKeyboardMarkup:
    amounts = [button(number(n), SeveralStep(action="amount", value=n)) for n in presets]
    return markup([*grid(amounts, 3), [button(_("✖️ Cancel"), SeveralStep(action="cancel"))]])


def several_rest(token: str) -> InlineKeyboardMarkup:
    """Under the progress: sends the lines not sent yet (none, while the batch is under way)."""
    return markup([[button(_("▶️ Send the rest"), SeveralConfirm(token=token))]])


def several_resend(token: str, count: int) -> InlineKeyboardMarkup:
    """Under an outcome with lines that were not sent (nothing ordered for them)."""
    again = _("▶️ Send the {count} not sent").format(count=count)
    return markup(
        [[button(again, SeveralConfirm(token=token))], [button(_("🏠 Menu"), Menu(to="home"))]]
    )


def several_confirmation(
    token: str, count: int, *, together: bool, pays: bool, topup_url: str | None
) -> InlineKeyboardMarkup:
    """Place them (when the balance pays), how their ends are told (a tap switches it), a
    way to top up, Cancel."""
    tell = (
        _("🔔 When all have ended: one message")
        if together
        else _("🔔 As each one ends: a message each")
    )
    rows: Rows = []
    if pays:
        rows.append(
            [button(_("✅ Place {count} orders").format(count=count), SeveralConfirm(token=token))]
        )
    elif topup_url:
        rows.append([InlineKeyboardButton(text=_("💳 Top up"), url=topup_url)])
    rows.append([button(tell, SeveralStep(action="tell"))])
    rows.append([button(_("✖️ Cancel"), SeveralStep(action="cancel"))])
    return markup(rows)


def favourite_button(service: Service, favourite: bool) -> InlineKeyboardButton:
    return favourite_button_for(service_key(service.id), favourite)


def with_star(card: InlineKeyboardMarkup, tapped: str, on: bool) -> InlineKeyboardMarkup:
    """A service card's buttons as they are, the ⭐ just tapped (`tapped`, its data) showing
    the new state: the card's Back still leads where it led."""
    swapped = favourite_button_for(Favourite.unpack(tapped).service, on)
    return markup(
        [[swapped if b.callback_data == tapped else b for b in row] for row in card.inline_keyboard]
    )


def favourite_button_for(key: str, favourite: bool) -> InlineKeyboardButton:
    if favourite:
        return button(_("⭐ In favourites"), Favourite(service=key, on=False))
    return button(_("☆ Add to favourites"), Favourite(service=key, on=True))


def favourites(shown: Sequence[Service], gone: Sequence[FavouriteRow]) -> InlineKeyboardMarkup:
    """The starred services still offered, a row each; those gone, a row each to unstar."""
    return markup(
        [
            *([button(label(s.name, 60), ServiceCard(service=service_key(s.id)))] for s in shown),
            *(
                [
                    button(
                        _("🗑 {name}").format(name=label(f.service_name, 50)),
                        Favourite(service=service_key(f.service_id), on=False, listed=True),
                    )
                ]
                for f in gone
            ),
            [button(_("🏠 Menu"), Menu(to="home"))],
        ]
    )


def prompt(spec: FieldSpec, *, has_value: bool) -> InlineKeyboardMarkup:
    rows: Rows = []
    if spec.kind is FieldKind.CHOICE:
        rows.extend(
            grid(
                [
                    button(label(c), Step(action=StepAction.PICK, index=i))
                    for i, c in enumerate(spec.choices)
                ],
                2,
            )
        )
    if spec.presets:
        rows.append(
            [button(number(n), Step(action=StepAction.PRESET, index=n)) for n in spec.presets]
        )
    extra = []
    if has_value:
        extra.append(button(_("↩️ Keep current"), Step(action=StepAction.KEEP)))
    if not spec.required:
        extra.append(button(_("⏭ Skip"), Step(action=StepAction.SKIP)))
    rows.append(extra)
    rows.append(
        [
            button(_("⬅️ Back"), Step(action=StepAction.BACK)),
            button(_("✖️ Cancel"), Step(action=StepAction.CANCEL)),
        ]
    )
    return markup(rows)


def confirmation(token: str) -> InlineKeyboardMarkup:
    return markup(
        [
            [
                button(_("✅ Confirm"), Confirm(token=token)),
                button(_("✏️ Change"), Step(action=StepAction.CHANGE)),
                button(_("✖️ Cancel"), Step(action=StepAction.CANCEL)),
            ]
        ]
    )


def short_of_funds(affordable: int | None, topup_url: str | None) -> InlineKeyboardMarkup:
    """Under a confirmation the balance does not pay for: no Confirm; the largest amount it
    pays for, the way to top it up, and a fresh look once topped up."""
    rows: Rows = []
    if affordable is not None:
        amount = _("🔢 Order {amount} instead").format(amount=number(affordable))
        rows.append([button(amount, Step(action=StepAction.AFFORD))])
    topped_up = button(_("🔄 I've topped up"), Step(action=StepAction.RECHECK))
    if topup_url:
        rows.append([InlineKeyboardButton(text=_("💳 Top up"), url=topup_url), topped_up])
    else:
        rows.append([topped_up])
    rows.append(
        [
            button(_("✏️ Change"), Step(action=StepAction.CHANGE)),
            button(_("✖️ Cancel"), Step(action=StepAction.CANCEL)),
        ]
    )
    return markup(rows)


def change(fields: Sequence[FieldSpec]) -> InlineKeyboardMarkup:
    items = [
        button(label("✏️ " + spec.label), Step(action=StepAction.FIELD, index=i))
        for i, spec in enumerate(fields)
    ]
    return markup([*grid(items, 2), [button(_("⬅️ Back"), Step(action=StepAction.REVIEW))]])


def refusal() -> InlineKeyboardMarkup:
    return markup(
        [
            [
                button(_("✏️ Fix"), Step(action=StepAction.FIX)),
                button(_("✖️ Cancel"), Step(action=StepAction.CANCEL)),
            ]
        ]
    )


def placed(order_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("📦 View order"), OrderCard(order=order_id))]])


def _settle_rows(order_id: int) -> Rows:
    return [
        [button(_("✅ It's on the panel"), Settle(order=order_id, action="found"))],
        [button(_("✖️ It isn't there"), Settle(order=order_id, action="absent"))],
    ]


def settle_prompt(order_id: int) -> InlineKeyboardMarkup:
    return markup([[button(_("⬅️ Back"), OrderCard(order=order_id))]])


def settle_found(order_id: int) -> InlineKeyboardMarkup:
    """Under what the panel showed for the id the person sent."""
    return markup(
        [
            [button(_("✅ Yes, track it"), Settle(order=order_id, action="track"))],
            [button(_("⬅️ Back"), OrderCard(order=order_id))],
        ]
    )


def orders_list(items: Sequence[Order], page: int, total: int) -> InlineKeyboardMarkup:
    buttons = [button(label(order_label(o), 20), OrderCard(order=o.id)) for o in items]
    return markup(
        [
            *grid(buttons, 2),
            pager(page, total, lambda n: OrdersPage(page=n)),
            [button(_("🌐 Track an order from the website"), Menu(to="track"))],
            [button(_("📊 Spending"), Menu(to="spent")), button(_("🏠 Menu"), Menu(to="home"))],
        ]
    )


def no_orders() -> InlineKeyboardMarkup:
    return markup(
        [
            [button(_("🛒 New order"), Menu(to="new"))],
            [button(_("🌐 Track an order from the website"), Menu(to="track"))],
            [button(_("🏠 Menu"), Menu(to="home"))],
        ]
    )


def low_balance_prompt() -> InlineKeyboardMarkup:
    return markup([[button(_("⬅️ Settings"), Menu(to="settings"))]])


def track_prompt() -> InlineKeyboardMarkup:
    """Under the question for an order's number: ways out that end the question."""
    return markup(
        [[button(_("⬅️ My orders"), Menu(to="orders")), button(_("🏠 Menu"), Menu(to="home"))]]
    )


def notification(order_id: int) -> InlineKeyboardMarkup:
    return markup(
        [
            [
                button(_("📦 View order"), OrderCard(order=order_id)),
                button(_("🔁 Order again"), OrderCard(order=order_id, action="again")),
            ]
        ]
    )


def order_label(order: Order) -> str:
    """`#7000123`, as plain text for a button: the panel's id is the panel's text, so a message
    (HTML) shows it through `quote()`."""
    return f"#{order.panel_order_id}" if order.panel_order_id else f"№{order.id}"


def status_card(order: Order) -> InlineKeyboardMarkup:
    """Under an order's live card (the confirmation it was placed from, edited as it moves):
    what can be done with the order, and no way elsewhere, so the message stays its card."""
    if order.state is OrderState.UNCERTAIN:
        return markup(_settle_rows(order.id))
    return markup([_order_actions(order)])


def order_card(order: Order) -> InlineKeyboardMarkup:
    if order.state is OrderState.UNCERTAIN:
        return markup(
            [
                *_settle_rows(order.id),
                [button(_("⬅️ My orders"), OrdersPage()), button(_("🏠 Menu"), Menu(to="home"))],
            ]
        )
    return markup(
        [
            _order_actions(order),
            [button(_("⬅️ My orders"), OrdersPage()), button(_("🏠 Menu"), Menu(to="home"))],
        ]
    )


def _order_actions(order: Order) -> list[InlineKeyboardButton]:
    actions = []
    if order.panel_order_id and not order.state.is_final:
        actions.append(button(_("🔄 Refresh"), OrderCard(order=order.id, action="refresh")))
    if order.state is not OrderState.SUBMITTING:  # its fate is still being settled
        actions.append(button(_("🔁 Order again"), OrderCard(order=order.id, action="again")))
    if order.panel_order_id and not order.state.is_final:
        if order.muted:
            actions.append(button(_("🔔 Unmute"), OrderCard(order=order.id, action="unmute")))
        else:
            actions.append(button(_("🔕 Mute"), OrderCard(order=order.id, action="mute")))
    return actions


def languages(names: dict[str, str], chosen: str | None) -> InlineKeyboardMarkup:
    def mark(code: str | None, text: str) -> str:
        return f"✅ {text}" if code == chosen else text

    rows = [[button(mark(code, name), LanguageChoice(code=code))] for code, name in names.items()]
    rows.append([button(mark(None, _("🌐 As in Telegram")), LanguageChoice(code="auto"))])
    return markup(rows)


def notify_settings(mode: NotifyMode, *, low_balance: bool = False) -> InlineKeyboardMarkup:
    """`low_balance`: the person may set the low-balance warning (their own account's, or
    an admin the operator's)."""

    def mark(option: NotifyMode, text: str) -> str:
        return f"✅ {text}" if option is mode else text

    return markup(
        [
            [button(mark(NotifyMode.ALL, _("Start and end")), NotifySetting(mode="all"))],
            [button(mark(NotifyMode.FINAL, _("Only when done")), NotifySetting(mode="final"))],
            [button(_("💰 Low-balance warning"), Menu(to="low_balance"))] if low_balance else [],
            [button(_("🌐 Language"), Menu(to="language"))],
            [button(_("🏠 Menu"), Menu(to="home"))],
        ]
    )


def search_results(found: Sequence[Service], words: str, currency: str) -> InlineKeyboardMarkup:
    """The services a search found, with their unit prices (`words`: the search, for their
    cards' Back); with none, a way into the catalog."""
    hits = [
        [
            button(
                service_label(s, currency, 40),
                SearchHit(service=service_key(s.id), query=words),
            )
        ]
        for s in found
    ]
    return markup(
        [
            *hits,
            [] if found else [button(_("🛒 Browse the catalog"), Menu(to="new"))],
            [
                button(_("🔍 Search again"), Menu(to="search")),
                button(_("🏠 Menu"), Menu(to="home")),
            ],
        ]
    )


def site_platforms(platforms: Sequence[Platform]) -> InlineKeyboardMarkup:
    """The platforms with services for a link's site."""
    items = [
        button(label(f"{p.name} ({p.service_count})"), PlatformPage(platform=p.key))
        for p in platforms[:PER_PAGE]
    ]
    return markup([*grid(items, 2), [button(_("🏠 Menu"), Menu(to="home"))]])
