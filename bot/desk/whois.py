"""/whois: who the subscriber is, what they asked lately, their previous tickets (subject,
outcome, rating) and their outage reports — one message, everything they wrote escaped."""

from __future__ import annotations

import html
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.texts import catalog, t
from bot.tglimits import cut_utf16
from handoff.subscribers import SubscriberSummary
from handoff.tickets import Ticket
from knowledge import search

if TYPE_CHECKING:
    from bot.desk.service import Desk

TICKETS = 5
OUTAGES = 3
SUBJECT_CHARS = 60  # UTF-16 units of a question shown as a ticket's subject
DESCRIPTION_CHARS = 80
QUESTION_CHARS = 200
DISTRICT_CHARS = 40


async def whois_text(desk: Desk, ticket: Ticket) -> str:
    """The /whois message for the subscriber of ``ticket`` (the desk's language and zone)."""
    store, lang = desk.store, desk.lang
    info = await store.subscriber_summary(ticket.user_id)
    parts = [_profile(lang, ticket, info)]
    past = await store.reports.past_tickets(ticket.user_id, but=ticket.id, limit=TICKETS)
    zone = ZoneInfo(desk.hours.timezone)
    if past:
        lines = [_ticket_line(desk, row, zone) for row in past]
        parts.append("\n".join([t(lang, "whois_tickets"), *lines]))
    outages = await store.reports.outage_reports_of(ticket.user_id, limit=OUTAGES)
    if outages:
        lines = [_outage_line(lang, row, zone) for row in outages]
        parts.append("\n".join([t(lang, "whois_outages"), *lines]))
    return "\n\n".join(parts)


def _profile(lang: str, ticket: Ticket, info: SubscriberSummary) -> str:
    sub = info.subscriber
    questions = "\n".join(
        f"• {html.escape(cut_utf16(q, QUESTION_CHARS, '…'))}" for q in info.recent_questions
    )
    return t(
        lang,
        "agent_whois",
        name=html.escape(sub.first_name if sub else ""),
        username=f" @{html.escape(sub.username)}" if sub and sub.username else "",
        user_id=ticket.user_id,
        lang=info.lang or "?",
        tickets=info.tickets,
        questions=questions or "—",
    )


def _date(ts: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(ts, zone).strftime("%d.%m.%Y")


def _ticket_line(desk: Desk, row: dict[str, Any], zone: ZoneInfo) -> str:
    lang = desk.lang
    csat = row["csat"]
    return t(
        lang,
        "whois_ticket_line",
        ticket=row["id"],
        subject=html.escape(subject(desk, row)),
        outcome=outcome(lang, row),
        stars=f" · {'★' * csat}{'☆' * (5 - csat)}" if csat else "",
        date=_date(row["created_at"], zone),
    )


def subject(desk: Desk, row: dict[str, Any]) -> str:
    """What a ticket was about: the KB title of the topic its question was answered with (as
    the bot read it then, else as it reads it now), else the question itself, cut."""
    question = " ".join((row.get("question") or "").split())
    knowledge = desk.topics.knowledge
    if knowledge is not None:
        topic_id = row.get("topic")
        if topic_id is None and question:
            decision = knowledge.matcher.match(question, None)
            topic_id = decision.topic if decision.kind == "answer" else None
        topic = knowledge.kb.topics.get(topic_id or "")
        if topic is not None:
            return cut_utf16(search.topic_title(topic, desk.lang), SUBJECT_CHARS, "…")
    return cut_utf16(question, SUBJECT_CHARS, "…") or "—"


def outcome(lang: str, row: dict[str, Any]) -> str:
    """How a ticket ended (or where it is), as HTML."""
    if row["status"] != "closed":
        return t(lang, f"whois_outcome_{row['status']}")
    key = f"whois_outcome_{row['close_reason']}"
    if key not in catalog(lang):
        key = "whois_outcome_other"
    return t(lang, key, agent=html.escape(row.get("agent_name") or "—"))


def _outage_line(lang: str, row: dict[str, Any], zone: ZoneInfo) -> str:
    district = row["district"] or t(lang, "whois_somewhere")
    said = " ".join((row["description"] or "").split())
    return t(
        lang,
        "whois_outage_line",
        district=html.escape(cut_utf16(district, DISTRICT_CHARS, "…")),
        date=_date(row["ts"], zone),
        description=f" · {html.escape(cut_utf16(said, DESCRIPTION_CHARS, '…'))}" if said else "",
    )
