"""A typed value on its own: how amounts and links are read, tidied and refused (no Telegram,
no panel), and that a tidied link is one the panel's own rule takes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.i18n import build_i18n
from bot.params import FieldSpec, InvalidValue
from bot.sandbox.catalog import _URL_RULES as RULES
from bot.sandbox.panel import Param, Rule, _validate
from bot.smmlaba import ServiceParam


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    i18n = build_i18n()
    with i18n.context(), i18n.use_locale("en"):
        yield


def field(valid: str, **extra: object) -> FieldSpec:
    return FieldSpec.from_param(
        ServiceParam.model_validate(
            {"name": "Link", "param": "url", "required": 1, "valid": valid, **extra}
        )
    )


def link_field(kind: str) -> FieldSpec:
    """The url field of the sandbox's services for `kind` (ig_post, tg_channel...)."""
    return field(f"value need to consist of : {RULES[kind]}")


def refusal(spec: FieldSpec, typed: str) -> str:
    with pytest.raises(InvalidValue) as refused:
        spec.check(typed)
    return str(refused.value)


def panel_takes(spec: FieldSpec, value: str) -> bool:
    """The sandbox panel's own check of `add`, which matches the rule's fragments exactly."""
    return _validate(Param("url", "Link", True, Rule.parse(spec.rule), None), value) is None


AMOUNT = field("number from 50 to 10000")


# -- amounts -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("250", "250"),
        (" 10000 ", "10000"),
        ("10,000", "10000"),
        ("10 000", "10000"),
        ("10\u00a0000", "10000"),
        ("10\u202f000", "10000"),  # as a phone formats it
        ("+100", "100"),
        ("0050", "50"),
    ],
)
def test_an_amount_is_read_as_people_type_it(typed: str, sent: str) -> None:
    assert AMOUNT.check(typed) == sent


@pytest.mark.parametrize(
    ("typed", "reason"),
    [
        ("a lot", "That's not a number."),
        ("много", "That's not a number."),
        ("10", "10 is below the minimum of 50."),
        ("-5", "-5 is below the minimum of 50."),
        ("100000", "100,000 is above the maximum of 10,000."),
        ("10,001", "10,001 is above the maximum of 10,000."),
        ("12.5", "12.5 isn't a whole number."),
        ("1,5", "1,5 isn't a whole number."),
        ("1k", "Please send digits only."),
        ("100 likes", "Please send digits only."),
        ("9" * 40, "9,999,999,999,999,999,9… is above the maximum of 10,000."),
    ],
)
def test_a_wrong_amount_is_told_why_in_one_line(typed: str, reason: str) -> None:
    assert refusal(AMOUNT, typed) == reason


def test_a_choice_is_taken_whatever_its_case_or_emoji_variant() -> None:
    reaction = field("", values=["👍", "❤️", "slow"])
    assert reaction.check("❤") == "❤️"
    assert reaction.check("SLOW") == "slow"
    assert refusal(reaction, "💩") == "That's not one of the choices: tap a button below."


