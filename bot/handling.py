"""What the update being handled may give back while it waits: its handling slot (a paced
call waiting for a chat's budget holds nothing others need) and its private chat's order (a
relay queued in order, or a workflow left with only the group's view to show, lets the chat's
next update start). ``bot.claims`` sets both for each update it handles; elsewhere (tests, a
plain dispatcher) they do nothing."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

_slot: ContextVar[Callable[[], None] | None] = ContextVar("dono_give_slot", default=None)
_order: ContextVar[Callable[[], None] | None] = ContextVar("dono_chat_goes_on", default=None)


def give_back_slot() -> None:
    """This update waits (for a chat's budget): its handling slot is free for others."""
    give = _slot.get()
    if give is not None:
        give()


def let_chat_go_on() -> None:
    """This update's place among its chat's messages is kept (queued for the relay): the
    chat's next update may start. Its own slot is given back too: it only waits now."""
    _next_may_start()
    give_back_slot()


def group_view_follows() -> None:
    """What is left of this update's handling is the operators' group's view of it (a card,
    a notice, a topic closed), which the group's 20 messages a minute may keep waiting: the
    chat's next update need not wait for it (an agent's next answer in their workspace)."""
    _next_may_start()


def _next_may_start() -> None:
    go_on = _order.get()
    if go_on is not None:
        go_on()


def handling(give_slot: Callable[[], None], go_on: Callable[[], None]) -> tuple[object, object]:
    """Set the hooks for the update handled in this context; tokens for ``done``."""
    return _slot.set(give_slot), _order.set(go_on)


def done(tokens: tuple[object, object]) -> None:
    slot, order = tokens
    _slot.reset(slot)  # type: ignore[arg-type]
    _order.reset(order)  # type: ignore[arg-type]
