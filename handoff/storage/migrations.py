"""The schema, versioned: ``MIGRATIONS[i]`` moves a database from version i to i+1, so an old
database is upgraded on open and nothing is lost."""

MIGRATIONS: list[str] = [
    """
    CREATE TABLE subscribers (
        user_id       INTEGER PRIMARY KEY,
        chat_id       INTEGER NOT NULL,
        first_name    TEXT NOT NULL DEFAULT '',
        username      TEXT,
        language_code TEXT,
        lang          TEXT,
        blocked       INTEGER NOT NULL DEFAULT 0,
        created_at    REAL NOT NULL,
        updated_at    REAL NOT NULL
    );
    CREATE TABLE interactions (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        ts          REAL NOT NULL,
        text        TEXT NOT NULL,
        normalized  TEXT NOT NULL,
        decision    TEXT NOT NULL,
        topic       TEXT,
        candidates  TEXT NOT NULL DEFAULT '',
        score       REAL NOT NULL,
        lang        TEXT,
        latency_ms  REAL NOT NULL
    );
    CREATE INDEX interactions_user_ts ON interactions(user_id, ts);
    CREATE INDEX interactions_ts ON interactions(ts);
    CREATE TABLE feedback (
        id       INTEGER PRIMARY KEY,
        user_id  INTEGER NOT NULL,
        topic    TEXT NOT NULL,
        helpful  INTEGER NOT NULL,
        ts       REAL NOT NULL
    );
    CREATE TABLE handoffs (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        reason      TEXT NOT NULL,
        question    TEXT NOT NULL DEFAULT '',
        status      TEXT NOT NULL DEFAULT 'waiting',
        created_at  REAL NOT NULL
    );
    CREATE INDEX handoffs_status ON handoffs(status, created_at);
    """,
    # v2, the agent desk: hand-offs become tickets (same ids, so numbers subscribers were told
    # stay valid); at most one waiting hand-off per subscriber survives as waiting, the rest
    # are closed as "migrated" so the one-open-ticket index holds.
    """
    CREATE TABLE tickets (
        id                      INTEGER PRIMARY KEY,
        user_id                 INTEGER NOT NULL,
        status                  TEXT NOT NULL CHECK (status IN ('waiting', 'claimed', 'closed')),
        reason                  TEXT NOT NULL,
        question                TEXT NOT NULL DEFAULT '',
        lang                    TEXT,
        created_at              REAL NOT NULL,
        queued_at               REAL NOT NULL,
        claimed_at              REAL,
        first_response_at       REAL,
        closed_at               REAL,
        agent_id                INTEGER,
        agent_name              TEXT,
        thread_id               INTEGER,
        card_message_id         INTEGER,
        close_reason            TEXT,
        csat                    INTEGER CHECK (csat BETWEEN 1 AND 5),
        msgs_from_user          INTEGER NOT NULL DEFAULT 0,
        msgs_from_agent         INTEGER NOT NULL DEFAULT 0,
        reopened                INTEGER NOT NULL DEFAULT 0,
        conversation_started_at REAL,
        version                 INTEGER NOT NULL DEFAULT 0
    );
    CREATE UNIQUE INDEX tickets_one_open ON tickets(user_id)
        WHERE status IN ('waiting', 'claimed');
    CREATE INDEX tickets_queue ON tickets(status, queued_at, id);
    CREATE INDEX tickets_user ON tickets(user_id, id);
    CREATE INDEX tickets_thread ON tickets(thread_id);
    CREATE INDEX tickets_card ON tickets(card_message_id);
    CREATE INDEX tickets_created ON tickets(created_at);
    CREATE INDEX tickets_first_response ON tickets(first_response_at);
    CREATE INDEX tickets_agent ON tickets(agent_id, status);
    CREATE TABLE ticket_messages (
        id                   INTEGER PRIMARY KEY,
        ticket_id            INTEGER NOT NULL REFERENCES tickets(id),
        direction            TEXT NOT NULL CHECK (direction IN ('in', 'out', 'note')),
        user_chat_message_id INTEGER,
        group_message_id     INTEGER,
        thread_id            INTEGER,
        kind                 TEXT NOT NULL DEFAULT 'text',
        ts                   REAL NOT NULL
    );
    CREATE INDEX ticket_messages_ticket ON ticket_messages(ticket_id, id);
    CREATE INDEX ticket_messages_group ON ticket_messages(group_message_id);
    CREATE INDEX ticket_messages_user ON ticket_messages(user_chat_message_id);
    CREATE TABLE bans (
        user_id    INTEGER PRIMARY KEY,
        banned_by  INTEGER,
        reason     TEXT NOT NULL DEFAULT '',
        ts         REAL NOT NULL
    );
    CREATE TABLE events (
        id         INTEGER PRIMARY KEY,
        ticket_id  INTEGER,
        name       TEXT NOT NULL,
        ts         REAL NOT NULL,
        agent_id   INTEGER,
        detail     TEXT
    );
    CREATE INDEX events_ticket ON events(ticket_id, id);
    CREATE INDEX events_ts ON events(ts);
    INSERT INTO tickets (id, user_id, status, reason, question, lang, created_at, queued_at,
                         closed_at, close_reason)
    SELECT h.id, h.user_id,
           CASE WHEN keep THEN 'waiting' ELSE 'closed' END,
           h.reason, h.question, s.lang, h.created_at, h.created_at,
           CASE WHEN keep THEN NULL ELSE h.created_at END,
           CASE WHEN keep THEN NULL ELSE 'migrated' END
    FROM (
        SELECT handoffs.*,
               status = 'waiting' AND id = (
                   SELECT MAX(w.id) FROM handoffs w
                   WHERE w.user_id = handoffs.user_id AND w.status = 'waiting'
               ) AS keep
        FROM handoffs
    ) h
    LEFT JOIN subscribers s ON s.user_id = h.user_id;
    INSERT INTO events (ticket_id, name, ts) SELECT id, 'opened', created_at FROM tickets;
    INSERT INTO events (ticket_id, name, ts, detail)
        SELECT id, 'closed', closed_at, close_reason FROM tickets WHERE status = 'closed';
    DROP TABLE handoffs;
    """,
    # v3, admins and reports: outage reports from subscribers, and 👎 kept with the question
    """
    CREATE TABLE outages (
        id          INTEGER PRIMARY KEY,
        user_id     INTEGER NOT NULL,
        district    TEXT,
        latitude    REAL,
        longitude   REAL,
        description TEXT NOT NULL DEFAULT '',
        ts          REAL NOT NULL,
        notified    INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX outages_ts ON outages(ts);
    CREATE INDEX outages_district ON outages(district, ts);
    ALTER TABLE feedback ADD COLUMN question TEXT NOT NULL DEFAULT '';
    """,
    # v4, decisions say what they are: the column is the decision's kind, and the intent gets
    # its own (small talk was stored as a "none" with its intent in the topic column, a
    # hand-off with its intent there too, a hand-off after misses as the intent "bot_failed"),
    # and a 👍/👎 belongs to one answer message: pressing again replaces the vote.
    """
    ALTER TABLE interactions ADD COLUMN intent TEXT;
    UPDATE interactions SET decision = 'smalltalk', intent = topic, topic = NULL
        WHERE decision = 'none' AND topic IS NOT NULL;
    UPDATE interactions SET decision = 'none', intent = NULL, topic = NULL
        WHERE decision = 'handoff' AND topic = 'bot_failed';
    UPDATE interactions SET intent = topic, topic = NULL
        WHERE decision = 'handoff' AND topic IS NOT NULL;
    ALTER TABLE feedback ADD COLUMN message_id INTEGER;
    CREATE UNIQUE INDEX feedback_one_per_answer ON feedback(user_id, message_id)
        WHERE message_id IS NOT NULL;
    ALTER TABLE interactions RENAME COLUMN decision TO kind;
    """,
    # v5, a hand-off is a resumable sequence (ticket, topic, card, the subscriber told), each
    # step recorded so handling the update again finishes it instead of repeating it: the
    # subscriber's message that asked (never relayed as well), the topic asked of Telegram
    # (before its answer), when the subscriber was told, and when they were told the
    # operators can't be reached. Tickets from before were shown and told already.
    """
    ALTER TABLE tickets ADD COLUMN origin_message_id INTEGER;
    ALTER TABLE tickets ADD COLUMN topic_requested_at REAL;
    ALTER TABLE tickets ADD COLUMN told_at REAL;
    ALTER TABLE tickets ADD COLUMN unavailable_told_at REAL;
    UPDATE tickets SET told_at = created_at;
    """,
    # v6, the desk assigns and a lead sees more: who is on shift (and whom round-robin gave
    # a ticket last; shift changes are also events, for tickets per hour on shift), a
    # ticket's priority and labels, the one SLA nudge sent for it, the one low-rating alert,
    # and which "did you mean" choice a subscriber pressed (click-through).
    """
    CREATE TABLE agents (
        agent_id         INTEGER PRIMARY KEY,
        name             TEXT NOT NULL DEFAULT '',
        on_shift         INTEGER NOT NULL DEFAULT 0,
        changed_at       REAL NOT NULL,
        last_assigned_at REAL
    );
    CREATE INDEX agents_on_shift ON agents(on_shift, last_assigned_at);
    ALTER TABLE tickets ADD COLUMN priority TEXT NOT NULL DEFAULT 'normal';
    ALTER TABLE tickets ADD COLUMN nudged_at REAL;
    ALTER TABLE tickets ADD COLUMN low_rating_alerted_at REAL;
    CREATE TABLE ticket_labels (
        ticket_id INTEGER NOT NULL REFERENCES tickets(id),
        label     TEXT NOT NULL,
        ts        REAL NOT NULL,
        PRIMARY KEY (ticket_id, label)
    );
    CREATE INDEX ticket_labels_label ON ticket_labels(label);
    ALTER TABLE interactions ADD COLUMN chosen TEXT;
    ALTER TABLE interactions ADD COLUMN chosen_at REAL;
    """,
    # v7, a question is logged once however often its update is handled: handling it again (a
    # write that failed after the log, a crash, another instance taking over) finds the row of
    # the update it was logged for instead of logging the question a second time
    """
    ALTER TABLE interactions ADD COLUMN update_id INTEGER;
    CREATE INDEX interactions_update ON interactions(update_id);
    """,
    # v8, several operators' groups (``agents.groups``): the desk a ticket is on, by its
    # name; NULL or "" the default desk (the one ``agents.group_id``, or the first group)
    """
    ALTER TABLE tickets ADD COLUMN desk TEXT;
    """,
    # v9, agents' workspaces (issue 13): a ticket's topic in its agent's private chat with
    # the bot (Bot API 9.4), where its relay goes; at most one per ticket
    """
    CREATE TABLE ticket_workspaces (
        ticket_id INTEGER PRIMARY KEY REFERENCES tickets(id),
        chat_id   INTEGER NOT NULL,
        thread_id INTEGER NOT NULL,
        agent_id  INTEGER NOT NULL,
        opened_at REAL NOT NULL
    );
    CREATE INDEX ticket_workspaces_topic ON ticket_workspaces(chat_id, thread_id);
    """,
    # v10, a relayed message's agents' side may be an agent's workspace (a private chat, whose
    # message ids mean nothing in the group): the chat it is in; NULL the ticket's group. An
    # agent's answer or note written before, in the ticket's current workspace topic, is that
    # workspace's (those in an earlier workspace of the ticket can't be told apart)
    """
    ALTER TABLE ticket_messages ADD COLUMN agent_chat_id INTEGER;
    UPDATE ticket_messages SET agent_chat_id = (
        SELECT w.chat_id FROM ticket_workspaces w
        WHERE w.ticket_id = ticket_messages.ticket_id AND w.thread_id = ticket_messages.thread_id
    )
    WHERE direction IN ('out', 'note') AND EXISTS (
        SELECT 1 FROM ticket_workspaces w
        WHERE w.ticket_id = ticket_messages.ticket_id AND w.thread_id = ticket_messages.thread_id
          AND ticket_messages.ts >= w.opened_at
    );
    """,
    # v11, the daily digest's day claimed before it is posted and marked posted after: once
    # per day across instances, leader changes and restarts (``handoff.storage.digests``)
    """
    CREATE TABLE digests (
        day        TEXT PRIMARY KEY,
        owner      TEXT NOT NULL,
        claimed_at REAL NOT NULL,
        posted_at  REAL
    );
    """,
]
