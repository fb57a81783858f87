"""The bot added to a team's group: it points to the private chat and asks for nothing there."""

from __future__ import annotations

from tests.harness import BotHarness


async def test_connect_in_a_group_points_to_the_private_chat(harness: BotHarness) -> None:
    team = harness.emulator.group(-100500)
    anna = harness.user(501, "Anna")
    await anna.send("/connect", chat=team)
    reply = team.last_message
    assert "API keys are never asked for in a group" in reply.text
    [[button]] = reply.buttons
    assert button.url == f"https://t.me/{harness.emulator.bot_username}"
    assert button.callback_data is None
    assert anna.messages == []  # nothing in her private chat, no form under way
    await anna.send("abcdef0123456789abcdef0123456789", chat=team)  # a key pasted anyway
    assert len(team.bot_messages) == 1  # not read as a key: no answer


async def test_other_commands_in_a_group_point_to_the_private_chat_and_talk_stays_quiet(
    harness: BotHarness,
) -> None:
    team = harness.emulator.group(-100500)
    anna = harness.user(501, "Anna")
    for command in ("/start", "/orders@smmlaba_test_bot", "/balance"):
        await anna.send(command, chat=team)
        assert "I work in a private chat" in team.last_message.text
    await anna.send("morning all", chat=team)
    assert len(team.bot_messages) == 3
    assert harness.panel_calls("balance") == 0
    await anna.send("/start")  # the private chat works as ever
    assert "Hi, Anna!" in anna.last_message.text
