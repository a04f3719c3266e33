"""The `dono` command: ask, check, eval, schema; unanswered, report, demo; run, playground."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import sys
import time
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.config import Config, ConfigError, load_config
from bot.report.page import render_html
from bot.report.tables import report_csv
from bot.texts import t
from handoff import reports
from handoff.insights import build_insights
from handoff.storage import Store
from handoff.storage.database import DatabaseUnavailable, is_postgres, redacted, sqlite_path
from knowledge.evaluate import (
    EvalFileError,
    evaluate,
    load_cases,
    report_json,
    report_text,
    summarize,
)
from knowledge.lang import LANGS
from knowledge.lint import ambiguous_triggers
from knowledge.loader import KnowledgeBaseError, check, check_file, load
from knowledge.matcher import Decision, Matcher, reply_language
from knowledge.schema import json_schema
from knowledge.search import topic_title
from knowledge.unanswered import cluster, spreadsheet_cell


def _matcher(config: Config, kb_path: str | None) -> Matcher:
    kb = load(Path(kb_path) if kb_path else config.knowledge.path)
    return Matcher(kb, config.knowledge.thresholds.to_thresholds())


def _decision_json(d: Decision) -> dict:
    return {
        "decision": d.kind,
        "topic": d.topic,
        "intent": d.intent,
        "lang": d.lang,
        "score": d.score,
        "candidates": [asdict(c) for c in d.candidates],
        "also": asdict(d.also) if d.also else None,
        "normalized": d.normalized,
        "variant": d.variant,
        "explanation": list(d.explanation),
    }


def _reply(matcher: Matcher, d: Decision, lang: str) -> tuple[str, list[str]]:
    """What the bot sends for a decision in ``lang``: the text and its buttons' labels, from
    the same keyboards the bot builds."""
    from bot import keyboards  # aiogram's types take seconds to import: only `ask` needs them

    kb = matcher.kb
    markup = None
    if d.kind == "answer" and d.topic in kb.topics:
        topic = kb.topics[d.topic]
        text, markup = getattr(topic.answer, lang), keyboards.answer(kb, topic, lang)
    elif d.kind == "clarify":
        text, markup = t(lang, "clarify"), keyboards.choices(kb, d.candidate_ids, lang)
    elif d.kind == "handoff":
        text = t(lang, "handoff_waiting", position=1)
    elif d.kind == "smalltalk" and d.intent in kb.intents and kb.intents[d.intent].answer:
        text = getattr(kb.intents[d.intent].answer, lang)
    else:
        text, markup = t(lang, "not_found"), keyboards.fallback(lang)
    labels = [b.text for row in markup.inline_keyboard for b in row] if markup else []
    also = d.also.id if d.kind == "answer" and d.also is not None else None
    if also in kb.topics and d.topic in kb.topics and also not in kb.topics[d.topic].related:
        labels.insert(0, "➡️ " + keyboards.topic_title(kb.topics[also], lang))
    return text, labels


def cmd_ask(args: argparse.Namespace, config: Config) -> int:
    matcher = _matcher(config, args.kb)
    chosen = args.lang or config.bot.default_language
    d = matcher.match(args.question, chosen, detail=args.explain)
    lang = reply_language(d, chosen)
    if args.json:
        print(json.dumps({**_decision_json(d), "reply_lang": lang}, ensure_ascii=False, indent=2))
        return 0
    what = d.topic or d.intent or ", ".join(d.candidate_ids) or "-"
    print(f"decision: {d.kind} {what}  score: {d.score:.3f}  reply in: {lang}")
    text, buttons = _reply(matcher, d, lang)
    print()
    print(text)
    if buttons:
        print("buttons: " + " | ".join(buttons))
    if args.explain:
        print("\nexplanation:")
        for line in explanation_lines(d):
            print(f"  {line}")
    return 0


_READING_NOTE = re.compile(r"^[a-z][a-z ]*: '.*' top=\d")


def explanation_lines(d: Decision) -> list[str]:
    """The readings tried, each on its line, then the details of the one the decision used,
    under its own name: a reading tried later is not taken for the one the words belong to."""
    notes = [line for line in d.explanation if _READING_NOTE.match(line)]
    rest = [line for line in d.explanation if not _READING_NOTE.match(line)]
    if not notes:
        return list(d.explanation)
    lines = ["readings tried:", *(f"  {n}" for n in notes)]
    used = next((n for n in notes if n.startswith(f"{d.variant}: ")), None)
    if d.variant and used is not None:
        lines.append(f"reading used: {d.variant}")
        lines += [f"  {line}" for line in rest]
    else:
        lines += rest
    return lines


def cmd_check(args: argparse.Namespace, config: Config) -> int:
    path = Path(args.path) if args.path else config.knowledge.path
    one_file = path.is_file()
    # a single file is checked as part of its folder, reporting only its own problems
    kb, problems = check_file(path) if one_file else check(path)
    if kb is not None and not args.quick:
        matcher = Matcher(kb, config.knowledge.thresholds.to_thresholds())
        found = ambiguous_triggers(kb, matcher)
        if one_file:
            found = [p for p in found if Path(p.file).resolve() == path.resolve()]
        problems = problems + found
    for p in problems:
        print(p, file=sys.stderr if p.severity == "error" else sys.stdout)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    if errors:
        print(f"{path}: {errors} error(s), {warnings} warning(s)", file=sys.stderr)
        return 1
    if kb is None:  # this file is fine; another file of its folder is not
        print(f"{path}: OK, {warnings} warning(s) (other files in {path.parent} have errors)")
        return 0
    scope = f" (checked with the other files in {path.parent})" if one_file else ""
    print(
        f"{path}: OK, {len(kb.topics)} topics, {len(kb.intents)} intents, "
        f"{len(kb.categories)} categories, {len(kb.replies)} replies, version {kb.version}, "
        f"{warnings} warning(s){scope}"
    )
    return 0


def cmd_eval(args: argparse.Namespace, config: Config) -> int:
    matcher = _matcher(config, args.kb)
    results = evaluate(matcher, load_cases(args.file), str(args.file))
    if args.json:
        print(json.dumps(report_json(results), ensure_ascii=False, indent=2))
    else:
        print(report_text(results))
    accuracy = summarize(results)["accuracy"]
    if args.min_accuracy is not None and accuracy < args.min_accuracy:
        print(f"accuracy {accuracy:.1%} is below {args.min_accuracy:.1%}", file=sys.stderr)
        return 1
    return 0


def parse_since(value: str, now: float | None = None, tz: str | None = None) -> float:
    """ "7d", "24h", "90m" ago, or an ISO date/time, as an epoch timestamp. With ``tz`` a
    count of days means whole local days, today included ("7d": from midnight six days ago,
    so a report covers seven days, none cut in two), and a date without a zone is local."""
    now = time.time() if now is None else now
    value = value.strip()
    units = {"d": 86400, "h": 3600, "m": 60}
    amount = value[:-1]
    # ASCII digits only ("²" is a digit to str.isdigit), and no further back than a century
    if amount.isascii() and amount.isdigit() and value[-1:] in units:
        seconds = int(amount) * units[value[-1]]
        if seconds > 36_500 * 86400:
            raise argparse.ArgumentTypeError(f"--since: {value!r} is more than 100 years ago")
        if value[-1] == "d" and tz is not None and seconds:
            zone = ZoneInfo(tz)
            first = datetime.fromtimestamp(now, zone).date() - timedelta(days=int(amount) - 1)
            return datetime.combine(first, dtime(0), zone).timestamp()
        return now - seconds
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--since: expected like 7d, 24h, 90m or 2026-11-01, got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(tz) if tz else UTC)
    return moment.timestamp()


async def _open_store(config: Config, db: str | None) -> Store:
    url = db or config.bot.database_url()
    if is_postgres(url):
        return await Store.open(url)
    path = Path(sqlite_path(url))
    if not path.exists():
        raise ConfigError(
            f"{path}: no database yet (bot.database in the config; the bot creates it when it "
            "runs). `dono demo` writes a generated week there; --db PATH reads another one"
        )
    return await Store.open(path)


def cmd_unanswered(args: argparse.Namespace, config: Config) -> int:
    async def collect() -> list[dict]:
        store = await _open_store(config, args.db)
        try:
            return await store.unanswered(
                parse_since(args.since, tz=config.agents.hours().timezone)
            )
        finally:
            await store.close()

    items = asyncio.run(collect())
    matcher = _matcher(config, args.kb)
    clusters = cluster(items, matcher)
    if args.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(
            ["count", "none", "clarify", "dislike", "question", "examples", "closest_topic"]
        )
        for c in clusters:
            writer.writerow(
                [
                    c.count,
                    c.kinds.get("none", 0),
                    c.kinds.get("clarify", 0),
                    c.kinds.get("dislike", 0),
                    spreadsheet_cell(c.representative),
                    spreadsheet_cell(" | ".join(c.examples)),
                    spreadsheet_cell(c.suggestion or ""),
                ]
            )
        return 0
    print(
        f"{len(items)} unanswered or disliked questions in {len(clusters)} groups"
        f" since {args.since}"
    )
    for c in clusters:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(c.kinds.items()))
        closest = f"  (closest topic: {c.suggestion})" if c.suggestion else ""
        print(f"\n{c.count:>4}  {c.representative}{closest}\n      {kinds}")
        for example in c.examples[1:]:
            print(f"      · {example}")
    return 0


def cmd_report(args: argparse.Namespace, config: Config) -> int:
    tz = args.tz or config.agents.hours().timezone

    async def make():
        store = await _open_store(config, args.db)
        try:
            since = parse_since(args.since, tz=tz)
            until = parse_since(args.until, tz=tz) if args.until else time.time()
            rows = await store.reports.report_rows(since, until)
            report = reports.aggregate(rows, since, until, tz)
            sla, hours = config.reports.targets(), config.agents.hours()
            found = await build_insights(store, since, until, tz, sla, hours, rows)
            return report, found
        finally:
            await store.close()

    report, found = asyncio.run(make())
    if args.csv:
        folder = Path(args.csv)
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in report_csv(report, found).items():
            (folder / f"{name}.csv").write_text(text, encoding="utf-8")
        print(f"CSV tables written to {folder}/")
    if args.json:
        data = {**reports.report_json(report), "insights": reports.plain(found)}
        text = json.dumps(data, ensure_ascii=False, indent=2)
        if args.out:
            Path(args.out).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
        return 0
    out = Path(args.out or "report.html")
    lang = args.lang or config.agents.language
    titles, group = _titles(config, lang), config.agents.group_id
    page = render_html(report, insights=found, lang=lang, titles=titles, group_id=group)
    out.write_text(page, encoding="utf-8")
    print(f"report written to {out}")
    return 0


def _titles(config: Config, lang: str) -> dict[str, str]:
    """Topic id → KB title, for the report; none when the KB does not load."""
    try:
        kb = load(config.knowledge.path)
    except KnowledgeBaseError:
        return {}
    return {i: topic_title(topic, lang) for i, topic in kb.topics.items()}


def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    from bot.demo import write_week

    path = Path(args.db) if args.db else Path(sqlite_path(config.bot.database_url()))
    if path.exists():
        print(
            f"{path} already exists; `dono demo` writes only a new database (--db PATH)",
            file=sys.stderr,
        )
        return 1
    matcher = _matcher(config, None)
    districts = [d.name for d in config.outages.districts]
    week = asyncio.run(
        write_week(path, matcher, districts, until=time.time(), days=args.days, seed=args.seed)
    )
    print(
        f"{path}: {week.conversations} conversations, {week.questions} questions, "
        f"{week.tickets} hand-offs, {week.outages} outage reports over {args.days} days"
    )
    db = f" --db {path}" if args.db else ""
    print(f"next: dono report --since {args.days}d{db}; dono unanswered{db}")
    return 0


def cmd_schema(args: argparse.Namespace, config: Config) -> int:
    text = json_schema()
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_run(args: argparse.Namespace, config: Config) -> int:
    from bot.app import run_bot  # aiogram is needed only to run the bot

    return run_bot(config)


def cmd_playground(args: argparse.Namespace, config: Config) -> int:
    from bot.playground import run_playground

    return run_playground(config, port=args.port, db=args.db)


def cmd_db_copy(args: argparse.Namespace, config: Config) -> int:
    from handoff.storage.copy import TargetNotEmpty, copy_database

    try:
        copied = asyncio.run(copy_database(args.source, args.target))
    except TargetNotEmpty as exc:
        print(f"{exc}; `dono db copy` fills only an empty database", file=sys.stderr)
        return 1
    for table, rows in copied.items():
        print(f"{table}: {rows} rows")
    print(f"copied into {redacted(args.target)}")
    return 0


def _add_data_commands(sub: argparse._SubParsersAction) -> None:
    """unanswered, report and demo: what the database holds."""
    un = sub.add_parser("unanswered", help="group what the bot could not answer or got 👎")
    un.add_argument("--since", default="7d", help="like 7d, 24h or 2026-11-01 (default: 7d)")
    un.add_argument("--csv", action="store_true", help="CSV for a spreadsheet")
    un.add_argument("--db", help="database (default: config bot.database)")
    un.add_argument("--kb", help="knowledge base for the closest-topic hints")
    un.set_defaults(func=cmd_unanswered)

    rep = sub.add_parser("report", help="handling times and outcomes as an HTML page or JSON")
    rep.add_argument("--since", default="30d", help="like 30d, 24h or 2026-11-01 (default 30d)")
    rep.add_argument("--until", help="end of the period (default: now)")
    rep.add_argument("--out", help="file to write (default report.html; stdout for --json)")
    rep.add_argument("--json", action="store_true", help="JSON instead of HTML")
    rep.add_argument("--tz", help="time zone of days and hours (default: working hours' zone)")
    rep.add_argument("--db", help="database (default: config bot.database)")
    rep.add_argument("--csv", metavar="DIR", help="also write the lead's tables as CSV files here")
    rep.add_argument("--lang", choices=LANGS, help="the page's language (default agents.language)")
    rep.set_defaults(func=cmd_report)

    demo = sub.add_parser("demo", help="write a generated week of conversations to a new database")
    demo.add_argument("--db", help="database to create (default: config bot.database)")
    demo.add_argument("--days", type=int, default=7, choices=range(1, 31), metavar="1..30")
    demo.add_argument("--seed", type=int, default=7, help="the same week for the same seed")
    demo.set_defaults(func=cmd_demo)

    db = sub.add_parser("db", help="the database itself").add_subparsers(dest="db", required=True)
    cp = db.add_parser("copy", help="copy a database (SQLite) into an empty one (PostgreSQL)")
    cp.add_argument("--from", dest="source", required=True, help="like sqlite:///var/dono.sqlite3")
    cp.add_argument("--to", dest="target", required=True, help="like postgresql://dono@db/dono")
    cp.set_defaults(func=cmd_db_copy)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dono", description=__doc__)
    parser.add_argument("--config", help="path to config.yaml (default: ./config.yaml)")
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="match one question and show the decision")
    ask.add_argument("question")
    ask.add_argument("--lang", choices=["ru", "tg", "en"], help="the subscriber's language")
    ask.add_argument("--explain", action="store_true", help="show how the decision was made")
    ask.add_argument("--json", action="store_true", help="print the decision as JSON")
    ask.add_argument("--kb", help="knowledge base to use instead of the configured one")
    ask.set_defaults(func=cmd_ask)

    chk = sub.add_parser("check", help="validate a knowledge base; non-zero exit on errors")
    chk.add_argument("path", nargs="?", help="KB directory or file (default: configured)")
    chk.add_argument(
        "--quick", action="store_true", help="validation only, no check of triggers' answers"
    )
    chk.set_defaults(func=cmd_check)

    ev = sub.add_parser("eval", help="run a question set and report accuracy")
    ev.add_argument("file", help="YAML list of {q, expect} cases")
    ev.add_argument("--json", action="store_true")
    ev.add_argument("--min-accuracy", type=float, help="exit 1 below this accuracy (0..1)")
    ev.add_argument("--kb", help="knowledge base to use instead of the configured one")
    ev.set_defaults(func=cmd_eval)

    _add_data_commands(sub)

    sch = sub.add_parser("schema", help="print the JSON Schema of a knowledge-base file")
    sch.add_argument("--out", help="write to this file")
    sch.set_defaults(func=cmd_schema)

    run = sub.add_parser("run", help="run the bot (token from DONO_BOT_TOKEN)")
    run.set_defaults(func=cmd_run)

    pg = sub.add_parser("playground", help="emulator + bot + web page, no token needed")
    pg.add_argument("--port", type=int, help="web page port (default: config playground.port)")
    pg.add_argument("--db", help="keep the bot's database in this file (default: a temporary one)")
    pg.set_defaults(func=cmd_playground)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(args.config)
        return int(args.func(args, config) or 0)
    except ConfigError as exc:
        print(f"configuration error:\n{exc}", file=sys.stderr)
    except KnowledgeBaseError as exc:
        print(f"knowledge base has errors:\n{exc}", file=sys.stderr)
    except EvalFileError as exc:
        print(str(exc), file=sys.stderr)
    except DatabaseUnavailable as exc:
        print(f"cannot open the database {exc}", file=sys.stderr)
    except BrokenPipeError:
        # `dono eval … | head`: the reader has all it wanted; no traceback on the way out
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
