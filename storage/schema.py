"""The schema, as migration steps, each in both dialects. Step N brings a database from
version N-1 to N (SQLite's `PRAGMA user_version`, PostgreSQL's `schema_migrations` table).

Never edit a step that has shipped: add a new one. The two dialects keep the same tables,
columns and meanings (a test compares them); they differ in types only:

- money: Decimal text in SQLite, NUMERIC in PostgreSQL;
- times: Unix seconds, REAL / DOUBLE PRECISION;
- ids: INTEGER / BIGINT (Telegram's ids pass 2^31);
- JSON: TEXT in SQLite; in PostgreSQL `json` for an order's params (their order is the
  form's order, which jsonb would lose) and `jsonb` for notification payloads;
- flags stay integers 0/1 in both, so the same SQL reads them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Step:
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


def both(*statements: str) -> Step:
    """A step whose SQL is the same in both dialects."""
    return Step(statements, statements)


ORDERS_SUBMITTING = (
    "CREATE INDEX orders_submitting ON orders (created_at) WHERE state = 'submitting'"
)
CATALOG_CONTENTS = """
CREATE TABLE catalog_contents (
    digest   TEXT PRIMARY KEY,  -- a hash of `services`
    services TEXT NOT NULL      -- JSON list in the panel's wire shape
)
"""
CATALOG_FETCHES = """
CREATE TABLE catalog_fetches (
    account    TEXT PRIMARY KEY,
    digest     TEXT NOT NULL REFERENCES catalog_contents(digest),
    fetched_at {time} NOT NULL
)
"""
CATALOG_BY_CONTENT = (
    "CREATE INDEX catalog_fetches_by_digest ON catalog_fetches (digest)",
    """
    INSERT INTO catalog_contents (digest, services)
    SELECT 'account:' || account, services FROM catalog_cache
    """,
    """
    INSERT INTO catalog_fetches (account, digest, fetched_at)
    SELECT account, 'account:' || account, fetched_at FROM catalog_cache
    """,
    "DROP TABLE catalog_cache",
)

OUTBOX_SENT_BY_CHAT = (
    "CREATE INDEX outbox_sent_by_chat ON outbox (chat_id, sent_at) WHERE status = 'sent'"
)
PANEL_OUTAGES = """
CREATE TABLE panel_outages (
    panel TEXT   NOT NULL,  -- the panel's API address
    since {time} NOT NULL,  -- when the replica that told the admins saw it go down
    until {time}            -- NULL: still down
)
"""
FAVOURITES = """
CREATE TABLE favourites (
    user_id      {id}   NOT NULL REFERENCES users(id),
    service_id   TEXT   NOT NULL,
    service_name TEXT   NOT NULL,
    created_at   {time} NOT NULL,
    PRIMARY KEY (user_id, service_id)
)
"""
BALANCE_ALERTS = """
CREATE TABLE balance_alerts (
    account   TEXT    PRIMARY KEY,         -- the panel account whose balance is watched
    below     {money} NOT NULL,            -- warn when a balance read is under this
    warned    INTEGER NOT NULL DEFAULT 0,  -- told; not again until a read at or above
    crossings INTEGER NOT NULL DEFAULT 0,  -- times it went under: each warning's own key
    read_at   {time},                      -- the last balance read; NULL: read it soon
    set_by    {id}    NOT NULL
)
"""
BATCHES = """
CREATE TABLE batches (
    token      TEXT    PRIMARY KEY,        -- its confirmation's; each line's is token:n
    user_id    {id}    NOT NULL REFERENCES users(id),
    size       INTEGER NOT NULL,
    summary    INTEGER NOT NULL,           -- 1: one message when all have ended
    created_at {time}  NOT NULL
)
"""
OPEN_OUTAGES = "CREATE UNIQUE INDEX panel_outages_open ON panel_outages (panel) WHERE until IS NULL"

MIGRATIONS: list[Step] = [
    # 1: users, orders and their events, the notification outbox, catalog cache, FSM.
    Step(
        (
            """
            CREATE TABLE users (
                id                INTEGER PRIMARY KEY,  -- Telegram user id
                chat_id           INTEGER NOT NULL,
                first_name        TEXT    NOT NULL DEFAULT '',
                telegram_language TEXT,                 -- as Telegram reports it
                language          TEXT,                 -- their choice; NULL: Telegram's
                is_active         INTEGER NOT NULL DEFAULT 1,  -- 0 once Telegram says 403
                notify            TEXT    NOT NULL DEFAULT 'all',
                panel_username    TEXT,                 -- personal mode only
                panel_apikey      BLOB,                 -- encrypted, never plain text
                created_at        REAL    NOT NULL,
                updated_at        REAL    NOT NULL
            )
            """,
            """
            CREATE TABLE orders (
                id             INTEGER PRIMARY KEY AUTOINCREMENT,
                token          TEXT    NOT NULL UNIQUE,  -- one per confirmation: placed once
                user_id        INTEGER NOT NULL REFERENCES users(id),
                chat_id        INTEGER NOT NULL,
                account        TEXT    NOT NULL,         -- the panel account the order goes on
                state          TEXT    NOT NULL,
                service_id     TEXT    NOT NULL,
                service_name   TEXT    NOT NULL,
                params         TEXT    NOT NULL,         -- JSON object: the fields sent with `add`
                quantity       INTEGER,
                total          TEXT,                     -- Decimal shown at confirmation
                panel_order_id TEXT,
                charged        TEXT,                     -- Decimal the panel reported
                error          TEXT,                     -- refusal text or transport failure
                status_code    TEXT,
                status_text    TEXT,
                remain         INTEGER,
                announced_remain INTEGER,                -- remain when progress was last announced
                muted          INTEGER NOT NULL DEFAULT 0,
                next_check_at  REAL,                     -- NULL: not tracked
                quiet_checks   INTEGER NOT NULL DEFAULT 0,
                failed_checks  INTEGER NOT NULL DEFAULT 0,
                created_at     REAL    NOT NULL,
                updated_at     REAL    NOT NULL,
                UNIQUE (account, panel_order_id)
            )
            """,
            "CREATE INDEX orders_due ON orders (next_check_at) WHERE next_check_at IS NOT NULL",
            "CREATE INDEX orders_by_user ON orders (user_id, id DESC)",
            """
            CREATE TABLE order_events (
                id          INTEGER PRIMARY KEY AUTOINCREMENT,
                order_id    INTEGER NOT NULL REFERENCES orders(id),
                state       TEXT    NOT NULL,
                status_code TEXT,
                status_text TEXT,
                remain      INTEGER,
                created_at  REAL    NOT NULL
            )
            """,
            "CREATE INDEX order_events_by_order ON order_events (order_id, id)",
            """
            CREATE TABLE outbox (
                id              INTEGER PRIMARY KEY AUTOINCREMENT,
                dedupe_key      TEXT    NOT NULL UNIQUE,  -- one message per event, ever
                user_id         INTEGER NOT NULL REFERENCES users(id),
                chat_id         INTEGER NOT NULL,
                kind            TEXT    NOT NULL,
                payload         TEXT    NOT NULL,         -- JSON
                status          TEXT    NOT NULL DEFAULT 'pending',  -- pending|sent|parked|dropped
                attempts        INTEGER NOT NULL DEFAULT 0,
                next_attempt_at REAL    NOT NULL,
                last_error      TEXT,
                created_at      REAL    NOT NULL,
                sent_at         REAL
            )
            """,
            "CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending'",
            "CREATE INDEX outbox_by_chat ON outbox (chat_id, id) WHERE status = 'pending'",
            """
            CREATE TABLE catalog_cache (
                account    TEXT PRIMARY KEY,
                services   TEXT NOT NULL,  -- JSON list in the panel's wire shape
                fetched_at REAL NOT NULL
            )
            """,
            """
            CREATE TABLE fsm (
                bot_id                 INTEGER NOT NULL,
                chat_id                INTEGER NOT NULL,
                user_id                INTEGER NOT NULL,
                thread_id              INTEGER NOT NULL DEFAULT 0,   -- 0 stands for None
                business_connection_id TEXT    NOT NULL DEFAULT '',  -- '' stands for None
                destiny                TEXT    NOT NULL,
                state                  TEXT,
                data                   TEXT    NOT NULL DEFAULT '{}',
                updated_at             REAL    NOT NULL,
                PRIMARY KEY (bot_id, chat_id, user_id, thread_id, business_connection_id, destiny)
            ) WITHOUT ROWID
            """,
        ),
        (
            """
            CREATE TABLE users (
                id                BIGINT PRIMARY KEY,
                chat_id           BIGINT  NOT NULL,
                first_name        TEXT    NOT NULL DEFAULT '',
                telegram_language TEXT,
                language          TEXT,
                is_active         INTEGER NOT NULL DEFAULT 1,
                notify            TEXT    NOT NULL DEFAULT 'all',
                panel_username    TEXT,
                panel_apikey      BYTEA,
                created_at        DOUBLE PRECISION NOT NULL,
                updated_at        DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE orders (
                id             BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                token          TEXT    NOT NULL UNIQUE,
                user_id        BIGINT  NOT NULL REFERENCES users(id),
                chat_id        BIGINT  NOT NULL,
                account        TEXT    NOT NULL,
                state          TEXT    NOT NULL,
                service_id     TEXT    NOT NULL,
                service_name   TEXT    NOT NULL,
                params         JSON    NOT NULL,
                quantity       BIGINT,
                total          NUMERIC,
                panel_order_id TEXT,
                charged        NUMERIC,
                error          TEXT,
                status_code    TEXT,
                status_text    TEXT,
                remain         BIGINT,
                announced_remain BIGINT,
                muted          INTEGER NOT NULL DEFAULT 0,
                next_check_at  DOUBLE PRECISION,
                quiet_checks   INTEGER NOT NULL DEFAULT 0,
                failed_checks  INTEGER NOT NULL DEFAULT 0,
                created_at     DOUBLE PRECISION NOT NULL,
                updated_at     DOUBLE PRECISION NOT NULL,
                UNIQUE (account, panel_order_id)
            )
            """,
            "CREATE INDEX orders_due ON orders (next_check_at) WHERE next_check_at IS NOT NULL",
            "CREATE INDEX orders_by_user ON orders (user_id, id DESC)",
            """
            CREATE TABLE order_events (
                id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                order_id    BIGINT NOT NULL REFERENCES orders(id),
                state       TEXT   NOT NULL,
                status_code TEXT,
                status_text TEXT,
                remain      BIGINT,
                created_at  DOUBLE PRECISION NOT NULL
            )
            """,
            "CREATE INDEX order_events_by_order ON order_events (order_id, id)",
            """
            CREATE TABLE outbox (
                id              BIGINT  GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
                dedupe_key      TEXT    NOT NULL UNIQUE,
                user_id         BIGINT  NOT NULL REFERENCES users(id),
                chat_id         BIGINT  NOT NULL,
                kind            TEXT    NOT NULL,
                payload         JSONB   NOT NULL,
                status          TEXT    NOT NULL DEFAULT 'pending',
                attempts        INTEGER NOT NULL DEFAULT 0,
                next_attempt_at DOUBLE PRECISION NOT NULL,
                last_error      TEXT,
                created_at      DOUBLE PRECISION NOT NULL,
                sent_at         DOUBLE PRECISION
            )
            """,
            "CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'pending'",
            "CREATE INDEX outbox_by_chat ON outbox (chat_id, id) WHERE status = 'pending'",
            """
            CREATE TABLE catalog_cache (
                account    TEXT PRIMARY KEY,
                services   TEXT NOT NULL,
                fetched_at DOUBLE PRECISION NOT NULL
            )
            """,
            """
            CREATE TABLE fsm (
                bot_id                 BIGINT NOT NULL,
                chat_id                BIGINT NOT NULL,
                user_id                BIGINT NOT NULL,
                thread_id              BIGINT NOT NULL DEFAULT 0,
                business_connection_id TEXT   NOT NULL DEFAULT '',
                destiny                TEXT   NOT NULL,
                state                  TEXT,
                data                   TEXT   NOT NULL DEFAULT '{}',
                updated_at             DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (bot_id, chat_id, user_id, thread_id, business_connection_id, destiny)
            )
            """,
        ),
    ),
    # 2: orders still being sent, for the sweep that settles those nobody will answer; and
    # the message that tells an order's person the panel's answer (placed, refused, or none:
    # uncertain), written by the very statement that records the answer. It is held back
    # (`next_attempt_at`) for longer than a Telegram request may take, while the code that
    # recorded the answer delivers it itself; `outbox.release` and every start-up let the
    # notifier have it at once.
    Step(
        (
            ORDERS_SUBMITTING,
            """
            CREATE TRIGGER orders_answered AFTER UPDATE OF state ON orders
            WHEN NEW.state IN ('placed', 'rejected', 'uncertain')
                 AND OLD.state IN ('submitting', 'uncertain') AND NEW.state <> OLD.state
            BEGIN
                INSERT INTO outbox (dedupe_key, user_id, chat_id, kind, payload,
                                    next_attempt_at, created_at)
                VALUES ('order:' || NEW.id || ':order_' || NEW.state, NEW.user_id, NEW.chat_id,
                        'order_' || NEW.state,
                        json_object('order', NEW.id, 'panel_order_id', NEW.panel_order_id,
                                    'service', NEW.service_name,
                                    'charged', COALESCE(NEW.charged, NEW.total),
                                    'error', NEW.error),
                        NEW.updated_at + 90, NEW.updated_at)
                ON CONFLICT (dedupe_key) DO NOTHING;
            END
            """,
        ),
        (
            ORDERS_SUBMITTING,
            """
            CREATE FUNCTION orders_answered() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO outbox (dedupe_key, user_id, chat_id, kind, payload,
                                    next_attempt_at, created_at)
                VALUES ('order:' || NEW.id || ':order_' || NEW.state, NEW.user_id, NEW.chat_id,
                        'order_' || NEW.state,
                        jsonb_build_object('order', NEW.id,
                                           'panel_order_id', NEW.panel_order_id,
                                           'service', NEW.service_name,
                                           'charged', COALESCE(NEW.charged, NEW.total)::text,
                                           'error', NEW.error),
                        NEW.updated_at + 90, NEW.updated_at)
                ON CONFLICT (dedupe_key) DO NOTHING;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER orders_answered AFTER UPDATE OF state ON orders FOR EACH ROW
            WHEN (NEW.state IN ('placed', 'rejected', 'uncertain')
                  AND OLD.state IN ('submitting', 'uncertain') AND NEW.state <> OLD.state)
            EXECUTE FUNCTION orders_answered()
            """,
        ),
    ),
    # 3: catalogs by content, so accounts that see the same catalog store it once; each
    # account's row names the content it last fetched. Rows of step 1 move over under a
    # made-up digest, which the next fetch replaces.
    Step(
        (CATALOG_CONTENTS, CATALOG_FETCHES.format(time="REAL"), *CATALOG_BY_CONTENT),
        (CATALOG_CONTENTS, CATALOG_FETCHES.format(time="DOUBLE PRECISION"), *CATALOG_BY_CONTENT),
    ),
    # 4: orders by state, read at every metrics scrape; orders are kept forever.
    both("CREATE INDEX orders_by_state ON orders (state)"),
    # 5: the message that shows an order's live card (its confirmation, edited as the order
    # moves).
    Step(
        ("ALTER TABLE orders ADD COLUMN card_message_id INTEGER",),
        ("ALTER TABLE orders ADD COLUMN card_message_id BIGINT",),
    ),
    # 6: work shared by replicas. A lease: the time until which one replica has taken an
    # order to check or a message to send (NULL: nobody has); one killed mid-lease loses
    # nothing, the work is taken again once it expires. Messages sent, by chat, so every
    # replica keeps Telegram's pace for a chat. The panel's outages, one open at a time, so
    # the admins are told once whichever replica saw it.
    Step(
        (
            "ALTER TABLE orders ADD COLUMN lease_until REAL",
            "ALTER TABLE outbox ADD COLUMN lease_until REAL",
            OUTBOX_SENT_BY_CHAT,
            PANEL_OUTAGES.format(time="REAL"),
            OPEN_OUTAGES,
        ),
        (
            "ALTER TABLE orders ADD COLUMN lease_until DOUBLE PRECISION",
            "ALTER TABLE outbox ADD COLUMN lease_until DOUBLE PRECISION",
            OUTBOX_SENT_BY_CHAT,
            PANEL_OUTAGES.format(time="DOUBLE PRECISION"),
            OPEN_OUTAGES,
        ),
    ),
    # 7: where an order was placed: by the bot, or on the panel's website by the person, who
    # then asked the bot to track it (/track); which orders the bot knows by a panel id.
    both(
        "ALTER TABLE orders ADD COLUMN origin TEXT NOT NULL DEFAULT 'bot'",
        "CREATE INDEX orders_by_panel_id ON orders (panel_order_id) "
        "WHERE panel_order_id IS NOT NULL",
    ),
    # 8: the services a person starred, by id, with the name they had (a service that left
    # the catalog is still named); a panel account's low-balance warning.
    Step(
        (
            FAVOURITES.format(id="INTEGER", time="REAL"),
            BALANCE_ALERTS.format(id="INTEGER", time="REAL", money="TEXT"),
        ),
        (
            FAVOURITES.format(id="BIGINT", time="DOUBLE PRECISION"),
            BALANCE_ALERTS.format(id="BIGINT", time="DOUBLE PRECISION", money="NUMERIC"),
        ),
    ),
    # 9: several links at once: a batch of orders placed from one confirmation, and whether
    # its person hears of each order's end or of the batch's, once all have ended.
    Step(
        (
            "ALTER TABLE orders ADD COLUMN batch TEXT",
            "CREATE INDEX orders_by_batch ON orders (batch) WHERE batch IS NOT NULL",
            BATCHES.format(id="INTEGER", time="REAL"),
        ),
        (
            "ALTER TABLE orders ADD COLUMN batch TEXT",
            "CREATE INDEX orders_by_batch ON orders (batch) WHERE batch IS NOT NULL",
            BATCHES.format(id="BIGINT", time="DOUBLE PRECISION"),
        ),
    ),
]
