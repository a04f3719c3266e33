"""The operators' group reads Russian that fits any agent and numbers with their noun's form."""

from __future__ import annotations

import re

import pytest

from bot.texts import catalog, t

# a past-tense verb right after or before the agent's name carries a gender: "Boss забрал"
GENDERED = re.compile(r"\{agent\}\s+\w+(л|ла)\b|\b\w+(ал|ял|ил|ел|ёл)\s+\{agent\}")


def test_no_russian_text_gives_the_agent_a_gender() -> None:
    for key, text in catalog("ru").items():
        for form in text.values() if isinstance(text, dict) else [text]:
            assert not GENDERED.search(form), (key, form)


def test_a_take_over_names_who_has_the_ticket_now() -> None:
    text = t("ru", "agent_took_over", agent="Boss", ticket=1)
    assert text.startswith("Обращение #1 теперь у оператора Boss")


@pytest.mark.parametrize(
    ("count", "words"),
    [(1, "1 сообщение"), (3, "3 сообщения"), (5, "5 сообщений"), (21, "21 сообщение")],
)
def test_the_outage_alert_counts_reports_with_the_right_form(count: int, words: str) -> None:
    text = t("ru", "agent_outage_alert", count=count, district="Худжанд", minutes=30, lines="•")
    assert f"— {words} за 30 мин." in text


def test_the_outage_alert_in_english_and_tajik_counts_too() -> None:
    assert "1 report in" in t(
        "en", "agent_outage_alert", count=1, district="X", minutes=3, lines=""
    )
    assert "3 reports in" in t(
        "en", "agent_outage_alert", count=3, district="X", minutes=3, lines=""
    )
    assert "3 паём" in t("tg", "agent_outage_alert", count=3, district="X", minutes=3, lines="")
