"""The catalog as a Telegram Mini App: a page served by the bot's own aiohttp server, and the
JSON API behind it. The page browses the same catalog, validates by the same params rules and
places orders through the same exactly-once path as the chat."""
