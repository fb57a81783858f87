"""Catalogs for the sandbox panel, in the panel's own wire shape (`services` message entries).

The built-in catalog looks like a real SMMLaba one. Its first 50 services, over 6 platforms,
are the ones the tests and the demo walk: integer and string-code ids, dotted categories with
stray spaces, "amount per quantity" prices, `valid` rules in both documented forms plus
free-text ones, choice lists, optional fields and a multi-line comments service. After them
comes a section shaped after a public dump of the real answer: 335 services over about 40
platforms, HTML-escaped names up to 242 characters with a platform prefix and messy spaces,
platforms and categories spelled in several cases (TIKTOK / TikTok), a few empty categories,
ids with a trailing space or a Cyrillic letter, and two ids listed twice.
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
    "fb_post": "https://www.facebook.com/ or https://m.facebook.com/ or https://fb.watch/",
    "fb_page": "https://www.facebook.com/ or https://m.facebook.com/",
    "tg_bot": "https://t.me/  and bot",
    "rutube_video": "https://rutube.ru/video/ or https://rutube.ru/shorts/",
    "rutube_channel": "https://rutube.ru/channel/ or https://rutube.ru/u/",
    "ok": "https://ok.ru/ or https://m.ok.ru/",
    "twitch": "https://www.twitch.tv/ or https://twitch.tv/",
    "discord": "https://discord.gg/ or https://discord.com/invite/",
    "spotify": "https://open.spotify.com/",
    "threads": "https://www.threads.net/@ or https://www.threads.com/@",
    "likee": "https://likee.video/@ or https://l.likee.video/",
    "dzen": "https://dzen.ru/",
    "soundcloud": "https://soundcloud.com/ or https://on.soundcloud.com/",
    "pinterest": "https://www.pinterest.com/ or https://ru.pinterest.com/ or https://pin.it/",
    "linkedin": "https://www.linkedin.com/",
    "reddit": "https://www.reddit.com/ or https://reddit.com/",
    "snapchat": "https://www.snapchat.com/",
    "kick": "https://kick.com/",
    "trovo": "https://trovo.live/",
    "vimeo": "https://vimeo.com/",
    "dailymotion": "https://www.dailymotion.com/video/ or https://dai.ly/",
    "yandex_music": "https://music.yandex.ru/",
    "apple_music": "https://music.apple.com/",
    "deezer": "https://www.deezer.com/ or https://deezer.page.link/",
    "shazam": "https://www.shazam.com/",
    "boosty": "https://boosty.to/",
    "pikabu": "https://pikabu.ru/",
    "yappy": "https://yappy.media/",
    "mymir": "https://my.mail.ru/",
    "clubhouse": "https://www.clubhouse.com/",
    "tumblr": "https://www.tumblr.com/",
    "quora": "https://www.quora.com/",
    "google_maps": "https://maps.app.goo.gl/ or https://www.google.com/maps/",
    "site": "http:// or https://",
    "kwai": "https://www.kwai.com/ or https://k.kwai.com/",
    "rumble": "https://rumble.com/",
    "audiomack": "https://audiomack.com/",
    "mixcloud": "https://www.mixcloud.com/",
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
    "fb_post": "Post link",
    "fb_page": "Page link",
    "tg_bot": "Bot link",
    "rutube_video": "Video link",
    "rutube_channel": "Channel link",
    "ok": "Link",
    "twitch": "Channel link",
    "discord": "Invite link",
    "spotify": "Track, album or playlist link",
    "threads": "Link",
    "likee": "Link",
    "dzen": "Article or channel link",
    "soundcloud": "Track or profile link",
    "pinterest": "Link",
    "linkedin": "Link",
    "reddit": "Post or community link",
    "snapchat": "Profile link",
    "kick": "Channel link",
    "trovo": "Channel link",
    "vimeo": "Video link",
    "dailymotion": "Video link",
    "yandex_music": "Track or album link",
    "apple_music": "Track link",
    "deezer": "Track link",
    "shazam": "Track link",
    "boosty": "Page link",
    "pikabu": "Post or profile link",
    "yappy": "Link",
    "mymir": "Link",
    "clubhouse": "Profile link",
    "tumblr": "Link",
    "quora": "Link",
    "google_maps": "Place link",
    "site": "Site link",
    "kwai": "Link",
    "rumble": "Video link",
    "audiomack": "Track link",
    "mixcloud": "Mix link",
}

# (id, category, product name, price, url rule, min, max)
_Simple = tuple[int | str, str, str, str, str, int, int]

_SIMPLE: list[_Simple] = [
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

# -- The real-shaped section -------------------------------------------------------------
# Shaped after a public dump of the real `services` answer (979 services): names carry a
# platform prefix and arrive HTML-escaped, messy (double and trailing spaces, backslashes),
# platforms and categories are spelled inconsistently (TIKTOK / TikTok, ВКонтакте /
# Вконтакте), ids are opaque codes. Generated from the tables below, deterministically.

# (kind as the panel spells it in the category and the names, id fragment, url rule, count)
_Kind = tuple[str, str, str, int]

# (platform as the panel spells it, id prefix, kinds). Case variants are separate rows, each
# with fewer services than the first block's spelling of the same platform. The first two new
# names (ВКонтакте, Facebook) share the first menu page with the six original platforms.
_REAL_PLATFORMS: list[tuple[str, str, list[_Kind]]] = [
    (
        "ВКонтакте",
        "vk",
        [
            ("Лайки", "like", "vk_post", 7),
            ("Подписчики", "subs", "vk_page", 6),
            ("Просмотры", "view", "vk_post", 4),
            ("Репосты", "repost", "vk_post", 4),
            ("Друзья", "friend", "vk_page", 3),
            ("Опросы", "poll", "vk_post", 2),
        ],
    ),
    (
        "Facebook",
        "facebook",
        [
            ("Likes", "likes", "fb_post", 4),
            ("Лайки", "likeru", "fb_post", 4),
            ("Followers", "follow", "fb_page", 3),
            ("Просмотры видео", "video", "fb_post", 3),
        ],
    ),
    (
        "Telegram",
        "telegram",
        [
            ("Подписчики", "subs", "tg_channel", 8),
            ("Просмотры", "view", "tg_post", 8),
            ("Реакции", "react", "tg_post", 5),
            ("Репосты", "repost", "tg_post", 3),
            ("Старты ботов", "botstart", "tg_bot", 3),
            ("Комментарии", "comm", "tg_post", 2),
            ("Premium подписчики", "premsubs", "tg_channel", 3),
        ],
    ),
    # No Instagram kind is about likes: "/search лайки инстаграм" must find only the first
    # block's "Instagram Likes".
    (
        "Instagram",
        "inst",
        [
            ("Подписчики", "subs", "ig_profile", 8),
            ("Просмотры", "views", "ig_reel", 6),
            ("Комментарии", "comm", "ig_post", 4),
            ("Сохранения", "save", "ig_post", 3),
            ("Охват и показы", "reach", "ig_post", 3),
            ("Просмотры историй", "story", "ig_profile", 3),
            ("Прямой эфир", "live", "ig_profile", 2),
            ("Репосты", "share", "ig_post", 2),
        ],
    ),
    # Russian kinds only: "youtube subscribers" must find "YouTube Subscribers" first.
    (
        "YouTube",
        "youtube",
        [
            ("Просмотры", "view", "yt_video", 7),
            ("Лайки", "like", "yt_video", 4),
            ("Подписчики", "subs", "yt_channel", 4),
            ("Комментарии", "comm", "yt_video", 3),
            ("Shorts", "shorts", "yt_video", 3),
            ("Трансляции", "stream", "yt_video", 3),
            ("Время просмотра", "hours", "yt_video", 2),
        ],
    ),
    (
        "Youtube",
        "youtube",
        [("Лайки", "lik", "yt_video", 3), ("Просмотры", "views", "yt_video", 2)],
    ),
    # No "Views" in TikTok's names: "/search tiktok views" must find "TikTok Views" first.
    (
        "TikTok",
        "tiktok",
        [
            ("Подписчики", "subs", "tt_profile", 4),
            ("Comments", "comments", "tt_video", 3),
            ("Репосты", "repost", "tt_video", 2),
            ("Прямые эфиры", "live", "tt_profile", 3),
            ("Сохранения", "save", "tt_video", 2),
        ],
    ),
    ("TIKTOK", "tt", [("Просмотры", "view", "tt_video", 4), ("Лайки", "like", "tt_video", 2)]),
    ("FaceBook", "fb", [("лайки", "like", "fb_post", 3), ("Подписчики", "subs", "fb_page", 2)]),
    (
        "Вконтакте",
        "vkontakte",
        [("Друзья", "friends", "vk_page", 3), ("Участники", "members", "vk_page", 2)],
    ),
    (
        "Twitter",
        "twitter",
        [
            ("Подписчики", "subs", "x_profile", 3),
            ("Ретвиты", "rt", "x_post", 2),
            ("Лайки", "like", "x_post", 2),
        ],
    ),
    (
        "Рутуб",
        "rutube",
        [
            ("Просмотры", "view", "rutube_video", 4),
            ("Подписчики", "subs", "rutube_channel", 3),
            ("Лайки", "like", "rutube_video", 2),
        ],
    ),
    (
        "Одноклассники",
        "ok",
        [
            ("Классы", "class", "ok", 4),
            ("Участники группы", "group", "ok", 3),
            ("Просмотры", "view", "ok", 2),
        ],
    ),
    (
        "Twitch",
        "twitch",
        [
            ("Followers", "follow", "twitch", 3),
            ("Зрители", "viewers", "twitch", 4),
            ("Просмотры клипов", "clip", "twitch", 2),
        ],
    ),
    (
        "Discord",
        "discord",
        [("Members", "members", "discord", 3), ("Онлайн", "online", "discord", 2)],
    ),
    (
        "Spotify",
        "spotify",
        [
            ("Plays", "plays", "spotify", 4),
            ("Подписчики", "subs", "spotify", 2),
            ("Сохранения", "save", "spotify", 2),
        ],
    ),
    (
        "Threads",
        "threads",
        [
            ("Лайки", "like", "threads", 3),
            ("Подписчики", "subs", "threads", 3),
            ("Репосты", "repost", "threads", 2),
        ],
    ),
    (
        "Likee",
        "likee",
        [
            ("Лайки", "like", "likee", 2),
            ("Просмотры", "view", "likee", 3),
            ("Подписчики", "subs", "likee", 2),
        ],
    ),
    (
        "Дзен",
        "dzen",
        [
            ("Дочитывания", "read", "dzen", 3),
            ("Подписчики", "subs", "dzen", 3),
            ("Лайки", "like", "dzen", 2),
        ],
    ),
    (
        "SoundCloud",
        "soundcloud",
        [
            ("Plays", "plays", "soundcloud", 3),
            ("Likes", "likes", "soundcloud", 2),
            ("Followers", "follow", "soundcloud", 2),
        ],
    ),
    (
        "Pinterest",
        "pinterest",
        [("Подписчики", "subs", "pinterest", 2), ("Сохранения", "save", "pinterest", 2)],
    ),
    (
        "LinkedIn",
        "linkedin",
        [("Followers", "follow", "linkedin", 2), ("Connections", "conn", "linkedin", 2)],
    ),
    ("Reddit", "reddit", [("Upvotes", "upvote", "reddit", 3), ("Members", "members", "reddit", 1)]),
    (
        "Snapchat",
        "snapchat",
        [("Просмотры", "view", "snapchat", 2), ("Подписчики", "subs", "snapchat", 2)],
    ),
    ("Kick", "kick", [("Followers", "follow", "kick", 2), ("Зрители", "viewers", "kick", 3)]),
    ("Trovo", "trovo", [("Followers", "follow", "trovo", 2), ("Зрители", "viewers", "trovo", 2)]),
    ("Vimeo", "vimeo", [("Просмотры", "view", "vimeo", 3), ("Лайки", "like", "vimeo", 1)]),
    ("Dailymotion", "dailymotion", [("Views", "views", "dailymotion", 2)]),
    (
        "Яндекс Музыка",
        "yamusic",
        [("Прослушивания", "listen", "yandex_music", 3), ("Лайки", "like", "yandex_music", 2)],
    ),
    ("Apple Music", "applemusic", [("Plays", "plays", "apple_music", 2)]),
    ("Deezer", "deezer", [("Прослушивания", "listen", "deezer", 2)]),
    ("Shazam", "shazam", [("Шазамы", "shazam", "shazam", 2)]),
    ("Boosty", "boosty", [("Подписчики", "subs", "boosty", 2), ("Лайки", "like", "boosty", 1)]),
    ("Пикабу", "pikabu", [("Плюсы", "plus", "pikabu", 2), ("Подписчики", "subs", "pikabu", 2)]),
    ("Яппи", "yappy", [("Просмотры", "view", "yappy", 2), ("Лайки", "like", "yappy", 2)]),
    ("Мой Мир", "mymir", [("Классы", "class", "mymir", 2), ("Друзья", "friend", "mymir", 1)]),
    ("Clubhouse", "clubhouse", [("Followers", "follow", "clubhouse", 2)]),
    (
        "Tumblr",
        "tumblr",
        [("Reblogs", "reblog", "tumblr", 1), ("Followers", "follow", "tumblr", 1)],
    ),
    ("Quora", "quora", [("Upvotes", "upvote", "quora", 2), ("Followers", "follow", "quora", 1)]),
    ("Google Maps", "gmaps", [("Отзывы", "review", "google_maps", 2)]),
    ("Трафик", "traffic", [("Посетители на сайт", "visit", "site", 4)]),
    ("Kwai", "kwai", [("Подписчики", "subs", "kwai", 2), ("Лайки", "like", "kwai", 1)]),
    ("Rumble", "rumble", [("Views", "views", "rumble", 2)]),
    ("Audiomack", "audiomack", [("Plays", "plays", "audiomack", 2)]),
]

# What follows the kind in a generated name, and its id fragment. No variant says "like",
# "views", "subscribers" or "cheap": tests search for those words and expect the first block.
_RU_VARIANTS = [
    ("", ""),
    (" | Быстрый старт", "fast"),
    ("  из России", "ru"),  # the panel's double space
    (" [Гарантия 30 дней]", "r30"),
    (" (Живые пользователи) ", "real"),  # and its trailing one
    (" - Микс стран", "mix"),
    (" HQ | До 10К в сутки | Старт 0-1 час | Без списаний", "hq"),
    (" \\ Медленные, естественный прирост", "slow"),
    (" СНГ", "cis"),
    (" [Премиум] ", "prem"),
    (" | Старт 0-15 минут | Скорость до 50 000 в сутки | Гарантия 60 дней", "max"),
    (" - Эконом", "eco"),
    (" с гарантией 90 дней  ", "r90"),
    (" | Женская аудитория", "fem"),
    (" | Таргет: Казахстан", "kz"),
    (" (Офферы)", "offer"),
]
_EN_VARIANTS = [
    ("", ""),
    (" | Fast start", "fast"),
    (" [Refill 30 days]", "r30"),
    (" - Real users ", "real"),
    (" HQ | Up to 20K/day | No drop", "hq"),
    (" \\ Worldwide", "world"),
    (" [Premium]", "prem"),
    ("  USA", "usa"),
    (" - Slow, natural growth", "slow"),
    (" | Europe", "eu"),
]

# Hand-written services with the dump's quirks, listed after their platform's block.
_REAL_ODD: dict[str, list[_Simple]] = {
    "ВКонтакте": [
        (
            "vkpostviews",
            "ВКонтакте. Просмотры. ",
            "ВКонтакте - Просмотры записи",
            "8.40 per 1000",
            "vk_post",
            100,
            100000,
        ),
    ],
    "Facebook": [
        (
            "59",
            "Facebook. Likes. ",
            "Facebook - Likes on a post",
            "64.00 per 1000",
            "fb_post",
            50,
            20000,
        ),
    ],
    "Telegram": [
        (
            "telegramviewautosub30dayscheap",
            "Telegram. Просмотры. ",
            "Telegram - Автопросмотры на новые посты (подписка на 30 дней) ",
            "0.3500 per 1",
            "tg_channel",
            100,
            50000,
        ),
        (
            "117",
            "Telegram. Просмотры. ",
            "Telegram - Просмотры на 1 пост",
            "0.90 per 1000",
            "tg_post",
            100,
            1000000,
        ),
        (
            "117",
            "Telegram. Просмотры. ",
            "Telegram - Просмотры на 1 пост [Старт 0-5 минут]",
            "1.35 per 1000",
            "tg_post",
            100,
            500000,
        ),
        (
            "telegramreactpremiumb",
            "Telegram. Реакции. ",
            "Telegram - Реакции &lt;b&gt;премиум&lt;/b&gt;",
            "48.00 per 1000",
            "tg_post",
            10,
            10000,
        ),
        (
            "telegramsubsguarantee30",
            "Telegram. Подписчики. ",
            "Telegram - Подписчики на канал/группу [Гарантия 30 дней] | Старт 0-2 часа | "
            "Скорость до 5К в сутки | Живые пользователи из СНГ с аватарами и русскими именами "
            "| Возможно списание до 10% в первые дни; докрутка по кнопке &quot;Восстановить&quot;",
            "310.00 per 1000",
            "tg_channel",
            100,
            20000,
        ),
    ],
    "YouTube": [
        (
            "youtubeviewsretentionworldwide10m",
            "YouTube. Просмотры. ",
            "YouTube - Просмотры с удержанием 10 минут | Весь мир",
            "420.00 per 1000",
            "yt_video",
            500,
            100000,
        ),
    ],
    "Youtube": [
        (
            "youtubelik\u0443germany",
            "Youtube. Лайки. ",
            "Youtube - Лайки  из Германии",
            "95.00 per 1000",
            "yt_video",
            20,
            5000,
        ),
    ],
    "FaceBook": [
        (
            "fbpagelikeindia ",
            "FaceBook. лайки. ",
            "FaceBook - Лайки на страницу (Индия)",
            "72.00 per 1000",
            "fb_page",
            100,
            10000,
        ),
        (
            "fbrecommend",
            "FaceBook. Рейтинг. ",
            "FaceBook - Рейтинг для страниц (Кнопка &quot;Я рекомендую&quot;)",
            "1.2000 per 1",
            "fb_page",
            10,
            1000,
        ),
    ],
    "Вконтакте": [
        (
            "vkpostviews",
            "Вконтакте. Просмотры. ",
            "Вконтакте - Просмотры записи | Быстрые",
            "12.00 per 1000",
            "vk_post",
            100,
            300000,
        ),
    ],
    "Рутуб": [
        (
            "rutubetop",
            "Рутуб. Продвижение. ",
            "Рутуб - Кнопка &quot;В ТОП&quot;",
            "0.7500 per 1",
            "rutube_video",
            10,
            5000,
        ),
    ],
    "Twitch": [
        (
            "twitchfollowviewers",
            "Twitch. Followers. ",
            "Twitch - Followers &amp; зрители | Пакет для новых стримеров",
            "150.00 per 1000",
            "twitch",
            100,
            10000,
        ),
    ],
    # Empty categories, as the dump has a few: only the name's prefix tells the platform.
    "Spotify": [
        (
            "spotifylisten1m",
            "",
            "Spotify - Прослушивания трека | Уникальные слушатели",
            "55.00 per 1000",
            "spotify",
            1000,
            1000000,
        ),
        (
            "spotifyplaylistfollow",
            "",
            "Spotify - Подписчики на плейлист ",
            "140.00 per 1000",
            "spotify",
            100,
            50000,
        ),
    ],
    "SoundCloud": [
        (
            "74",
            "",
            "SoundCloud - Прослушивания  [Весь мир]",
            "3.10 per 1000",
            "soundcloud",
            1000,
            5000000,
        ),
    ],
    # Mixcloud has no block: this one service, with no category, is all of it.
    "Audiomack": [
        (
            "mixcloudplays",
            "",
            "Mixcloud - Прослушивания миксов",
            "11.00 per 1000",
            "mixcloud",
            500,
            100000,
        ),
    ],
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


def _simple(entry: _Simple) -> WireService:
    service_id, category, name, price, rule, low, high = entry
    return _service(service_id, category, name, price, [_url_param(rule), _count_param(low, high)])


def _real_shaped() -> list[WireService]:
    """The real-shaped section: `_REAL_PLATFORMS` expanded, each block followed by its odd
    services. Prices, limits and the occasional digit id come from the running index."""
    services: list[WireService] = []
    index = 0
    for row, (platform, code, kinds) in enumerate(_REAL_PLATFORMS):
        for column, (kind, kind_code, rule, count) in enumerate(kinds):
            # The panel is not consistent about the spaces around its dots.
            category = f"{platform}.  {kind} . " if column % 3 == 2 else f"{platform}. {kind}. "
            variants = _EN_VARIANTS if kind.isascii() else _RU_VARIANTS
            first = (row * 5 + column * 3) % len(variants)
            for n in range(count):
                suffix, tag = variants[(first + n) % len(variants)]
                service_id = str(1000 + index) if index % 9 == 4 else f"{code}{kind_code}{tag}"
                low = (10, 20, 50, 100, 500, 1000)[index % 6]
                step = (index * 37 + 11) % 97
                # Per-one prices are the panel's way for expensive, hand-made services.
                price = (
                    f"{0.05 + step / 100:.4f} per 1"
                    if index % 7 == 3
                    else f"{5 + step * 2.75:.2f} per 1000"
                )
                services.append(
                    _simple(
                        (
                            service_id,
                            category,
                            f"{platform} - {kind}{suffix}",
                            price,
                            rule,
                            low,
                            low * (100, 500, 1000, 50)[index % 4],
                        )
                    )
                )
                index += 1
        services.extend(map(_simple, _REAL_ODD.get(platform, [])))
    return services


def builtin_catalog() -> list[WireService]:
    """A realistic catalog, with every shape the API shows: the 50 hand-made services over 6
    platforms first (Instagram › Likes › Instagram Likes leads), then the real-shaped section,
    385 services in all over 43 platforms (counted case-insensitively)."""
    services = [_simple(entry) for entry in _SIMPLE]
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
    services.extend(_real_shaped())
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
