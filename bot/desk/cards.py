"""What the desk shows: ticket cards and their buttons, the CSAT keyboard, the agents' notices
and the text of every desk refusal. Pure rendering: no sends, no store."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import CancelCb, CsatCb, TicketCb
from bot.texts import catalog, duration, t
from bot.tglimits import TOPIC_TITLE, cut_utf16
from handoff.labels import DEFAULT_PRIORITY, RAISED
from handoff.subscribers import Subscriber
from handoff.tickets import DeskError, QueueEntry, Ticket

# The commands an agent can give in a ticket's topic (what an unknown one is answered with).
DESK_COMMANDS: tuple[str, ...] = (
    "close",
    "reopen",
    "transfer",
    "takeover",
    "kb",
    "r",
    "ban",
    "unban",
    "queue",
    "whois",
    "stats",
    "shift",
    "my",
    "note",
    "priority",
    "label",
)

# Every desk rule's "no", by the error's code, as the agents read it.
ERROR_TEXTS: dict[str, str] = {
    "desk_error": "error",
    "not_found": "agent_ticket_not_found",
    "already_claimed": "agent_already_claimed",
    "not_claimed": "agent_not_claimed",
    "not_yours": "agent_not_yours",
    "closed": "agent_ticket_is_closed",
    "not_closed": "agent_not_closed",
    "reopen_expired": "agent_reopen_expired",
    "open_exists": "agent_open_exists",
    "banned": "agent_user_banned",
    "bad_score": "agent_bad_score",
    "busy": "agent_busy",
    "not_supervisor": "agent_not_supervisor",
    "takeover_own": "agent_takeover_own",
}


def error_text(lang: str, exc: DeskError, *, for_html: bool) -> str:
    """A desk rule's "no" in the agents' language; escaped for messages, plain for alerts."""
    escape = html.escape if for_html else str
    params = {
        "ticket": exc.params.get("ticket_id", "?"),
        "agent": escape(str(exc.params.get("agent", ""))),
        "user_id": exc.params.get("user_id", "?"),
    }
    return t(lang, ERROR_TEXTS.get(exc.code, "error"), **params)


QUOTED = 64  # UTF-16 units of an agent's own words quoted back in a reply


def quoted(text: str) -> str:
    """An agent's words (a query, an id, a label) as a reply quotes them: escaped and cut, so
    the reply stays within Telegram's limit however long they were."""
    return html.escape(cut_utf16(text, QUOTED, "…"))


def unknown_command_text(lang: str, command: str) -> str:
    listed = " ".join(f"/{c}" for c in DESK_COMMANDS)
    return t(lang, "agent_unknown_command", command=quoted(command), commands=listed)


def card_text(
    lang: str,
    ticket: Ticket,
    sub: Subscriber | None,
    recent: Sequence[dict],
    triage: Sequence[str] = (),
) -> str:
    """The card on top of a ticket's topic: who, in which language, why, its priority, labels
    and due times (``triage``, from ``triage_lines``), what the bot did."""
    status = {
        "waiting": t(lang, "agent_status_waiting"),
        "claimed": t(lang, "agent_status_claimed", agent=html.escape(ticket.agent_name or "")),
        "closed": t(lang, "agent_status_closed"),
    }[ticket.status]
    lines = [*triage] + ([t(lang, "agent_card_history")] if recent else [])
    for item in reversed(recent):
        answer = item.get("topic") or item.get("intent") or item.get("kind") or ""
        lines.append(f"• {html.escape(item['text'][:200])} → <i>{html.escape(answer)}</i>")
    return t(
        lang,
        "agent_card",
        ticket=ticket.id,
        status=status,
        name=html.escape(sub.first_name if sub else ""),
        username=f" @{html.escape(sub.username)}" if sub and sub.username else "",
        user_id=ticket.user_id,
        lang=ticket.lang or "?",
        reason=reason_text(lang, ticket.reason),
        history="\n".join(lines),
    ).strip()


def triage_lines(
    lang: str,
    ticket: Ticket,
    labels: Sequence[str],
    reply_due: str | None = None,
    resolve_due: str | None = None,
) -> list[str]:
    """The card's lines on priority (when not normal), labels as #tags, and the due times of
    the first reply (until there is one) and of the resolution (while open): static text, so
    the card is never edited to count down."""
    lines = []
    if ticket.priority != DEFAULT_PRIORITY:
        level = t(lang, f"priority_{ticket.priority}")
        lines.append(t(lang, "agent_card_priority", priority=level))
    if labels:
        lines.append("🏷 " + " ".join(f"#{html.escape(label)}" for label in labels))
    if not ticket.is_open:
        return lines
    if reply_due is not None and ticket.first_response_at is None:
        lines.append(t(lang, "agent_card_reply_due", due=reply_due))
    if resolve_due is not None:
        lines.append(t(lang, "agent_card_resolve_due", due=resolve_due))
    return lines


