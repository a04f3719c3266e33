"""Every decision of the matcher on the question sets, one line per message: the reference a
speed change is diffed against (it must not change a single one).

    .venv/bin/python bench/decisions.py [--explain] [--generated N] [--out F] [SETS...]

A line is the set and case number, the decision's kind, topic, intent, choices, second ask,
runner-up, language, reading and score (4 decimals). ``--explain`` adds the explanation with
every word's weight and near keys (``detail=True``), a stricter check: the ranking of the
other candidates and each word's lookup must stay the same too. ``--generated N`` adds the
questions of ``matcher_bench.py``'s N-topic benchmark on its generated KB (same seeds).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.matcher_bench import generate_kb, perturb  # noqa: E402
from knowledge.evaluate import load_cases  # noqa: E402
from knowledge.loader import load  # noqa: E402
from knowledge.matcher import Decision, Matcher  # noqa: E402


def line(where: str, d: Decision) -> str:
    """One decision as a line of text: what the bot would do, and the score it rests on."""
    runner = f"{d.runner_up.id}:{d.runner_up.score:.4f}" if d.runner_up else "-"
    also = f"{d.also.id}:{d.also.score:.4f}" if d.also else "-"
    choices = ",".join(f"{c.id}:{c.score:.4f}" for c in d.candidates) or "-"
    return (
        f"{where}\t{d.kind}\ttopic={d.topic}\tintent={d.intent}\tchoices={choices}"
        f"\talso={also}\trunner_up={runner}\tlang={d.lang}\tvariant={d.variant}"
        f"\tscore={d.score:.4f}"
    )


def generated(n_topics: int, explain: bool, n_queries: int = 500, seed: int = 7) -> list[str]:
    """The decisions on ``matcher_bench.py``'s questions of its ``n_topics`` benchmark."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        triggers = generate_kb(n_topics, Path(tmp) / "kb")
        matcher = Matcher(load(Path(tmp) / "kb"))
    queries = [rng.choice(triggers) for _ in range(n_queries)]  # as bench_size draws them
    out = []
    for n, (_, _, phrase) in enumerate(queries, 1):
        d = matcher.match(perturb(phrase, rng), detail=explain)
        out.append(line(f"generated_{n_topics}:{n}", d))
        if explain:
            out.extend(f"    {e}" for e in d.explanation)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = sorted((ROOT / "tests" / "data").glob("eval_*.yaml"))
    parser.add_argument("sets", nargs="*", default=[str(p) for p in default])
    parser.add_argument("--explain", action="store_true", help="add every explanation line")
    parser.add_argument("--generated", type=int, nargs="*", default=[], metavar="N")
    parser.add_argument("--out", help="write here instead of stdout")
    args = parser.parse_args()
    matcher = Matcher(load(ROOT / "kb"))
    out: list[str] = []
    for path in args.sets:
        name = Path(path).stem
        for n, case in enumerate(load_cases(path), 1):
            # as the bot and `dono eval` ask: with the case's language when it has one
            d = matcher.match(case["q"], case.get("lang"), detail=args.explain)
            out.append(line(f"{name}:{n}", d))
            if args.explain:
                out.extend(f"    {e}" for e in d.explanation)
    for n_topics in args.generated:
        out.extend(generated(n_topics, args.explain))
    text = "\n".join(out) + "\n"
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
