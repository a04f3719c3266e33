"""Runs a question set against the matcher and reports accuracy, confusions and clarify hits."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from knowledge.loader import KnowledgeBase
from knowledge.matcher import Decision, Matcher


class EvalFileError(ValueError):
    """The question set file is not a list of {q, expect} cases."""


@dataclass(frozen=True, slots=True)
class CaseResult:
    q: str
    expect: str
    style: str
    decision: str
    topic: str | None
    intent: str | None
    candidates: list[str]
    score: float
    lang: str | None
    correct: bool


def load_cases(path: str | Path) -> list[dict[str, Any]]:
    """Cases from a YAML list of mappings with ``q`` and ``expect`` (other keys kept as is);
    each case also gets ``line``, where it starts in the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.safe_load(text)
        lines = [node.start_mark.line + 1 for node in getattr(yaml.compose(text), "value", [])]
    except (OSError, yaml.YAMLError) as exc:
        raise EvalFileError(f"{path}: cannot read the question set: {exc}") from exc
    if not isinstance(data, list):
        raise EvalFileError(f"{path}: expected a YAML list of {{q, expect}} cases")
    cases = []
    for i, item in enumerate(data, 1):
        line = lines[i - 1] if i - 1 < len(lines) else i
        if not isinstance(item, dict) or "q" not in item or "expect" not in item:
            raise EvalFileError(f"{path}:{line}: case {i} needs both 'q' and 'expect'")
        cases.append({**item, "q": str(item["q"]), "expect": str(item["expect"]), "line": line})
    return cases


def check_expectations(cases: list[dict[str, Any]], kb: KnowledgeBase, path: str = "") -> None:
    """Every ``expect`` names what the bot can do: a topic id, ``operator``, ``none`` or a
    small-talk intent of this KB. A misspelt one is the set's mistake, not a wrong answer."""
    talk = {iid for iid, intent in kb.intents.items() if intent.action == "smalltalk"}
    valid = set(kb.topics) | talk | {"operator", "none"}
    bad = [c for c in cases if c["expect"] not in valid]
    if bad:
        where = f"{path}:" if path else "line "
        raise EvalFileError(
            "\n".join(
                f"{where}{c['line']}: expect {c['expect']!r} is not a topic id, 'operator', "
                f"'none' or a small-talk intent ({', '.join(sorted(talk))})"
                for c in bad
            )
        )


def is_correct(decision: Decision, expect: str) -> bool:
    """answer with the expected topic, handoff for ``operator``, no topic for ``none`` (a miss
    or a small-talk reply), that small-talk reply for a small-talk intent (``greeting``...)."""
    if expect == "operator":
        return decision.kind == "handoff"
    if expect == "none":
        return decision.kind in ("none", "smalltalk")
    if decision.kind == "smalltalk":
        return decision.intent == expect
    return decision.kind == "answer" and decision.topic == expect


def evaluate(matcher: Matcher, cases: list[dict[str, Any]], path: str = "") -> list[CaseResult]:
    """Each case through the matcher, as the bot would decide it. Raises EvalFileError when a
    case expects something the KB cannot do."""
    check_expectations(cases, matcher.kb, path)
    results = []
    for case in cases:
        d = matcher.match(case["q"], case.get("lang"))
        results.append(
            CaseResult(
                q=case["q"],
                expect=case["expect"],
                style=str(case.get("style", "")),
                decision=d.kind,
                topic=d.topic,
                intent=d.intent,
                candidates=d.candidate_ids if d.kind == "clarify" else [],
                score=round(d.score, 4),
                lang=d.lang,
                correct=is_correct(d, case["expect"]),
            )
        )
    return results


def _ratio(n: int, total: int) -> float:
    return round(n / total, 4) if total else 0.0


def summarize(results: list[CaseResult]) -> dict[str, Any]:
    total = len(results)
    correct = sum(r.correct for r in results)
    by_style: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        by_style[r.style or "-"].append(r)
    clarify = [r for r in results if r.decision == "clarify"]
    confusions = Counter(
        (r.expect, r.topic or r.intent or r.decision) for r in results if not r.correct
    ).most_common()
    return {
        "total": total,
        "correct": correct,
        "accuracy": _ratio(correct, total),
        "decisions": dict(Counter(r.decision for r in results)),
        "by_style": {
            style: {
                "total": len(rs),
                "correct": sum(r.correct for r in rs),
                "accuracy": _ratio(sum(r.correct for r in rs), len(rs)),
            }
            for style, rs in sorted(by_style.items())
        },
        "none_answered": sum(
            1 for r in results if r.expect == "none" and r.decision in ("answer", "handoff")
        ),
        "wrong_answers": sum(1 for r in results if r.decision == "answer" and not r.correct),
        "clarify": len(clarify),
        "clarify_with_expected": sum(1 for r in clarify if r.expect in r.candidates),
        "confusions": [{"expect": exp, "got": got, "count": n} for (exp, got), n in confusions],
    }


def report_json(results: list[CaseResult]) -> dict[str, Any]:
    return {"summary": summarize(results), "cases": [asdict(r) for r in results]}


def report_text(results: list[CaseResult]) -> str:
    s = summarize(results)
    lines = [
        f"accuracy: {s['accuracy']:.1%} ({s['correct']}/{s['total']})",
        "decisions: " + ", ".join(f"{k} {v}" for k, v in sorted(s["decisions"].items())),
        f"out-of-scope answered: {s['none_answered']}; wrong answers: {s['wrong_answers']}",
        f"clarify: {s['clarify']}, with the expected topic among the choices: "
        f"{s['clarify_with_expected']}",
        "",
        "by style:",
    ]
    for style, st in s["by_style"].items():
        lines.append(f"  {style:<12} {st['accuracy']:>7.1%}  ({st['correct']}/{st['total']})")
    misses = [r for r in results if not r.correct]
    if misses:
        lines += ["", "misses (expected → got):"]
        for r in misses:
            got = r.topic or r.intent or r.decision
            extra = f" {r.candidates}" if r.candidates else ""
            lines.append(
                f"  [{r.style}] {r.q!r}: {r.expect} → {r.decision} {got}{extra} ({r.score})"
            )
    return "\n".join(lines)