# -- links: tidied ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "pasted", "sent"),
    [
        # no scheme, trailing spaces, tracking parameters
        ("ig_post", "instagram.com/p/abc?igsh=MXRk&utm_source=ig_web_copy_link  ", "https://instagram.com/p/abc"),
        ("ig_post", "www.instagram.com/p/abc/", "https://www.instagram.com/p/abc/"),
        ("ig_post", "https://www.instagram.com/p/abc/?img_index=2&igshid=x", "https://www.instagram.com/p/abc/?img_index=2"),
        # the host's case, http, the mobile site
        ("ig_post", "HTTPS://WWW.Instagram.COM/p/AbC", "https://www.instagram.com/p/AbC"),
        ("ig_post", "http://instagram.com/p/abc", "https://instagram.com/p/abc"),
        ("ig_post", "m.instagram.com/p/abc", "https://www.instagram.com/p/abc"),
        # a shared text: its one link, without the sentence's full stop
        ("ig_post", "Look at this! https://www.instagram.com/p/abc/?igsh=x.", "https://www.instagram.com/p/abc/"),
        # @handles where the rule wants a t.me link, or a site's /@handle
        ("tg_channel", "@durov", "https://t.me/durov"),
        ("tg_channel", " @durov ", "https://t.me/durov"),
        ("tg_channel", "t.me/durov", "https://t.me/durov"),
        ("tg_channel", "telegram.me/durov", "https://t.me/durov"),
        ("tg_post", "@durov/15", "https://t.me/durov/15"),
        ("tg_bot", "@examplebot", "https://t.me/examplebot"),
        ("yt_channel", "@MrBeast", "https://www.youtube.com/@MrBeast"),
        ("tt_profile", "@anna", "https://www.tiktok.com/@anna"),
        # each site's own trackers; what a link points to stays ("t" is a video's start)
        ("yt_video", "youtu.be/dQw4w9WgXcQ?si=Xy", "https://youtu.be/dQw4w9WgXcQ"),
        ("yt_video", "m.youtube.com/watch?v=dQw&feature=share", "https://www.youtube.com/watch?v=dQw"),
        ("yt_video", "https://youtube.com/watch?v=dQw&t=30", "https://www.youtube.com/watch?v=dQw&t=30"),
        ("yt_video", "https://www.youtube.com/watch?si=Xy&v=dQw", "https://www.youtube.com/watch?v=dQw"),
        ("tt_video", "https://www.tiktok.com/@a/video/7?is_from_webapp=1&sender_device=pc", "https://www.tiktok.com/@a/video/7"),
        ("x_post", "https://x.com/a/status/1?s=20&t=AbC", "https://x.com/a/status/1"),
        ("x_post", "twitter.com/a/status/1", "https://twitter.com/a/status/1"),
        ("fb_post", "https://www.facebook.com/a/posts/1?mibextid=Nif5oz&fbclid=x", "https://www.facebook.com/a/posts/1"),
        ("spotify", "https://open.spotify.com/track/1?si=abc", "https://open.spotify.com/track/1"),
        ("vk_post", "vk.com/wall-1_2#comments", "https://vk.com/wall-1_2#comments"),
        ("site", "example.com/page?utm_medium=x&id=3", "https://example.com/page?id=3"),
        ("site", "http://example.com", "http://example.com"),  # the rule takes http too
    ],
)  # fmt: skip
def test_a_link_is_taken_as_people_paste_it(kind: str, pasted: str, sent: str) -> None:
    spec = link_field(kind)
    assert spec.check(pasted) == sent
    assert panel_takes(spec, sent)
    assert spec.check(sent) == sent  # checked again at the confirmation: the same


def test_tidying_stops_where_the_rule_needs_what_it_would_remove() -> None:
    shared = field("value need to consist of : https://example.com/ and ?si=")
    assert shared.check("example.com/a?si=1&utm_source=x") == "https://example.com/a?si=1"
    upper = field("value need to consist of : HTTPS://EXAMPLE.COM/")
    assert upper.check("HTTPS://EXAMPLE.COM/a") == "HTTPS://EXAMPLE.COM/a"  # as typed, it fits


MESSY = [
    "instagram.com/p/abc?igsh=1",
    "@durov",
    "@durov/15",
    "t.me/durov",
    "m.youtube.com/watch?v=a&si=b",
    "youtu.be/a?feature=shared",
    "Look: https://www.tiktok.com/@a/video/1?_r=1.",
    "twitter.com/a/status/1?s=20",
    "HTTP://VK.COM/wall-1_2",
    "example.com",
    "https://www.instagram.com/reel/x",
    "my post",
]


@pytest.mark.parametrize("kind", sorted(RULES))
def test_the_panel_takes_every_link_the_bot_sends(kind: str) -> None:
    # The panel's rule has the last word: whatever tidying does, only what fits it is sent.
    spec = link_field(kind)
    for pasted in MESSY:
        try:
            sent = spec.check(pasted)
        except InvalidValue:
            continue
        assert panel_takes(spec, sent), (kind, pasted, sent)


