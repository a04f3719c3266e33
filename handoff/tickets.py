"""The agent desk's ticket: its states, who may move it between them, and its timings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

Status = Literal["waiting", "claimed", "closed"]
Direction = Literal["in", "out", "note"]

OPEN_STATUSES: tuple[str, ...] = ("waiting", "claimed")
# Why a subscriber reached a human: free text asking for one, /operator, the button, or the
# bot gave up (repeated misses).
REASONS: frozenset[str] = frozenset({"asked", "command", "button", "bot_failed"})
# "agent": an agent closed it; "user": the subscriber did; "blocked": the subscriber blocked the
# bot; "banned": closed by a ban; "timeout": closed for inactivity; "migrated": a pre-desk
# hand-off closed when the database was upgraded.
CLOSE_REASONS: frozenset[str] = frozenset(
    {"agent", "user", "blocked", "banned", "timeout", "migrated"}
)
# Closes no agent made: they count for no agent in the reports.
SYSTEM_CLOSE_REASONS: frozenset[str] = frozenset({"user", "blocked", "timeout", "migrated"})
DIRECTIONS: frozenset[str] = frozenset({"in", "out", "note"})


# -- errors the bot turns into a localized text -------------------------------------------------


class DeskError(Exception):
    """A desk rule said no; ``code`` names the localized text, ``params`` fills it."""

    code: ClassVar[str] = "desk_error"

    def __init__(self, message: str = "", **params: Any) -> None:
        super().__init__(message or self.code)
        self.params: dict[str, Any] = params


class TicketNotFound(DeskError):
    code = "not_found"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"no ticket #{ticket_id}", ticket_id=ticket_id)
        self.ticket_id = ticket_id


class AlreadyClaimed(DeskError):
    """Someone (maybe the caller: compare ``agent_id``) already has the ticket."""

    code = "already_claimed"

    def __init__(self, agent_id: int | None, agent_name: str) -> None:
        super().__init__(f"already claimed by {agent_name}", agent=agent_name)
        self.agent_id = agent_id
        self.agent_name = agent_name


class NotClaimed(DeskError):
    code = "not_claimed"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket #{ticket_id} is not claimed", ticket_id=ticket_id)


class NotYourTicket(DeskError):
    code = "not_yours"

    def __init__(self, agent_id: int | None, agent_name: str) -> None:
        super().__init__(f"ticket belongs to {agent_name}", agent=agent_name)
        self.agent_id = agent_id
        self.agent_name = agent_name


class TicketClosed(DeskError):
    code = "closed"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket #{ticket_id} is closed", ticket_id=ticket_id)


class NotClosed(DeskError):
    code = "not_closed"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket #{ticket_id} is not closed", ticket_id=ticket_id)


class ReopenExpired(DeskError):
    code = "reopen_expired"

    def __init__(self, ticket_id: int, window: float) -> None:
        super().__init__(
            f"ticket #{ticket_id} was closed more than {window:g} s ago",
            ticket_id=ticket_id,
            window=window,
        )


class OpenTicketExists(DeskError):
    """The subscriber already has another open ticket, so this one can't be reopened."""

    code = "open_exists"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket #{ticket_id} is already open", ticket_id=ticket_id)
        self.ticket_id = ticket_id


class Banned(DeskError):
    code = "banned"

    def __init__(self, user_id: int) -> None:
        super().__init__(f"user {user_id} is banned", user_id=user_id)
        self.user_id = user_id


class InvalidScore(DeskError):
    code = "bad_score"

    def __init__(self, score: object) -> None:
        super().__init__(f"CSAT must be 1..5, got {score!r}", score=score)


class NotSupervisor(DeskError):
    """Taking over another agent's ticket is for supervisors (``agents.supervisors``)."""

    code = "not_supervisor"

    def __init__(self, agent_id: int | None, agent_name: str) -> None:
        super().__init__(f"only a supervisor can take over from {agent_name}", agent=agent_name)
        self.agent_id = agent_id


class TakeoverOwn(DeskError):
    code = "takeover_own"

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"ticket #{ticket_id} is already yours", ticket_id=ticket_id)


class Busy(DeskError):
    """The ticket kept changing under us; trying again later is the only answer."""

    code = "busy"

    def __init__(self, ticket_id: int | None) -> None:
        super().__init__(f"ticket #{ticket_id} is changing too fast", ticket_id=ticket_id)


