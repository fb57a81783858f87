"""The sandbox panel behaves like the real one: catalog, validation, money, progress, faults."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from bot.sandbox.catalog import builtin_catalog, load_catalog, synthetic_catalog
from bot.sandbox.panel import ERR_BALANCE, ERR_ORDER, SandboxClock, SandboxPanel, serve
from bot.smmlaba import PanelError, PanelUnavailable, SmmLabaClient
from tests.conftest import ALICE, FAST_RETRY
from tests.processes import start_bot

IG = "https://www.instagram.com/p/abc"


async def test_the_builtin_catalog_looks_real(client: SmmLabaClient) -> None:
    services = await client.services()
    assert len(services) >= 40
    platforms = {s.category_path[0] for s in services if s.category_path}
    assert {"Instagram", "Telegram", "YouTube", "TikTok", "VK", "X"} <= platforms
    assert any(s.id.isdigit() for s in services)
    assert any(not s.id.isdigit() for s in services)
    assert all(s.price.total(1) is not None for s in services)
    params = [p for s in services for p in s.params]
    assert any(p.valid.startswith("value need to consist of") for p in params)
    assert any(p.valid.startswith("number from") for p in params)
    assert any(p.values for p in params)
    assert any(not p.required for p in params)
    assert any(p.param == "comments" for p in params)


@pytest.mark.parametrize(
    ("service", "fields", "refusal"),
    [
        ("389", {"count": "100"}, "Не заполнено поле «Post link»"),
        ("389", {"url": IG}, "Не заполнено поле «Amount»"),
        ("389", {"url": IG, "count": "49"}, "от 50 до 10000"),
        ("389", {"url": IG, "count": "10001"}, "от 50 до 10000"),
        ("389", {"url": IG, "count": "1e2"}, "целое число"),
        ("389", {"url": IG, "count": "100.5"}, "целое число"),
        ("389", {"url": "https://www.instagram.com/reel/abc", "count": "100"}, "неверная ссылка"),
        ("389", {"url": "https://vk.com/p/abc", "count": "100"}, "неверная ссылка"),
        ("403", {"url": "https://t.me/chan/5", "count": "10", "reaction": "💩"}, "недопустимое"),
        ("423", {"url": "https://vm.tiktok.com/x", "count": "1000", "runs": "1"}, "от 2 до 100"),
        (
            "instcustomcomments",
            {"url": IG, "comments": "one\ntwo\n\n  \nthree"},
            "от 5 до 500 строк, получено 3",
        ),
        ("no-such", {"url": IG}, "Услуга не найдена"),
    ],
)
async def test_add_validates_like_the_panel(
    client: SmmLabaClient,
    panel: SandboxPanel,
    service: str,
    fields: dict[str, str],
    refusal: str,
) -> None:
    before = panel.accounts[ALICE].balance
    with pytest.raises(PanelError) as refused:
        await client.add(service, fields)
    assert refusal in refused.value.text
    assert panel.accounts[ALICE].balance == before
    assert panel.orders == {}


async def test_optional_fields_may_be_left_out(client: SmmLabaClient) -> None:
    placed = await client.add("423", {"url": "https://vm.tiktok.com/x", "count": "2000"})
    assert placed.price == Decimal("2.8")
    with_options = await client.add(
        "423", {"url": "https://vm.tiktok.com/x", "count": "2000", "runs": "4", "speed": "slow"}
    )
    assert with_options.order_id != placed.order_id


async def test_the_balance_is_debited_exactly(client: SmmLabaClient, panel: SandboxPanel) -> None:
    panel.accounts[ALICE].balance = Decimal("5.00")
    first = await client.add("vklikebest3", {"url": "https://vk.com/wall-1_2", "count": "11"})
    assert first.price == Decimal("3.85")
    assert await client.balance() == Decimal("1.15")
    with pytest.raises(PanelError, match=ERR_BALANCE):
        await client.add("vklikebest3", {"url": "https://vk.com/wall-1_2", "count": "10"})
    assert await client.balance() == Decimal("1.15")


async def test_another_accounts_order_is_not_found(
    client: SmmLabaClient, panel: SandboxPanel, panel_url: str
) -> None:
    placed = await client.add("389", {"url": IG, "count": "100"})
    panel.add_account("bob@example.com", "bob-key", "10")
    async with SmmLabaClient("bob@example.com", SecretStr("bob-key"), url=panel_url) as bob:
        with pytest.raises(PanelError, match=ERR_ORDER):
            await bob.check(placed.order_id)


async def test_orders_progress_through_the_status_codes(
    client: SmmLabaClient, panel: SandboxPanel
) -> None:
    placed = [
        await client.add("421", {"url": "https://vm.tiktok.com/x", "count": "1000"})
        for _ in range(40)
    ]
    histories: dict[str, list[tuple[str, int | None]]] = {o.order_id: [] for o in placed}
    for _ in range(24):  # 24 steps of 30 panel-seconds cover the longest plan (60 + 600 s)
        for order in placed:
            status = await client.check(order.order_id)
            history = histories[order.order_id]
            if not history or history[-1] != (status.status, status.remain):
                history.append((status.status, status.remain))
        panel.clock.advance(30)

    finals = Counter(history[-1][0] for history in histories.values())
    assert set(finals) <= {"5", "7", "11"}
    assert finals["5"] > 0
    assert finals["7"] > 0
    assert finals["11"] > 0
    for history in histories.values():
        assert history[0] == ("1", 1000)  # everything starts waiting, nothing delivered
        remains = [remain or 0 for _, remain in history]
        assert remains == sorted(remains, reverse=True)  # remain only counts down
        code, remain = history[-1]
        if code == "5":
            assert remain == 0
        if code == "7":
            assert remain == 1000
            assert len(history) == 2  # cancelled before delivery started
        if len(history) > 2:
            assert {c for c, _ in history[1:-1]} <= {"2", "17"}
    partial = [h for h in histories.values() if h[-1][0] == "11" and 0 < (h[-1][1] or 0) < 1000]
    assert partial, "some orders end partially delivered"


async def test_what_was_not_delivered_is_refunded(
    client: SmmLabaClient, panel: SandboxPanel
) -> None:
    placed = [await client.add("389", {"url": IG, "count": "1000"}) for _ in range(20)]
    charged = sum((o.price or Decimal(0) for o in placed), Decimal(0))
    panel.clock.advance(10_000)
    undelivered = Decimal(0)
    for order in placed:
        status = await client.check(order.order_id)
        assert status.remain is not None
        undelivered += Decimal("0.5") * status.remain / 1000
    assert await client.balance() == Decimal(1000) - charged + undelivered
    assert undelivered > 0


async def test_progress_is_deterministic_under_a_seed(alice: object) -> None:
    async def outcomes(seed: int) -> list[tuple[str, int]]:
        panel = SandboxPanel(seed=seed, clock=SandboxClock(scale=0.0))
        panel.add_account(ALICE, "key", "1000")
        async with serve(panel) as url, SmmLabaClient(ALICE, SecretStr("key"), url=url) as c:
            ids = [(await c.add("389", {"url": IG, "count": "500"})).order_id for _ in range(15)]
            panel.clock.advance(200)
            result = []
            for order_id in ids:
                status = await c.check(order_id)
                result.append((status.status, status.remain or 0))
            return result

    assert await outcomes(3) == await outcomes(3)
    assert await outcomes(3) != await outcomes(4)


def test_the_clock_scales_real_time() -> None:
    clock = SandboxClock(scale=1000.0)
    start = clock.now()
    clock.advance(5)
    assert clock.now() >= start + 5


async def test_faults_can_be_limited_to_some_actions(
    client: SmmLabaClient, panel: SandboxPanel
) -> None:
    panel.set_faults(html_rate=1.0, actions=["check"])
    await client.balance()
    with pytest.raises(PanelUnavailable):
        await client.check("7000000")
    panel.set_faults()
    with pytest.raises(PanelError, match=ERR_ORDER):
        await client.check("7000000")


async def test_latency_slows_answers_down(client: SmmLabaClient, panel: SandboxPanel) -> None:
    panel.set_faults(latency=0.05)
    await client.test()  # still answers, just later
    assert panel.calls["test"] == 1


async def test_faults_are_set_at_run_time_over_http(
    client: SmmLabaClient, panel: SandboxPanel, panel_url: str
) -> None:
    control = panel_url.replace("/vkapi/v1/", "/_sandbox/faults")
    async with httpx.AsyncClient() as http:
        assert (await http.post(control, json={"error_rate": 1.0})).status_code == 200
        with pytest.raises(PanelError):
            await client.balance()
        assert (await http.post(control, json={})).status_code == 200
        await client.balance()
        refused = await http.post(control, json={"nonsense": 1})
        assert refused.status_code == 400
        assert "nonsense" in refused.json()["error"]


async def test_a_synthetic_catalog_has_thousands_of_services(alice: object) -> None:
    catalog = synthetic_catalog(5000, seed=1)
    panel = SandboxPanel(catalog=catalog)
    panel.add_account(ALICE, "key")
    async with (
        serve(panel) as url,
        SmmLabaClient(ALICE, SecretStr("key"), url=url, retry=FAST_RETRY) as client,
    ):
        services = await client.services()
    assert len(services) == 5000
    assert len({s.id for s in services}) == 5000
    assert all(s.price.total(1) is not None for s in services)
    assert synthetic_catalog(50, seed=1) == synthetic_catalog(50, seed=1)


async def test_a_catalog_loads_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"result": "success", "message": builtin_catalog()[:3]}), "utf-8")
    assert load_catalog(path) == builtin_catalog()[:3]
    path.write_text(json.dumps(builtin_catalog()[:2]), "utf-8")
    assert len(load_catalog(path)) == 2
    path.write_text('{"not": "a catalog"}', "utf-8")
    with pytest.raises(ValueError, match="list of services"):
        load_catalog(path)


async def test_a_query_string_request_is_understood_too(
    panel_url: str, alice: object, panel: SandboxPanel
) -> None:
    account = panel.accounts[ALICE]
    async with httpx.AsyncClient() as http:
        response = await http.get(
            panel_url, params={"username": ALICE, "apikey": account.api_key, "action": "balance"}
        )
    assert response.json() == {
        "result": "success",
        "error": "",
        "message": {"balance": "1000.0000"},
    }


@pytest.mark.slow
async def test_standalone_sandbox_panel_prints_its_url_and_credentials(tmp_path: Path) -> None:
    process = await start_bot("sandbox-panel", "--port", "0", "--apikey", "cli-key", cwd=tmp_path)
    try:
        assert process.stdout is not None
        first = (await process.stdout.readline()).decode()
        assert first.startswith("SMMLaba sandbox panel: http://127.0.0.1:")
        url = first.split()[3]
        lines = [(await process.stdout.readline()).decode() for _ in range(4)]
        assert "SMMLABA_USERNAME=demo@example.com" in "".join(lines)
        assert "SMMLABA_APIKEY=cli-key" in "".join(lines)
        async with httpx.AsyncClient() as http:
            response = await http.post(
                url, data={"username": "demo@example.com", "apikey": "cli-key", "action": "test"}
            )
        assert response.json()["message"] == {"test": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = await asyncio.wait_for(process.wait(), 20)
    assert returncode == 0


def test_the_builtin_catalog_has_the_real_shape() -> None:
    """Shaped after a public dump of the real `services` answer, quirks included."""
    services = builtin_catalog()
    ids = Counter(s["service"] for s in services)
    names = [s["product_name"] for s in services]
    assert {"youtubelik\u0443germany", "fbpagelikeindia ", "59", "117", "74"} <= set(ids)
    twice = [service_id for service_id, n in ids.items() if n == 2]
    assert len(twice) == 2
    assert max(ids.values()) == 2
    for service_id in twice:
        assert len({s["product_name"] for s in services if s["service"] == service_id}) == 2
    assert any("&quot;" in name for name in names)
    assert sum("&lt;b&gt;" in name for name in names) == 1
    assert max(len(name) for name in names) == 242
    assert any("  " in name for name in names)
    firsts = {s["category"].split(".")[0].strip() for s in services}
    assert {"TIKTOK", "TikTok", "Facebook", "FaceBook", "ВКонтакте", "Вконтакте"} <= firsts
    assert 250 <= len(services) <= 450
    platforms = {
        (s["category"].split(".")[0] or s["product_name"].split(" - ")[0]).strip().casefold()
        for s in services
    }
    assert len(platforms) >= 30