def card_keyboard(lang: str, ticket: Ticket) -> InlineKeyboardMarkup | None:
    buttons = []
    if ticket.status == "waiting":
        buttons.append(
            InlineKeyboardButton(
                text=t(lang, "agent_button_claim"),
                callback_data=TicketCb(action="claim", id=ticket.id).pack(),
            )
        )
    if ticket.status != "closed":
        buttons.append(
            InlineKeyboardButton(
                text=t(lang, "agent_button_close"),
                callback_data=TicketCb(action="close", id=ticket.id).pack(),
            )
        )
    return InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None


def csat_keyboard(ticket_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=f"{score} ⭐", callback_data=CsatCb(id=ticket_id, score=score).pack()
                )
                for score in range(1, 6)
            ]
        ]
    )


def cancel_keyboard(lang: str, ticket_id: int) -> InlineKeyboardMarkup:
    """Under the queue notice: the subscriber may take the request back."""
    button = InlineKeyboardButton(
        text=t(lang, "button_cancel_handoff"), callback_data=CancelCb(id=ticket_id).pack()
    )
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def topic_title(ticket: Ticket, sub: Subscriber | None, problem: str | None = None) -> str:
    """The topic's name, "#12 Dilnoza · tg · Роуминг": who, their language, what about."""
    name = sub.first_name if sub else str(ticket.user_id)
    title = f"#{ticket.id} {name} · {ticket.lang or '?'} · {problem or ''}".strip(" ·")
    return cut_utf16(" ".join(title.split()), TOPIC_TITLE, "…")  # Telegram counts UTF-16


def problem_of(
    ticket: Ticket, recent: Sequence[dict], title_of: Callable[[dict], str | None]
) -> str | None:
    """What a ticket is about, for its topic's title: the KB topic of the subscriber's last
    answered or clarified question (``title_of``, newest first), else their last real
    question — not the hand-off phrase, small talk or a command — else nothing."""
    for item in recent:
        if item.get("kind") in ("answer", "clarify"):
            title = title_of(item)
            if title:
                return title
    if ticket.reason == "bot_failed" and ticket.question.strip():
        return ticket.question  # the miss that handed it off is the newest question
    for item in recent:
        text = (item.get("text") or "").strip()
        if item.get("kind") in ("none", "clarify") and text and not text.startswith("/"):
            return text
    return None


def closed_notice(lang: str, ticket: Ticket, agent_name: str | None) -> str:
    """What the topic is told when a ticket closes, by why it closed."""
    if ticket.close_reason == "blocked":
        return t(lang, "agent_user_blocked", ticket=ticket.id)
    if ticket.close_reason == "user":
        return t(lang, "agent_user_cancelled", ticket=ticket.id)
    if ticket.close_reason == "banned":
        return t(
            lang,
            "agent_banned_notice",
            ticket=ticket.id,
            user_id=ticket.user_id,
            agent=html.escape(agent_name or ""),
        )
    return t(lang, "agent_closed_notice", ticket=ticket.id, agent=html.escape(agent_name or ""))


def reason_text(lang: str, reason: str) -> str:
    """Why the ticket was opened, in words ("asked" → "попросил оператора")."""
    key = f"reason_{reason}"
    return t(lang, key) if key in catalog(lang) else html.escape(reason)


def queue_text(lang: str, queue: Sequence[QueueEntry], names: dict[int, str]) -> str:
    """/queue: waiting tickets in the order they are served — urgent and high first, then the
    longest waiting (at most 30 lines) — with wait times."""
    if not queue:
        return t(lang, "agent_queue_empty")
    lines = [t(lang, "agent_queue", count=len(queue))]
    for entry in queue[:30]:
        lines.append(
            t(
                lang,
                "agent_queue_line",
                ticket=entry.ticket.id,
                name=html.escape(names.get(entry.ticket.id, str(entry.ticket.user_id)))
                + (f" · {t(lang, f'priority_{entry.ticket.priority}')}" if raised(entry) else ""),
                lang=entry.ticket.lang or "?",
                wait=duration(lang, entry.wait),
            )
        )
    return "\n".join(lines)


def raised(entry: QueueEntry) -> bool:
    return entry.ticket.priority in RAISED
