"""Shared by the knowledge tests: the matcher over the sample KB (built once per run) and the
short form of a decision the chat tests compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.loader import load
from knowledge.matcher import Decision, Matcher

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="session")
def matcher() -> Matcher:
    return Matcher(load(ROOT / "kb"))


def what(d: Decision) -> tuple[str, str | None]:
    """A decision as (kind, its topic or intent)."""
    return d.kind, d.topic or d.intent
