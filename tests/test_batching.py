"""Group commit: what arrives during a write goes in the next one, together."""

from __future__ import annotations

import asyncio

import pytest

from bot.batching import GroupWriter


class Store:
    """A write that takes a while (as a database round trip does), noting each batch."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.batches: list[list[str]] = []
        self.release = asyncio.Event()
        self.fail_on = fail_on

    async def write(self, items: list[str]) -> list[str]:
        self.batches.append(items)
        await self.release.wait()
        if self.fail_on in items:
            raise RuntimeError(f"cannot store {self.fail_on}")
        return [item.upper() for item in items]


async def test_a_lone_item_is_written_at_once() -> None:
    store = Store()
    store.release.set()
    writer = GroupWriter(store.write)
    assert await writer.submit("a") == "A"
    assert await writer.submit("b") == "B"
    assert store.batches == [["a"], ["b"]]


async def test_items_arriving_during_a_write_go_together_in_the_next() -> None:
    store = Store()
    writer = GroupWriter(store.write)
    first = asyncio.create_task(writer.submit("a"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert store.batches == [["a"]]  # under way
    rest = [asyncio.create_task(writer.submit(item)) for item in "bcd"]
    await asyncio.sleep(0)
    store.release.set()
    assert [await first, *await asyncio.gather(*rest)] == ["A", "B", "C", "D"]
    assert store.batches == [["a"], ["b", "c", "d"]]


async def test_a_batch_is_at_most_so_many() -> None:
    store = Store()
    store.release.set()
    writer = GroupWriter(store.write, most=2)
    answers = await asyncio.gather(*(writer.submit(item) for item in "abcde"))
    assert answers == list("ABCDE")
    assert store.batches == [["a", "b"], ["c", "d"], ["e"]]


async def test_a_bad_item_fails_alone_and_its_company_is_written() -> None:
    store = Store(fail_on="b")
    writer = GroupWriter(store.write)
    first = asyncio.create_task(writer.submit("a"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    company = [asyncio.create_task(writer.submit(item)) for item in "bcd"]
    await asyncio.sleep(0)
    store.release.set()
    assert await first == "A"
    with pytest.raises(RuntimeError, match="cannot store b"):
        await company[0]
    assert [await company[1], await company[2]] == ["C", "D"]
    assert store.batches == [["a"], ["b", "c", "d"], ["b"], ["c"], ["d"]]
    assert await writer.submit("e") == "E"  # the writer goes on


async def test_an_item_whose_caller_gave_up_is_written_all_the_same() -> None:
    store = Store()
    writer = GroupWriter(store.write)
    waiting = asyncio.create_task(writer.submit("a"))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    store.release.set()
    assert await writer.submit("b") == "B"
    assert ["a"] in store.batches