# -- values -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ticket:
    """A subscriber's conversation with the human desk; timestamps are UTC epoch seconds."""

    id: int
    user_id: int
    status: Status
    reason: str
    question: str
    lang: str | None
    created_at: float
    claimed_at: float | None = None  # first claim; a release or reopen keeps it
    first_response_at: float | None = None  # first agent message relayed to the subscriber
    closed_at: float | None = None
    agent_id: int | None = None
    agent_name: str | None = None
    thread_id: int | None = None  # forum topic in the agents' group
    card_message_id: int | None = None  # the ticket's card (with the Claim button)
    close_reason: str | None = None
    csat: int | None = None
    msgs_from_user: int = 0
    msgs_from_agent: int = 0
    reopened: int = 0
    conversation_started_at: float | None = None  # first bot interaction of this conversation
    queued_at: float | None = None  # when it last joined the queue (created or reopened)
    # the hand-off's steps (``bot.desk`` completes the missing ones when the update comes again)
    origin_message_id: int | None = None  # the subscriber's message that asked for a human
    topic_requested_at: float | None = None  # createForumTopic asked (its answer may be lost)
    told_at: float | None = None  # the subscriber was told they are in the queue
    unavailable_told_at: float | None = None  # ... that the operators can't be reached now
    priority: str = "normal"  # handoff.labels.PRIORITIES; set by /priority
    desk: str | None = None  # the desk (agents.groups' name) it is on; None/"": the default

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def shown(self) -> bool:
        """The agents see it: its card (with the Claim button) is in the group."""
        return self.card_message_id is not None

    @property
    def time_to_handoff(self) -> float | None:
        """From the subscriber's first message to the bot until the hand-off."""
        return _span(self.conversation_started_at, self.created_at)

    @property
    def wait_until_claim(self) -> float | None:
        return _span(self.created_at, self.claimed_at)

    @property
    def first_response_time(self) -> float | None:
        return _span(self.created_at, self.first_response_at)

    @property
    def handling_time(self) -> float | None:
        """Claim → close."""
        return _span(self.claimed_at, self.closed_at)

    @property
    def resolution_time(self) -> float | None:
        """Hand-off → close (a reopened ticket counts until its last close)."""
        return _span(self.created_at, self.closed_at)

    def metrics(self) -> dict[str, Any]:
        """Every field and every duration, as one flat row for reports."""
        row = dataclasses.asdict(self)
        for name in (
            "time_to_handoff",
            "wait_until_claim",
            "first_response_time",
            "handling_time",
            "resolution_time",
        ):
            row[name] = getattr(self, name)
        return row


@dataclass(frozen=True, slots=True)
class TicketMessage:
    """One relayed message: its id in the subscriber's chat and its copy on the agents' side
    (``group_message_id``: in the ticket's group, or in ``agent_chat_id``, a workspace)."""

    id: int
    ticket_id: int
    direction: Direction
    user_chat_message_id: int | None
    group_message_id: int | None
    thread_id: int | None
    kind: str
    ts: float
    agent_chat_id: int | None = None  # the agent's workspace (private chat); None: the group


@dataclass(frozen=True, slots=True)
class Event:
    """A step in a ticket's life (opened, claimed, first_response, closed, csat ...)."""

    ticket_id: int | None
    name: str
    ts: float
    agent_id: int | None
    detail: str | None = None  # close reason, CSAT score, agent transferred to ...


