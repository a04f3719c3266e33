"""Every desk rule's "no" has a text of its own in every language, filled without errors."""

from __future__ import annotations

import inspect

import pytest

from bot.desk import cards
from bot.texts import catalog
from handoff import tickets
from knowledge.lang import LANGS

ERRORS = [
    cls
    for _, cls in inspect.getmembers(tickets, inspect.isclass)
    if issubclass(cls, tickets.DeskError) and cls is not tickets.DeskError
]
SAMPLE_ARGS = {"ticket_id": 7, "agent_id": 1, "agent_name": "Dilnoza <b>", "user_id": 42}


def sample(cls: type[tickets.DeskError]) -> tickets.DeskError:
    params = inspect.signature(cls.__init__).parameters
    args = {name: SAMPLE_ARGS.get(name, 60) for name in list(params)[1:]}
    return cls(**args)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_desk_error_has_its_own_text(cls: type[tickets.DeskError], lang: str) -> None:
    exc = sample(cls)
    key = cards.ERROR_TEXTS.get(exc.code)
    assert key is not None and key != "error" and key in catalog(lang), exc.code
    text = cards.error_text(lang, exc, for_html=True)  # a KeyError here was the old bug
    assert str(exc) not in text  # not the raw English of the exception
    if "ticket_id" in exc.params:
        assert "#7" in text
    if "agent" in exc.params:
        assert "Dilnoza &lt;b&gt;" in text
    assert "<b>" not in cards.error_text(lang, exc, for_html=False).replace("Dilnoza <b>", "")


def test_unknown_command_lists_every_desk_command() -> None:
    text = cards.unknown_command_text("en", "clsoe")
    assert "/clsoe" in text
    assert all(f"/{c}" in text for c in cards.DESK_COMMANDS)
