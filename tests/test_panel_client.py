"""The panel client against the sandbox panel, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import logging
import socket
import traceback
from collections.abc import Awaitable, Callable
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from pydantic import SecretStr

from bot.sandbox.panel import ERR_BALANCE, ERR_CREDENTIALS, ERR_ORDER, ERR_SERVICE, SandboxPanel
from bot.smmlaba import (
    PanelError,
    PanelNotSent,
    PanelProtocolError,
    PanelUnavailable,
    RetryPolicy,
    SmmLabaClient,
)
from tests.conftest import ALICE, FAST_RETRY, CannedPanel

LINK = "https://www.instagram.com/p/Cx1_z-9?igsh=a&b=c d#frag ещё/Привет"
ORDER = {"url": "https://instagram.com/p/abc", "count": "100"}


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on: connecting to it is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_test_action_accepts_good_credentials(client: SmmLabaClient) -> None:
    await client.test()


async def test_wrong_key_is_refused_with_the_panels_text(panel_url: str) -> None:
    async with SmmLabaClient(ALICE, SecretStr("0" * 32), url=panel_url, retry=FAST_RETRY) as bad:
        with pytest.raises(PanelError) as refused:
            await bad.test()
    assert refused.value.text == ERR_CREDENTIALS
    assert refused.value.action == "test"


async def test_unknown_email_is_refused(panel_url: str, alice: object) -> None:
    async with SmmLabaClient("bob@example.com", SecretStr("x"), url=panel_url) as stranger:
        with pytest.raises(PanelError, match=ERR_CREDENTIALS):
            await stranger.balance()


async def test_balance_is_an_exact_decimal(client: SmmLabaClient, panel: SandboxPanel) -> None:
    panel.accounts[ALICE].balance = Decimal("1250.4005")
    balance = await client.balance()
    assert balance == Decimal("1250.4005")
    assert isinstance(balance, Decimal)


async def test_services_lists_the_catalog(client: SmmLabaClient, panel: SandboxPanel) -> None:
    services = await client.services()
    assert len(services) == len(panel.catalog)
    first = services[0]
    assert first.id == "389"
    assert first.category_path == ("Instagram", "Likes")
    assert first.price.total(250) == Decimal("0.125")
    assert [p.param for p in first.params] == ["url", "count"]
    assert all(p.required for p in first.params)
    assert first.params[1].valid == "number from  50 to 10000"


async def test_services_filter_returns_one_service(client: SmmLabaClient) -> None:
    services = await client.services("vklikebest3")
    assert [s.id for s in services] == ["vklikebest3"]
    assert services[0].price.amount == Decimal("0.3500")
    assert services[0].price.per == 1


async def test_services_filter_with_unknown_id_is_an_error(client: SmmLabaClient) -> None:
    with pytest.raises(PanelError, match=ERR_SERVICE):
        await client.services("no-such-service")


async def test_add_then_check(client: SmmLabaClient, panel: SandboxPanel) -> None:
    placed = await client.add("389", {"url": "https://instagram.com/p/abc", "count": "250"})
    assert placed.order_id == "7000000"
    assert placed.price == Decimal("0.125")
    assert panel.accounts[ALICE].balance == Decimal("999.875")

    status = await client.check(placed.order_id)
    assert status.order_id == "7000000"
    assert status.status == "1"
    assert status.status_text == "Ожидание"
    assert (status.count, status.remain, status.delivered) == (250, 250, 0)
    assert status.price == Decimal("0.125")

    panel.clock.advance(10_000)
    final = await client.check(placed.order_id)
    assert final.status in {"5", "7", "11"}
    assert final.remain is not None
    assert final.remain <= 250


async def test_add_refused_when_balance_is_short(
    client: SmmLabaClient, panel: SandboxPanel
) -> None:
    panel.accounts[ALICE].balance = Decimal("0.10")
    with pytest.raises(PanelError) as refused:
        await client.add("389", {"url": "https://instagram.com/p/abc", "count": "250"})
    assert refused.value.text == ERR_BALANCE
    assert panel.accounts[ALICE].balance == Decimal("0.10")


async def test_check_of_an_unknown_order_is_an_error(client: SmmLabaClient) -> None:
    with pytest.raises(PanelError, match=ERR_ORDER):
        await client.check("123")


async def test_a_link_reaches_the_panel_byte_for_byte(
    client: SmmLabaClient, panel: SandboxPanel
) -> None:
    placed = await client.add("389", {"url": LINK, "count": "100"})
    assert panel.requests[-1].fields["url"] == LINK
    assert (await client.check(placed.order_id)).url == LINK


async def test_the_form_body_is_properly_encoded(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply('{"result": "success", "error": "", "message": {"orderid": 1, "price": "1"}}')
    await client.add("389", {"url": LINK, "comments": "one\ntwo & three"})
    raw = stub.received[-1]
    assert raw.isascii()  # everything percent-encoded, nothing raw
    fields = parse_qs(raw.decode(), keep_blank_values=True, strict_parsing=True)
    assert fields["url"] == [LINK]
    assert fields["comments"] == ["one\ntwo & three"]
    assert fields["action"] == ["add"]
    assert fields["service"] == ["389"]
    assert fields["username"] == [ALICE]


async def test_multiline_comments_stay_one_per_line(
    client: SmmLabaClient, panel: SandboxPanel
) -> None:
    comments = "Great!\nLove it 😍\nWow\nНичего себе\nCool & nice"
    placed = await client.add(
        "instcustomcomments", {"url": "https://www.instagram.com/p/x", "comments": comments}
    )
    assert panel.requests[-1].fields["comments"] == comments
    assert placed.price == Decimal("12.5")  # 5 comments at 2.50 each


# -- failures ----------------------------------------------------------------------------


async def test_html_502_page_is_unavailable_after_bounded_retries(
    client: SmmLabaClient, panel: SandboxPanel
) -> None:
    panel.set_faults(html_rate=1.0)
    with pytest.raises(PanelUnavailable, match="HTTP 502"):
        await client.balance()
    assert panel.calls["balance"] == FAST_RETRY.attempts


async def test_invalid_json_is_unavailable(client: SmmLabaClient, panel: SandboxPanel) -> None:
    panel.set_faults(bad_json_rate=1.0)
    with pytest.raises(PanelUnavailable, match="not JSON"):
        await client.services()
    assert panel.calls["services"] == FAST_RETRY.attempts


async def test_a_hung_request_times_out_as_unavailable(
    panel_url: str, alice: object, panel: SandboxPanel
) -> None:
    panel.set_faults(hang_rate=1.0)
    account = panel.accounts[ALICE]
    async with SmmLabaClient(
        ALICE, SecretStr(account.api_key), url=panel_url, timeout=0.2, retry=FAST_RETRY
    ) as slow:
        with pytest.raises(PanelUnavailable, match="timed out"):
            await slow.check("7000000")
    assert panel.calls["check"] == FAST_RETRY.attempts


async def test_a_refused_connection_is_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    url = f"http://127.0.0.1:{closed_port()}/vkapi/v1/"
    async with SmmLabaClient(ALICE, SecretStr("k"), url=url, retry=FAST_RETRY) as client:
        with pytest.raises(PanelNotSent, match="ConnectError"):
            await client.test()
    # Reads retry a request that was not sent like any other unavailable panel.
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == FAST_RETRY.attempts - 1


async def test_an_add_to_a_refused_connection_was_not_sent() -> None:
    key = "f" * 32
    url = f"http://127.0.0.1:{closed_port()}/vkapi/v1/"
    async with SmmLabaClient(ALICE, SecretStr(key), url=url, retry=FAST_RETRY) as client:
        with pytest.raises(PanelNotSent, match="ConnectError") as failed:
            await client.add("389", ORDER)
    assert failed.value.action == "add"
    assert key not in str(failed.value)


async def test_an_add_that_cannot_connect_in_time_was_not_sent() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # never accepted: once its queue is full, the kernel drops new SYNs
        port = listener.getsockname()[1]
        fillers = [socket.socket() for _ in range(2)]
        for filler in fillers:
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
        try:
            async with SmmLabaClient(
                ALICE, SecretStr("k"), url=f"http://127.0.0.1:{port}/", timeout=0.3
            ) as client:
                with pytest.raises(PanelNotSent, match="ConnectTimeout"):
                    await client.add("389", ORDER)
        finally:
            for filler in fillers:
                filler.close()


async def test_add_is_sent_exactly_once_when_it_times_out(
    panel_url: str, alice: object, panel: SandboxPanel
) -> None:
    panel.set_faults(hang_rate=1.0, actions=["add"])
    account = panel.accounts[ALICE]
    async with SmmLabaClient(
        ALICE, SecretStr(account.api_key), url=panel_url, timeout=0.2, retry=FAST_RETRY
    ) as slow:
        with pytest.raises(PanelUnavailable) as failed:
            await slow.add("389", ORDER)
        await slow.balance()  # reads still work: the fault is limited to `add`
    assert panel.calls["add"] == 1
    # The panel read the whole request: it may have placed the order.
    assert not isinstance(failed.value, PanelNotSent)


@pytest.mark.parametrize("fault", ["html_rate", "bad_json_rate", "error_rate"])
async def test_add_is_never_retried(client: SmmLabaClient, panel: SandboxPanel, fault: str) -> None:
    panel.set_faults(**{fault: 1.0})
    with pytest.raises((PanelUnavailable, PanelError)):
        await client.add("389", {"url": "https://instagram.com/p/abc", "count": "100"})
    assert panel.calls["add"] == 1


async def test_a_panel_error_is_not_retried(client: SmmLabaClient, panel: SandboxPanel) -> None:
    panel.set_faults(error_rate=1.0)
    with pytest.raises(PanelError, match="временно недоступен"):
        await client.balance()
    assert panel.calls["balance"] == 1


async def test_retries_recover_when_the_panel_comes_back(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply("<html>502</html>", status=502)
    with pytest.raises(PanelUnavailable):
        await client.test()
    stub.reply('{"result":"success","error":"","message":{"balance":"7.5"}}')
    assert await client.balance() == Decimal("7.5")


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("", 200),
        ("null", 200),
        ("[]", 200),
        ('{"status": "ok"}', 200),
        ('{"result": "success", "message": {"balance": "1"}}', 503),
        ("<!DOCTYPE html><title>403 Forbidden</title>", 403),
    ],
)
async def test_bodies_that_are_not_the_envelope_are_unavailable(
    canned_client: tuple[CannedPanel, SmmLabaClient], body: str, status: int
) -> None:
    stub, client = canned_client
    stub.reply(body, status=status)
    with pytest.raises(PanelUnavailable):
        await client.balance()


@pytest.mark.parametrize(
    ("body", "action"),
    [
        ('{"result": "maybe", "error": ""}', "balance"),
        ('{"result": "success", "error": "", "message": {"balance": "lots"}}', "balance"),
        ('{"result": "success", "error": "", "message": {"price": "1"}}', "add"),
        ('{"result": "success", "error": "", "message": "ok"}', "services"),
        ('{"result": "success", "error": "", "message": [{"orderid": "1"}]}', "check"),
    ],
)
async def test_envelopes_of_the_wrong_shape_are_protocol_errors(
    canned_client: tuple[CannedPanel, SmmLabaClient], body: str, action: str
) -> None:
    stub, client = canned_client
    stub.reply(body)
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "balance": client.balance,
        "services": client.services,
        "add": lambda: client.add("389", {"url": "x"}),
        "check": lambda: client.check("1"),
    }
    with pytest.raises(PanelProtocolError):
        await calls[action]()
    assert len(stub.received) == 1  # a wrong shape is not a transient fault: no retry


async def test_an_error_without_text_still_explains(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply('{"result": "error", "error": "", "message": "service: wrong option"}')
    with pytest.raises(PanelError) as refused:
        await client.test()
    assert refused.value.text == "service: wrong option"


# -- secrets -----------------------------------------------------------------------------


async def test_the_api_key_never_shows(
    panel_url: str, alice: object, panel: SandboxPanel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = panel.accounts[ALICE].api_key
    problems: list[BaseException] = []
    async with SmmLabaClient(
        ALICE, SecretStr(key), url=panel_url, timeout=0.2, retry=FAST_RETRY
    ) as client:
        await client.test()
        await client.services()
        placed = await client.add("389", {"url": "https://instagram.com/p/a", "count": "60"})
        await client.check(placed.order_id)
        for faults in ({"html_rate": 1.0}, {"bad_json_rate": 1.0}, {"hang_rate": 1.0}, {}):
            panel.set_faults(**faults)
            try:
                await client.add("389", {"url": "bad", "count": "1"})
            except (PanelError, PanelUnavailable) as exc:
                problems.append(exc)
        texts = [repr(client), str(client)]
    assert len(problems) == 4
    for problem in problems:
        texts += [str(problem), repr(problem), "".join(traceback.format_exception(problem))]
    for text in [*texts, caplog.text]:
        assert key not in text
    assert ALICE in repr(client)  # the repr is still useful


async def test_a_key_echoed_by_the_panel_is_scrubbed(
    canned_client: tuple[CannedPanel, SmmLabaClient],
) -> None:
    stub, client = canned_client
    stub.reply('{"result": "error", "error": "bad key ' + "k" * 32 + '", "message": ""}')
    with pytest.raises(PanelError) as refused:
        await client.test()
    assert "k" * 32 not in str(refused.value)
    assert "bad key ***" in refused.value.text


def test_retry_delays_grow_and_stay_bounded() -> None:
    policy = RetryPolicy(attempts=6, base_delay=0.5, max_delay=4.0)
    for retry in range(10):
        step = min(4.0, 0.5 * 2**retry)
        assert step / 2 <= policy.delay(retry) <= step
