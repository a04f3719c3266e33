"""Matcher benchmark: latency, load time and memory at 100 / 1,000 / 10,000 generated topics,
against a plain rapidfuzz ``extractOne(q, triggers, scorer=WRatio)`` baseline, and latency per
chat-style message on the sample KB (the public chat set). Each latency is measured in wall
time and in the process's CPU time (``cpu_*``), which other work on the machine moves less.

    .venv/bin/python bench/matcher_bench.py [--sizes 100 1000 10000] [--queries 500] [--json F]

Generated KBs reuse the sample KB's words (so the text looks like real questions) plus a
distinct made-up product word or two per topic, 10 triggers per language per topic. Queries are
triggers of random topics with a typo, a dropped word or words swapped. Accuracy of both
matchers is measured on the public question set with the sample KB.
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from knowledge.evaluate import evaluate, is_correct, load_cases, summarize  # noqa: E402
from knowledge.lang import LANGS  # noqa: E402
from knowledge.loader import load  # noqa: E402
from knowledge.matcher import Decision, Matcher  # noqa: E402
from knowledge.text import normalize  # noqa: E402

SYLLABLES = {
    "ru": "ка ро ми на ло се ти бу ра до ве ны ля ко жи су".split(),
    "tg": "қа ро ҳо на ло сӣ ти бу ғо до ва ҷӯ ла ко жи су".split(),
    "en": "ka ro mi na lo se ti bu ra do ve ny la ko zi su".split(),
}


def _words(kb_dir: Path) -> dict[str, list[str]]:
    kb = load(kb_dir)
    out: dict[str, list[str]] = {lang: [] for lang in LANGS}
    for topic in kb.topics.values():
        for lang in LANGS:
            for phrase in getattr(topic.triggers, lang):
                out[lang].extend(phrase.split())
    return out


def _number_word(n: int, syllables: list[str]) -> str:
    out = ""
    while True:
        n, d = divmod(n, len(syllables))
        out += syllables[d]
        if n == 0:
            return out


def generate_kb(n_topics: int, target: Path, seed: int = 1) -> list[tuple[str, str, str]]:
    """Write a KB of ``n_topics`` to ``target``; return (topic, lang, trigger) of every trigger."""
    rng = random.Random(seed)
    words = _words(ROOT / "kb")
    triggers_out: list[tuple[str, str, str]] = []
    topics = []
    for i in range(n_topics):
        tid = f"topic_{i:05d}"
        # a made-up product name per topic, unique by construction (its number in syllables)
        product = {
            lang: rng.choice(SYLLABLES[lang]) + _number_word(i, SYLLABLES[lang]) for lang in LANGS
        }
        triggers = {}
        for lang in LANGS:
            phrases = set()
            while len(phrases) < 10:
                k = rng.randint(2, 5)
                body = rng.sample(words[lang], k)
                body.insert(rng.randrange(len(body) + 1), product[lang])
                phrases.add(" ".join(body))
            triggers[lang] = sorted(phrases)
            triggers_out.extend((tid, lang, p) for p in triggers[lang])
        topics.append(
            {
                "id": tid,
                "category": "general",
                "triggers": triggers,
                "answer": {lang: f"Answer {i} ({lang})" for lang in LANGS},
            }
        )
    target.mkdir(parents=True, exist_ok=True)
    head = {"categories": [{"id": "general", "title": {"ru": "Общее", "tg": "Умумӣ", "en": "All"}}]}
    (target / "categories.yaml").write_text(yaml.safe_dump(head, allow_unicode=True))
    per_file = 500
    for start in range(0, len(topics), per_file):
        chunk = {"topics": topics[start : start + per_file]}
        (target / f"topics_{start:05d}.yaml").write_text(yaml.safe_dump(chunk, allow_unicode=True))
    return triggers_out


def perturb(text: str, rng: random.Random) -> str:
    words = text.split()
    roll = rng.random()
    if roll < 0.4 and words:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 3:
            j = rng.randrange(1, len(w) - 1)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]  # swap two letters
    elif roll < 0.7 and len(words) > 2:
        words.pop(rng.randrange(len(words)))
    elif len(words) > 1:
        rng.shuffle(words)
    return " ".join(words)


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_size(n: int, n_queries: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        triggers = generate_kb(n, Path(tmp) / "kb")
        gc.collect()
        t0 = time.perf_counter()
        kb = load(Path(tmp) / "kb")
        t_parse = time.perf_counter() - t0
        matcher = Matcher(kb)
        t_load = time.perf_counter() - t0
        # memory of the loaded KB + index, measured apart so tracing doesn't skew the times
        del kb, matcher
        gc.collect()
        tracemalloc.start()
        kb = load(Path(tmp) / "kb")
        matcher = Matcher(kb)
        current, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    queries = [rng.choice(triggers) for _ in range(n_queries)]
    lat, cpu, hits = [], [], 0
    for tid, _lang, phrase in queries:
        q = perturb(phrase, rng)
        t0, c0 = time.perf_counter(), time.process_time()
        d = matcher.match(q)
        cpu.append((time.process_time() - c0) * 1000)
        lat.append((time.perf_counter() - t0) * 1000)
        hits += d.kind == "answer" and d.topic == tid

    choices = [normalize(p) for _, _, p in triggers]
    base_lat, base_hits = [], 0
    for tid, _lang, phrase in queries[: max(50, n_queries // 5)]:
        q = normalize(perturb(phrase, rng))
        t0 = time.perf_counter()
        best = process.extractOne(q, choices, scorer=fuzz.WRatio)
        base_lat.append((time.perf_counter() - t0) * 1000)
        base_hits += best is not None and triggers[best[2]][0] == tid
    n_base = len(base_lat)
    return {
        "topics": n,
        "triggers": len(triggers),
        "load_s": round(t_load, 3),
        "parse_s": round(t_parse, 3),
        "kb_index_mb": round(current / 2**20, 1),
        "p50_ms": round(statistics.median(lat), 2),
        "p99_ms": round(pct(lat, 99), 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "cpu_p99_ms": round(pct(cpu, 99), 2),
        "cpu_mean_ms": round(statistics.fmean(cpu), 2),
        "top1_on_perturbed": round(hits / len(queries), 3),
        "baseline_p50_ms": round(statistics.median(base_lat), 2),
        "baseline_p99_ms": round(pct(base_lat, 99), 2),
        "baseline_top1_on_perturbed": round(base_hits / n_base, 3),
    }


def bench_size_alone(n: int, n_queries: int) -> dict:
    """``bench_size`` in a fresh process, with that process's peak RSS."""
    row = bench_size(n, n_queries)
    row["process_max_rss_mb"] = round(rss_mb(), 1)
    return row


