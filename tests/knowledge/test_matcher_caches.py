"""What the matcher keeps between messages (each word option's look-up, a common key's
postings as a set) changes no decision: a message decided with everything already kept is
decided as by a fresh matcher, a bounded cache that was emptied decides alike, and a reloaded
KB is read with its own caches, never the old KB's."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from knowledge import weigh
from knowledge.evaluate import load_cases
from knowledge.loader import load
from knowledge.matcher import Decision, Matcher
from knowledge.service import KnowledgeService

DATA = Path(__file__).parent.parent / "data"
MINI = DATA / "kb_mini"


def _chat() -> list[str]:
    return [case["q"] for case in load_cases(DATA / "eval_chat.yaml")][::4]


def _full(d: Decision) -> tuple[Decision, tuple[str, ...]]:
    """The decision with its explanation, which the dataclass leaves out of equality."""
    return d, d.explanation


def test_a_warm_matcher_decides_as_a_fresh_one(matcher: Matcher) -> None:
    messages = _chat()
    for text in messages:
        matcher.match(text)  # everything these words need is kept now
    assert matcher.seen
    fresh = [_full(Matcher(matcher.kb).match(text, detail=True)) for text in messages[:20]]
    warm = [_full(matcher.match(text, detail=True)) for text in messages[:20]]
    assert warm == fresh


def test_a_full_cache_is_emptied_and_decides_alike(
    matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    messages = _chat()[:30]
    unbounded = [_full(matcher.match(text, detail=True)) for text in messages]
    small = Matcher(matcher.kb)
    monkeypatch.setattr(weigh, "OPTION_CACHE", 8)
    bounded = [_full(small.match(text, detail=True)) for text in messages]
    assert len(small.seen) <= 8
    assert bounded == unbounded


def test_a_reloaded_kb_is_read_with_its_own_caches(tmp_path: Path) -> None:
    shutil.copytree(MINI, tmp_path / "kb")
    service = KnowledgeService(tmp_path / "kb")
    assert service.reload()[0]
    question = "сколько денег на счету"
    assert service.matcher.match(question).topic == "balance_check"
    base = tmp_path / "kb" / "base.yaml"
    # the trigger moves to another topic: the words the old matcher kept must not decide
    text = base.read_text(encoding="utf-8")
    text = text.replace("[как проверить баланс, сколько денег на счету]", "[как проверить баланс]")
    text = text.replace(
        "[как пополнить баланс, положить деньги на телефон]",
        "[как пополнить баланс, положить деньги на телефон, сколько денег на счету]",
    )
    base.write_text(text, encoding="utf-8")
    old = service.matcher
    assert service.reload()[0]
    assert service.matcher is not old and not service.matcher.seen
    got = service.matcher.match(question, detail=True)
    assert got.topic == "top_up"
    assert _full(got) == _full(Matcher(load(tmp_path / "kb")).match(question, detail=True))


def test_common_keys_add_to_the_candidates_found_with_their_kept_sets(
    matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # few new candidates allowed: most keys only add to the ones found, through the sets
    from knowledge import matcher as matching

    monkeypatch.setattr(matching, "MAX_NEW_CANDIDATES", 5)
    messages = _chat()[:30]
    fresh = Matcher(matcher.kb)
    first = [_full(fresh.match(text, detail=True)) for text in messages]
    kept = {lang: dict(idx.posting_sets) for lang, idx in fresh.indexes.items()}
    assert any(kept.values())
    for lang, sets in kept.items():
        postings = fresh.indexes[lang].postings
        assert all(found == frozenset(postings[kid]) for kid, found in sets.items())
    assert [_full(fresh.match(text, detail=True)) for text in messages] == first


def test_triggers_scored_by_group_decide_as_each_scored_on_its_own(
    matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    # an entry's triggers that find the same keys share what those keys find (one frame's
    # list, as long as the groups, at most the candidates): every trigger alone decides alike
    from knowledge import matcher as matching

    messages = _chat()
    grouped = [_full(matcher.match(text, detail=True)) for text in messages]
    sizes: list[tuple[int, int]] = []
    groups = matching._groups

    def alone(candidates: list, by_kid_of: dict) -> tuple[list[int], int]:
        _, n = groups(candidates, by_kid_of)
        sizes.append((n, len(candidates)))
        return list(range(len(candidates))), len(candidates)

    monkeypatch.setattr(matching, "_groups", alone)
    assert [_full(Matcher(matcher.kb).match(text, detail=True)) for text in messages] == grouped
    assert all(n <= len_ <= matching.MAX_CANDIDATE_TRIGGERS for n, len_ in sizes)
    assert any(n < len_ for n, len_ in sizes)  # the groups do share