# -- links: refused --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typed", "reason"),
    [
        ("ig_post", "my post", "That's not a link to instagram.com."),
        ("ig_post", "@anna", "That's not a link to instagram.com."),
        ("ig_post", "https://example.com/p/1", "That's not a link to instagram.com."),
        ("ig_post", "https://www.instagram.com/reel/abc", "That link doesn't contain /p/."),
        # /P/ is not /p/ to the panel: the bot does not send what it would refuse
        ("ig_post", "HTTPS://WWW.INSTAGRAM.COM/P/ABC", "That link doesn't contain /p/."),
        ("yt_video", "https://vimeo.com/1", "That's not a link to youtube.com, youtu.be."),
        ("yt_channel", "https://www.youtube.com/c/name", "That link doesn't contain /@."),
        ("tt_video", "@anna", "That link doesn't contain /video/."),
        ("tt_video", "https://www.tiktok.com/foryou", "That link doesn't contain /@, /video/."),
        ("tg_channel", "durov", "That's not a link to t.me."),
        ("site", "a lot", "That's not a link."),
    ],
)
def test_a_wrong_link_is_told_why_in_one_line(kind: str, typed: str, reason: str) -> None:
    assert refusal(link_field(kind), typed) == reason


def test_a_rule_of_words_not_links_is_matched_as_written() -> None:
    hashtag = field("value need to consist of : #")
    assert not hashtag.is_link
    assert hashtag.check(" #summer ") == "#summer"
    assert refusal(hashtag, "summer") == "Link must contain #."


# -- the prompt's example ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "example"),
    [
        ("ig_post", "https://www.instagram.com/p/…"),
        ("ig_profile", "https://www.instagram.com/…"),
        ("tg_post", "https://t.me/…"),
        ("tg_bot", "https://t.me/…bot"),
        ("yt_video", "https://www.youtube.com/watch?v=…"),
        ("tt_video", "https://www.tiktok.com/@…/video/…"),
        ("x_post", "https://x.com/…/status/…"),
        ("vk_post", "https://vk.com/wall…"),
        ("site", None),  # no site named: nothing worth showing
    ],
)
def test_the_example_is_made_from_the_rule(kind: str, example: str | None) -> None:
    assert link_field(kind).example == example


@pytest.mark.parametrize("kind", sorted(set(RULES) - {"site"}))
def test_every_example_is_a_link_the_rule_takes(kind: str) -> None:
    spec = link_field(kind)
    assert spec.example is not None
    assert panel_takes(spec, spec.example.replace("…", "x"))


def test_a_rule_without_a_scheme_gets_one_in_its_example() -> None:
    spec = field("value need to consist of : instagram.com and /p/")
    assert spec.sites == ("instagram.com",)
    assert spec.example == "https://instagram.com/p/…"
    assert spec.check("instagram.com/p/1") == "https://instagram.com/p/1"


# -- lines ---------------------------------------------------------------------------------


def comments(valid: str) -> FieldSpec:
    return FieldSpec.from_param(
        ServiceParam.model_validate(
            {"name": "Comments", "param": "comments", "required": 1, "valid": valid}
        )
    )


@pytest.mark.parametrize(
    "valid",
    [
        "each comment on a new line, from 5 to 500 comments",
        "Комментарии, каждый с новой строки, от 5 до 500 комментариев",
        "from 5 to 500 lines",
    ],
)
def test_a_count_of_lines_is_checked_and_blank_lines_dropped(valid: str) -> None:
    spec = comments(valid)
    assert (spec.multiline, spec.low, spec.high) == (True, 5, 500)
    assert refusal(spec, "one\n\ntwo") == "That's 2 lines; at least 5 are needed, one per line."
    assert spec.check(" a\nb\n\nc \nd\ne\n") == "a\nb\nc\nd\ne"


def test_a_length_per_line_is_not_a_count_of_lines() -> None:
    spec = comments("Each comment from 5 to 300 characters, one per line")
    assert spec.multiline
    assert (spec.low, spec.high) == (None, None)
    assert spec.check("Great!\nWow") == "Great!\nWow"  # the panel judges the lengths