def baseline_decision(q: str, choices: list[str], owners: list[str], cutoff: float) -> str:
    best = process.extractOne(normalize(q), choices, scorer=fuzz.WRatio)
    if best is None or best[1] < cutoff:
        return "none"
    return owners[best[2]]


def accuracy_on_dev(cases_file: Path) -> dict:
    kb = load(ROOT / "kb")
    matcher = Matcher(kb)
    cases = load_cases(cases_file)
    ours = summarize(evaluate(matcher, cases))
    choices, owners = [], []
    for entry in [*kb.topics.values(), *kb.intents.values()]:
        for lang in LANGS:
            for phrase in getattr(entry.triggers, lang):
                choices.append(normalize(phrase))
                owners.append(entry.id)
    actions = {i.id: i.action for i in kb.intents.values()}
    out = {"dono": ours["accuracy"], "dono_none_answered": ours["none_answered"]}
    for cutoff in (0, 70, 85):
        correct = 0
        for case in cases:
            got = baseline_decision(case["q"], choices, owners, cutoff)
            kind = "handoff" if actions.get(got) == "handoff" else "none"
            if got == "none" or actions.get(got) == "smalltalk":
                d = Decision("none", None)
            elif kind == "handoff":
                d = Decision("handoff", None)
            else:
                d = Decision("answer", None, topic=got)
            correct += is_correct(d, case["expect"])
        out[f"baseline_wratio_cutoff_{cutoff}"] = round(correct / len(cases), 4)
    return out


def bench_chat(cases_file: Path, rounds: int = 5) -> dict:
    """Latency per chat-style message (long, mixed, translit...) on the sample KB."""
    matcher = Matcher(load(ROOT / "kb"))
    questions = [case["q"] for case in load_cases(cases_file)]
    for q in questions:  # first sight of each word fills the lookup cache: measured apart
        matcher.match(q)
    lat, cpu = [], []
    for _ in range(rounds):
        for q in questions:
            t0, c0 = time.perf_counter(), time.process_time()
            matcher.match(q)
            cpu.append((time.process_time() - c0) * 1000)
            lat.append((time.perf_counter() - t0) * 1000)
    cold = Matcher(load(ROOT / "kb"))
    cold_lat = []
    for q in questions:
        t0 = time.perf_counter()
        cold.match(q)
        cold_lat.append((time.perf_counter() - t0) * 1000)
    summary = summarize(evaluate(matcher, load_cases(cases_file)))
    return {
        "messages": len(questions),
        "p50_ms": round(statistics.median(lat), 2),
        "p99_ms": round(pct(lat, 99), 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
        "cpu_p99_ms": round(pct(cpu, 99), 2),
        "cpu_mean_ms": round(statistics.fmean(cpu), 2),
        "cold_p50_ms": round(statistics.median(cold_lat), 2),
        "cold_p99_ms": round(pct(cold_lat, 99), 2),
        "accuracy": summary["accuracy"],
        "none_answered": summary["none_answered"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--cases", default=str(ROOT / "tests" / "data" / "eval_public.yaml"))
    parser.add_argument("--chat", default=str(ROOT / "tests" / "data" / "eval_chat.yaml"))
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    results = {
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "accuracy": accuracy_on_dev(Path(args.cases)),
        "sizes": [],
    }
    print(json.dumps(results["accuracy"]))
    results["chat"] = bench_chat(Path(args.chat))
    print(json.dumps(results["chat"]), flush=True)
    # each size in a process of its own, as a bot holds one KB: a 10,000-topic run after the
    # smaller ones in one process measured their left-over heap too (p99 +20-60%)
    spawn = multiprocessing.get_context("spawn")
    for n in args.sizes:
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            row = pool.submit(bench_size_alone, n, args.queries).result()
        results["sizes"].append(row)
        print(json.dumps(row), flush=True)
    results["max_rss_mb"] = round(rss_mb(), 1)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        out = Path(args.json)
        kept = json.loads(out.read_text()) if out.exists() else {}
        kept.update(results)  # the file's other keys (earlier alternating runs) stay
        out.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
