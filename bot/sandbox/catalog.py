"""Catalogs for the sandbox panel, in the panel's own wire shape (`services` message entries).

The built-in catalog looks like a real SMMLaba one: integer and string-code ids, dotted
categories with stray spaces, "amount per quantity" prices, `valid` rules in both documented
forms plus free-text ones, choice lists, optional fields and a multi-line comments service.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

WireService = dict[str, Any]

# url rules per target kind: alternatives separated by " or ", fragments within by " and ",
# spaced the way the panel spaces them.
_URL_RULES = {
    "ig_post": "https://www.instagram.com  and /p/ or https://instagram.com  and /p/",
    "ig_reel": "https://www.instagram.com  and /reel/ or https://instagram.com  and /reel/",
    "ig_profile": "https://www.instagram.com/ or https://instagram.com/",
    "tg_channel": "https://t.me/",
    "tg_post": "https://t.me/  and / ",
    "yt_video": "https://www.youtube.com/watch?v= or https://youtu.be/ or https://youtube.com/shorts/",
    "yt_channel": "https://www.youtube.com/@ or https://www.youtube.com/channel/",
    "tt_video": "https://www.tiktok.com/@  and /video/ or https://vm.tiktok.com/",
    "tt_profile": "https://www.tiktok.com/@",
    "vk_post": "https://vk.com/wall or https://m.vk.com/wall",
    "vk_page": "https://vk.com/ or https://m.vk.com/",
    "x_post": "https://x.com/  and /status/ or https://twitter.com/  and /status/",
    "x_profile": "https://x.com/ or https://twitter.com/",
}

_URL_NAMES = {
    "ig_post": "Post link",
    "ig_reel": "Reel link",
    "ig_profile": "Profile link",
    "tg_channel": "Channel link",
    "tg_post": "Post link",
    "yt_video": "Video link",
    "yt_channel": "Channel link",
    "tt_video": "Video link",
    "tt_profile": "Profile link",
    "vk_post": "Post link",
    "vk_page": "Page or group link",
    "x_post": "Post link",
    "x_profile": "Profile link",
}

# (id, category, product name, price, url rule, min, max)
_SIMPLE: list[tuple[int | str, str, str, str, str, int, int]] = [
    (389, "Instagram. Likes. ", "Instagram Likes", "0.0500 per 100", "ig_post", 50, 10000),
    (
        390,
        "Instagram. Likes. ",
        "Instagram Likes · real accounts",
        "45.00 per 1000",
        "ig_post",
        20,
        5000,
    ),
    (
        "instlikesfast",
        "Instagram. Likes. ",
        "Instagram Likes · instant start",
        "32.50 per 1000",
        "ig_post",
        50,
        20000,
    ),
    (
        391,
        "Instagram. Followers. ",
        "Instagram Followers",
        "120.00 per 1000",
        "ig_profile",
        100,
        50000,
    ),
    (
        "instfollowhq",
        "Instagram. Followers. ",
        "Instagram Followers · high quality, refill 30 days",
        "310.00 per 1000",
        "ig_profile",
        50,
        10000,
    ),
    (392, "Instagram. Views. ", "Instagram Reel Views", "4.20 per 1000", "ig_reel", 100, 1000000),
    ("instsaves", "Instagram. Saves. ", "Instagram Saves", "18.00 per 1000", "ig_post", 10, 20000),
    (
        401,
        "Telegram. Subscribers. ",
        "Telegram Channel Subscribers",
        "95.00 per 1000",
        "tg_channel",
        100,
        30000,
    ),
    (
        "tgsubsru",
        "Telegram. Subscribers. ",
        "Telegram Subscribers · Russian audience",
        "240.00 per 1000",
        "tg_channel",
        50,
        10000,
    ),
    (
        "tgviews1",
        "Telegram. Views. ",
        "Telegram Post Views",
        "1.10 per 1000",
        "tg_post",
        100,
        500000,
    ),
    (
        402,
        "Telegram. Views. ",
        "Telegram Views · last 10 posts",
        "9.90 per 1000",
        "tg_channel",
        500,
        100000,
    ),
    (411, "YouTube. Views. ", "YouTube Views", "89.00 per 1000", "yt_video", 500, 1000000),
    (
        "ytviewsads",
        "YouTube. Views. ",
        "YouTube Views · from ads",
        "140.00 per 1000",
        "yt_video",
        1000,
        500000,
    ),
    (412, "YouTube. Likes. ", "YouTube Likes", "60.00 per 1000", "yt_video", 20, 50000),
    (
        "ytsubs",
        "YouTube. Subscribers. ",
        "YouTube Subscribers",
        "450.00 per 1000",
        "yt_channel",
        50,
        20000,
    ),
    (413, "YouTube. Watch time. ", "YouTube Watch Hours", "9.00 per 1", "yt_video", 100, 4000),
    (421, "TikTok. Views. ", "TikTok Views", "0.90 per 1000", "tt_video", 100, 10000000),
    (422, "TikTok. Likes. ", "TikTok Likes", "38.00 per 1000", "tt_video", 50, 100000),
    (
        "ttfollow",
        "TikTok. Followers. ",
        "TikTok Followers",
        "210.00 per 1000",
        "tt_profile",
        100,
        50000,
    ),
    ("ttshares", "TikTok. Shares. ", "TikTok Shares", "15.00 per 1000", "tt_video", 100, 100000),
    ("vklikebest3", "VK. Likes. ", "VK Likes · best", "0.3500 per 1", "vk_post", 10, 10000),
    (431, "VK. Likes. ", "VK Likes", "140.00 per 1000", "vk_post", 20, 20000),
    (432, "VK. Friends. ", "VK Friends", "0.9000 per 1", "vk_page", 10, 5000),
    (
        "vkgroupmembers",
        "VK. Group members. ",
        "VK Group Members",
        "390.00 per 1000",
        "vk_page",
        100,
        20000,
    ),
    (433, "VK. Reposts. ", "VK Reposts", "0.7000 per 1", "vk_post", 10, 3000),
    (441, "X. Followers. ", "X (Twitter) Followers", "280.00 per 1000", "x_profile", 100, 20000),
    ("xlikes", "X. Likes. ", "X (Twitter) Likes", "95.00 per 1000", "x_post", 20, 20000),
    (442, "X. Reposts. ", "X (Twitter) Reposts", "120.00 per 1000", "x_post", 20, 10000),
]

_PLATFORM_FILLER = {
    "Instagram": ("ig_post", ["Story Views", "Impressions", "Reach", "Profile Visits"]),
    "Telegram": ("tg_post", ["Shares", "Poll Votes", "Comments Likes"]),
    "YouTube": ("yt_video", ["Shorts Views", "Comment Likes"]),
    "TikTok": ("tt_video", ["Saves", "Live Views"]),
    "VK": ("vk_post", ["Views", "Poll Votes"]),
    "X": ("x_post", ["Views", "Bookmarks"]),
}


def _url_param(rule: str) -> dict[str, Any]:
    return {
        "name": _URL_NAMES[rule],
        "param": "url",
        "required": "1",
        "valid": f"value need to consist of : {_URL_RULES[rule]}",
    }


def _count_param(low: int, high: int, name: str = "Amount") -> dict[str, Any]:
    return {
        "name": name,
        "param": "count",
        "required": "1",
        "valid": f"number from  {low} to {high}",
    }


def _service(
    service_id: int | str, category: str, name: str, price: str, params: list[dict[str, Any]]
) -> WireService:
    return {
        "category": category,
        "product_name": name,
        "service": service_id,
        "price": price,
        "params": params,
    }


def builtin_catalog() -> list[WireService]:
    """A realistic catalog: 50 services over 6 platforms, with every shape the API shows."""
    services = [
        _service(sid, cat, name, price, [_url_param(rule), _count_param(low, high)])
        for sid, cat, name, price, rule, low, high in _SIMPLE
    ]
    # The documentation's own example keeps an integer `required`.
    services[0]["params"][0]["required"] = 1
    services.extend(
        [
            _service(
                "instcustomcomments",
                "Instagram. Comments. ",
                "Instagram Custom Comments",
                "2.5000 per 1",
                [
                    _url_param("ig_post"),
                    {
                        "name": "Comments",
                        "param": "comments",
                        "required": "1",
                        "valid": "each comment on a new line, from 5 to 500 comments",
                    },
                ],
            ),
            _service(
                "instfollowgeo",
                "Instagram. Followers. ",
                "Instagram Followers · choose country",
                "260.00 per 1000",
                [
                    _url_param("ig_profile"),
                    _count_param(100, 20000),
                    {
                        "name": "Country",
                        "param": "country",
                        "required": "1",
                        "valid": "",
                        "values": ["Russia", "Kazakhstan", "Ukraine", "Belarus", "USA"],
                    },
                ],
            ),
            _service(
                403,
                "Telegram. Reactions. ",
                "Telegram Post Reactions",
                "25.00 per 1000",
                [
                    _url_param("tg_post"),
                    _count_param(10, 50000),
                    {
                        "name": "Reaction",
                        "param": "reaction",
                        "required": 1,
                        "valid": "",
                        "values": ["👍", "❤️", "🔥", "🎉", "😁"],
                    },
                ],
            ),
            _service(
                "tgpollvotes",
                "Telegram. Poll votes. ",
                "Telegram Poll Votes",
                "55.00 per 1000",
                [
                    _url_param("tg_post"),
                    _count_param(50, 20000),
                    {
                        "name": "Answer",
                        "param": "answer",
                        "required": "1",
                        "valid": "answer number in the poll, counting from the top",
                    },
                ],
            ),
            _service(
                423,
                "TikTok. Views. ",
                "TikTok Views · drip-feed",
                "1.40 per 1000",
                [
                    _url_param("tt_video"),
                    _count_param(1000, 1000000),
                    {
                        "name": "Runs",
                        "param": "runs",
                        "required": "0",
                        "valid": "number from  2 to 100",
                    },
                    {
                        "name": "Speed",
                        "param": "speed",
                        "required": "0",
                        "valid": "",
                        "values": ["slow", "normal", "fast"],
                    },
                ],
            ),
            _service(
                "ytcustomcomments",
                "YouTube. Comments. ",
                "YouTube Custom Comments",
                "6.0000 per 1",
                [
                    _url_param("yt_video"),
                    {
                        "name": "Comments",
                        "param": "comments",
                        "required": "1",
                        "valid": "each comment on a new line, from 5 to 200 comments",
                    },
                ],
            ),
            _service(
                434,
                "VK. Likes. ",
                "VK Likes · targeted",
                "0.6000 per 1",
                [
                    _url_param("vk_post"),
                    _count_param(10, 5000),
                    {
                        "name": "Gender",
                        "param": "gender",
                        "required": "0",
                        "valid": "",
                        "values": ["any", "female", "male"],
                    },
                    {
                        "name": "Note for the manager",
                        "param": "note",
                        "required": "0",
                        "valid": "",
                    },
                ],
            ),
        ]
    )
    next_id = 500
    for platform, (rule, names) in _PLATFORM_FILLER.items():
        for name in names:
            category = f"{platform}. {name.split()[-1]}. "
            price = f"{(next_id % 37) + 3}.00 per 1000"
            services.append(
                _service(
                    next_id,
                    category,
                    f"{platform} {name}",
                    price,
                    [_url_param(rule), _count_param(100, 100000)],
                )
            )
            next_id += 1
    return services


def synthetic_catalog(size: int, *, seed: int = 0) -> list[WireService]:
    """A large catalog for benchmarks: `size` services over many platforms and categories."""
    rng = random.Random(seed)
    platforms = ["Instagram", "Telegram", "YouTube", "TikTok", "VK", "X", "Facebook", "Twitch"]
    kinds = ["Likes", "Followers", "Views", "Comments", "Shares", "Saves", "Reposts", "Votes"]
    rules = list(_URL_RULES)
    services = []
    for index in range(size):
        platform = platforms[index % len(platforms)]
        kind = kinds[(index // len(platforms)) % len(kinds)]
        service_id: int | str = 10_000 + index if index % 3 else f"{platform.lower()}{kind}{index}"
        low = rng.choice([10, 50, 100, 500])
        services.append(
            _service(
                service_id,
                f"{platform}. {kind}. ",
                f"{platform} {kind} #{index}",
                f"{rng.randint(1, 900)}.{rng.randint(0, 99):02d} per 1000",
                [
                    _url_param(rng.choice(rules)),
                    _count_param(low, low * rng.choice([10, 100, 1000])),
                ],
            )
        )
    return services


def load_catalog(path: Path) -> list[WireService]:
    """A catalog from a JSON file: a list of services, or a whole `services` answer."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict) and "message" in data:
        data = data["message"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValueError(f"{path}: expected a JSON list of services")
    return data
