"""The Mini App's API over real HTTP, against the real bot: who may ask (Telegram's signed
initData, the allowlist), the catalog and its search, the form checked by the chat's rules,
and an order placed once however often it is submitted, which the chat hears of."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.sandbox.telegram import SimulatedUser
from tests.conftest import BotFactory
from tests.harness import BotHarness
from tests.helpers import eventually, finished
from webapp.api import INIT_DATA_HEADER

LIKES = "389"  # Instagram Likes: 0.05 per 100, 50 to 10,000, a link with /p/
GOOD = {"url": "https://instagram.com/p/abc", "count": "2000"}


class Page:
    """The page's requests, as one person's Mini App makes them."""

    def __init__(self, url: str, person: SimulatedUser, http: httpx.AsyncClient) -> None:
        self.url, self.person, self.http = url, person, http

    def _headers(self) -> dict[str, str]:
        return {INIT_DATA_HEADER: self.person.web_app_init_data()}

    async def get(self, path: str, **params: str) -> Any:
        answer = await self.http.get(self.url + path, params=params, headers=self._headers())
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.http.post(self.url + path, json=body, headers=self._headers())


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def test_the_page_and_its_files_are_served(mini_app: str, http: httpx.AsyncClient) -> None:
    html = await http.get(mini_app)
    assert html.status_code == 200
    assert '<script src="static/app.js">' in html.text
    script = await http.get(mini_app + "static/app.js")
    assert script.status_code == 200
    assert "X-Telegram-Init-Data" in script.text


async def test_missing_forged_or_stale_init_data_gets_401_and_no_data(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    anna = harness.user(501, "Anna")
    genuine = anna.web_app_init_data()
    forged = genuine.replace("%22id%22%3A501", "%22id%22%3A502")  # Boris's id, Anna's hash
    assert forged != genuine
    stale = anna.web_app_init_data(signed_at=time.time() - 2 * 3600)
    for init_data in ("", forged, stale, "user=1&hash=00"):
        for path in ("catalog", "orders", "service/389"):
            answer = await http.get(f"{mini_app}api/{path}", headers={INIT_DATA_HEADER: init_data})
            assert answer.status_code == 401, (init_data, path)
            assert answer.json() == {"error": "unauthorized"}
        order = await http.post(
            f"{mini_app}api/order",
            json={"service": LIKES, "values": GOOD, "token": "t" * 16, "terms": ""},
            headers={INIT_DATA_HEADER: init_data},
        )
        assert order.status_code == 401
    assert harness.panel_calls("add") == 0
    catalog = await http.get(f"{mini_app}api/catalog", headers={INIT_DATA_HEADER: genuine})
    assert catalog.status_code == 200


async def test_someone_outside_the_allowlist_is_told_their_id(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    stranger = Page(mini_app, harness.user(9001, "Stranger"), http)
    answer = await http.get(
        f"{mini_app}api/catalog", headers={INIT_DATA_HEADER: stranger.person.web_app_init_data()}
    )
    assert answer.status_code == 403
    assert "9001" in answer.json()["error"]


async def test_the_catalog_and_search_in_english_and_russian(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    anna = Page(mini_app, harness.user(501, "Anna"), http)
    catalog = await anna.get("api/catalog")
    assert catalog["locale"] == "en"
    assert "Instagram" in [platform["name"] for platform in catalog["platforms"]]
    likes = next(service for service in catalog["services"] if service["id"] == LIKES)
    assert (likes["min"], likes["max"], likes["per_1000"]) == (50, 10000, "0.5000")
    assert likes["unit"].endswith("per 1,000")
    found = await anna.get("api/search", q="instagram likes")
    assert LIKES in found["ids"]
    # Typed in Russian, as /search takes it: views, whatever language their names are in.
    services = {s["id"]: s["name"].lower() for s in catalog["services"]}
    found = await anna.get("api/search", q="просмотры")
    assert found["ids"]
    assert all("views" in services[i] or "просмотр" in services[i] for i in found["ids"])
    boris = Page(mini_app, harness.user(502, "Борис", language_code="ru"), http)
    russian_page = await boris.get("api/catalog")
    assert russian_page["locale"] == "ru"
    assert russian_page["texts"]["orders"] == "📦 Мои заказы"


async def test_the_form_is_checked_by_the_chats_rules_beside_each_field(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    anna = Page(mini_app, harness.user(501, "Anna"), http)
    service = await anna.get(f"api/service/{LIKES}")
    fields = {field["param"]: field for field in service["fields"]}
    assert fields["count"]["kind"] == "number"
    assert (fields["count"]["low"], fields["count"]["high"]) == (50, 10000)
    assert fields["url"]["label"] == "Link"
    wrong = await anna.post(
        "api/quote", {"service": LIKES, "values": {"url": "hello", "count": "10"}}
    )
    errors = wrong.json()["errors"]
    assert set(errors) == {"url", "count"}
    assert "below the minimum of 50" in errors["count"]
    right = (await anna.post("api/quote", {"service": LIKES, "values": GOOD})).json()
    assert right["errors"] == {}
    # 2,000 at 0.05 per 100, exactly; the balance as the panel tells it.
    expected = harness.panel.accounts[harness.account.username].balance  # type: ignore[union-attr]
    assert right["total"] == "RUB\xa01.00"
    assert right["balance"] == f"RUB\xa0{expected:,.2f}"
    assert right["short"] is False


async def order_of(anna: Page, token: str, terms: str) -> httpx.Response:
    return await anna.post(
        "api/order", {"service": LIKES, "values": GOOD, "token": token, "terms": terms}
    )


async def test_an_order_is_placed_once_however_often_it_is_submitted(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    person = harness.user(501, "Anna")
    anna = Page(mini_app, person, http)
    terms = (await anna.get(f"api/service/{LIKES}"))["terms"]
    token = "a1b2c3d4e5f6a7b8"
    # A double tap: both at once. Then the page reloads and submits again.
    first, second = await asyncio.gather(order_of(anna, token, terms), order_of(anna, token, terms))
    again = await order_of(anna, token, terms)
    answers = [first.json(), second.json(), again.json()]
    assert [a.status_code for a in (first, second, again)] == [200, 200, 200]
    assert harness.panel_calls("add") == 1
    assert sorted(a["outcome"] for a in answers) == ["already", "already", "placed"]
    assert len({a["order"]["id"] for a in answers}) == 1
    [placed] = harness.panel.orders.values()
    assert (placed.url, placed.count) == (GOOD["url"], 2000)
    # The chat has the order's card, once, as for an order placed there.
    cards = [m for m in person.bot_messages if "Instagram Likes" in m.text]
    assert len(cards) == 1
    assert "placed" in cards[0].text
    mine = (await anna.get("api/orders"))["orders"]
    assert [o["panel_id"] for o in mine] == [placed.id]
    # Another token is another order.
    other = await order_of(anna, "b1b2c3d4e5f6a7b8", terms)
    assert other.json()["outcome"] == "placed"
    assert harness.panel_calls("add") == 2


async def test_changed_terms_or_a_bad_token_place_nothing(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    anna = Page(mini_app, harness.user(501, "Anna"), http)
    changed = await order_of(anna, "c1b2c3d4e5f6a7b8", "an older price")
    assert changed.status_code == 409
    assert changed.json()["changed"] is True
    bad = await order_of(anna, "no", (await anna.get(f"api/service/{LIKES}"))["terms"])
    assert bad.status_code == 400
    invalid = await anna.post(
        "api/order",
        {
            "service": LIKES,
            "values": {"url": "https://instagram.com/p/abc", "count": "5"},
            "token": "d1b2c3d4e5f6a7b8",
            "terms": (await anna.get(f"api/service/{LIKES}"))["terms"],
        },
    )
    assert invalid.status_code == 422
    assert set(invalid.json()["errors"]) == {"count"}
    assert harness.panel_calls("add") == 0


async def test_another_persons_orders_are_never_visible(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    anna = Page(mini_app, harness.user(501, "Anna"), http)
    boris = Page(mini_app, harness.user(502, "Boris"), http)
    terms = (await anna.get(f"api/service/{LIKES}"))["terms"]
    token = "e1b2c3d4e5f6a7b8"
    assert (await order_of(anna, token, terms)).json()["outcome"] == "placed"
    assert (await boris.get("api/orders"))["orders"] == []
    # Anna's token, submitted by Boris, is Boris's own confirmation: it finds nothing of hers.
    his = (await order_of(boris, token, terms)).json()
    assert his["outcome"] == "placed"
    assert [o["id"] for o in (await boris.get("api/orders"))["orders"]] == [his["order"]["id"]]
    assert len((await anna.get("api/orders"))["orders"]) == 1


async def test_with_a_public_address_the_menu_and_the_chats_button_open_it(
    make_bot: BotFactory,
) -> None:
    async with make_bot().running() as without:
        anna = without.user(501, "Anna")
        await anna.send("/start")
        assert not any(b.web_app for row in anna.last_message.buttons for b in row)
        assert without.emulator.menu_buttons == {}
    url = "https://bot.example.com/app/"
    async with make_bot(webapp_url=url, database="other.sqlite3").running() as bot:
        await anna.send("/start")
        assert anna.last_message.find_button("🛍 Catalog") is not None
        assert anna.last_message.find_button("🛍 Catalog").web_app == url  # type: ignore[union-attr]
        assert bot.emulator.menu_buttons[None] == {
            "type": "web_app",
            "text": "🛍 Catalog",
            "web_app": {"url": url},
        }


async def test_the_chats_button_speaks_the_persons_language(make_bot: BotFactory) -> None:
    """The button every chat has is set at start-up, in English; a person's own chat gets
    it in their language at /start, and again when they choose another."""
    url = "https://bot.example.com/app/"
    async with make_bot(webapp_url=url).running() as bot:
        anna = bot.user(501, "Анна", language_code="ru")
        await anna.send("/start")
        assert bot.emulator.menu_buttons[anna.id] == {
            "type": "web_app",
            "text": "🛍 Каталог",
            "web_app": {"url": url},
        }
        await anna.send("/language")
        await anna.press("English")
        assert anna.last_message.text.startswith("🌐 Done.")
        assert bot.emulator.menu_buttons[anna.id]["text"] == "🛍 Catalog"
        assert bot.emulator.menu_buttons[None]["text"] == "🛍 Catalog"  # everyone else's


async def test_requests_that_are_not_the_pages_get_a_clear_400(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    anna = Page(mini_app, harness.user(501, "Anna"), http)
    for body in (b"not json", b"[1, 2]", b"[" * 100_000, b'{"a": "\xff"}'):
        for path in ("api/quote", "api/order"):
            answer = await http.post(
                mini_app + path,
                content=body,
                headers={INIT_DATA_HEADER: anna.person.web_app_init_data()},
            )
            assert answer.status_code == 400, (path, body[:10], answer.text)
            assert answer.json()["error"] == "That request isn't one the page sends."
    answer = await anna.post("api/quote", {"service": LIKES, "values": {"url": 5, "count": []}})
    assert set(answer.json()["errors"]) == {"url", "count"}  # not text: as if left empty


async def test_other_values_under_a_spent_confirmation_place_nothing(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    anna = Page(mini_app, harness.user(501, "Anna"), http)
    terms = (await anna.get(f"api/service/{LIKES}"))["terms"]
    token = "f1b2c3d4e5f6a7b8"
    assert (await order_of(anna, token, terms)).json()["outcome"] == "placed"
    changed = await anna.post(
        "api/order",
        {"service": LIKES, "values": {**GOOD, "count": "3000"}, "token": token, "terms": terms},
    )
    assert changed.status_code == 409
    assert "already placed an order" in changed.json()["error"]
    assert harness.panel_calls("add") == 1


async def test_after_an_order_the_balance_shown_is_read_again(
    harness: BotHarness, mini_app: str, http: httpx.AsyncClient
) -> None:
    anna = Page(mini_app, harness.user(501, "Anna"), http)
    opened = await anna.get(f"api/service/{LIKES}")
    before = opened["balance"]
    assert (await order_of(anna, "a9b2c3d4e5f6a7b8", opened["terms"])).json()["outcome"] == (
        "placed"
    )
    account = harness.panel.accounts[harness.account.username]  # type: ignore[union-attr]

    async def shown() -> str | None:
        quote = await anna.post("api/quote", {"service": LIKES, "values": GOOD})
        balance: str | None = quote.json()["balance"]
        return balance

    await eventually(shown, within=5)  # read again once the order forgot it
    assert await shown() == f"RUB\xa0{account.balance:,.2f}"
    assert await shown() != before


async def test_an_order_from_the_page_is_tracked_and_its_end_told_in_the_chat(
    tracking: BotHarness, http: httpx.AsyncClient
) -> None:
    person = tracking.user(501, "Anna")
    async with tracking.mini_app() as url:
        anna = Page(url, person, http)
        terms = (await anna.get(f"api/service/{LIKES}"))["terms"]
        placed = (await order_of(anna, "track0000000001", terms)).json()["order"]
    panel_id = placed["panel_id"]
    [card] = [m for m in person.bot_messages if f"#{panel_id}" in m.text]
    tracking.panel.clock.advance(100_000)
    await eventually(lambda: finished(person, panel_id) == 1)
    await eventually(lambda: "🔄 Refresh" not in card.button_labels)  # the card shows the end