@dataclass(frozen=True, slots=True)
class Ban:
    user_id: int
    banned_by: int | None
    reason: str
    ts: float


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A waiting ticket, its 1-based place in the queue and how long it has waited."""

    position: int
    ticket: Ticket
    wait: float


def _span(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


# -- rules --------------------------------------------------------------------------------------


def claim(ticket: Ticket, agent_id: int, agent_name: str, now: float) -> Ticket:
    """waiting → claimed by the agent."""
    if ticket.status == "closed":
        raise TicketClosed(ticket.id)
    if ticket.status == "claimed":
        raise AlreadyClaimed(ticket.agent_id, ticket.agent_name or "")
    return dataclasses.replace(
        ticket,
        status="claimed",
        agent_id=agent_id,
        agent_name=agent_name,
        claimed_at=ticket.claimed_at if ticket.claimed_at is not None else now,
    )


def release(ticket: Ticket, agent_id: int | None, *, force: bool = False) -> Ticket:
    """claimed → waiting, back in its old place in the queue; only its agent unless forced."""
    _check_owner(ticket, agent_id, force)
    return dataclasses.replace(ticket, status="waiting", agent_id=None, agent_name=None)


def transfer(
    ticket: Ticket,
    agent_id: int | None,
    to_agent_id: int,
    to_agent_name: str,
    *,
    force: bool = False,
) -> Ticket:
    """claimed by one agent → claimed by another; only its agent unless forced."""
    _check_owner(ticket, agent_id, force)
    if to_agent_id == ticket.agent_id:
        raise AlreadyClaimed(ticket.agent_id, ticket.agent_name or "")
    return dataclasses.replace(ticket, agent_id=to_agent_id, agent_name=to_agent_name)


def take_over(
    ticket: Ticket, agent_id: int, agent_name: str, now: float, *, supervisor: bool
) -> Ticket:
    """A supervisor takes any open ticket: a waiting one is claimed, another agent's moves to
    them. Anyone may "take over" a waiting ticket (that is a claim)."""
    if ticket.status == "closed":
        raise TicketClosed(ticket.id)
    if ticket.status == "waiting":
        return claim(ticket, agent_id, agent_name, now)
    if ticket.agent_id == agent_id:
        raise TakeoverOwn(ticket.id)
    if not supervisor:
        raise NotSupervisor(ticket.agent_id, ticket.agent_name or "")
    return dataclasses.replace(ticket, agent_id=agent_id, agent_name=agent_name)


def close(
    ticket: Ticket,
    now: float,
    reason: str = "agent",
    agent_id: int | None = None,
    agent_name: str | None = None,
    *,
    force: bool = False,
) -> Ticket:
    """waiting|claimed → closed.

    With an ``agent_id`` the closer must own a claimed ticket (or ``force``); system closes
    (the subscriber blocked the bot, a ban, a timeout) pass no agent.
    """
    if reason not in CLOSE_REASONS:
        raise ValueError(
            f"unknown close reason {reason!r}; expected one of {sorted(CLOSE_REASONS)}"
        )
    if ticket.status == "closed":
        raise TicketClosed(ticket.id)
    if (
        ticket.status == "claimed"
        and agent_id is not None
        and ticket.agent_id != agent_id
        and not force
    ):
        raise NotYourTicket(ticket.agent_id, ticket.agent_name or "")
    keep_agent = ticket.agent_id is not None
    return dataclasses.replace(
        ticket,
        status="closed",
        closed_at=now,
        close_reason=reason,
        # Whoever closes a never-claimed ticket handled it; a claimed one stays its agent's.
        agent_id=ticket.agent_id if keep_agent else agent_id,
        agent_name=ticket.agent_name if keep_agent else agent_name,
    )


def reopenable(ticket: Ticket, now: float, window: float) -> bool:
    """Whether the subscriber may bring this closed ticket back instead of opening a new one:
    not one closed by a ban, nor one they cancelled themselves (their next message is for the
    bot again)."""
    return (
        ticket.status == "closed"
        and ticket.closed_at is not None
        and ticket.close_reason not in ("banned", "user")
        and now - ticket.closed_at < window
    )


def reopen(ticket: Ticket, now: float, window: float = 0.0, *, by_agent: bool = False) -> Ticket:
    """closed → waiting: by the subscriber less than ``window`` seconds after the close, by an
    agent at any time. The ticket joins the end of the queue; first claim/response times stay."""
    if ticket.status != "closed":
        raise NotClosed(ticket.id)
    if not by_agent and not reopenable(ticket, now, window):
        raise ReopenExpired(ticket.id, window)
    return dataclasses.replace(
        ticket,
        status="waiting",
        closed_at=None,
        close_reason=None,
        agent_id=None,
        agent_name=None,
        reopened=ticket.reopened + 1,
        queued_at=now,
    )


def rate(ticket: Ticket, score: int) -> Ticket:
    """Store the subscriber's CSAT (1..5) for a closed ticket; a later rating replaces it."""
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise InvalidScore(score)
    if ticket.status != "closed":
        raise NotClosed(ticket.id)
    return dataclasses.replace(ticket, csat=score)


def _check_owner(ticket: Ticket, agent_id: int | None, force: bool) -> None:
    if ticket.status == "closed":
        raise TicketClosed(ticket.id)
    if ticket.status == "waiting":
        raise NotClaimed(ticket.id)
    if ticket.agent_id != agent_id and not force:
        raise NotYourTicket(ticket.agent_id, ticket.agent_name or "")
