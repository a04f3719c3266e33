"""The bot's configuration: config.yaml parsed once into a typed object, secrets from the env."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from handoff.hours import WorkingHours
from handoff.labels import LabelRefused, normalize_label
from handoff.sla import SlaTargets
from handoff.storage.database import is_postgres, sqlite_path
from knowledge.matcher import Thresholds

DEFAULT_CONFIG = "config.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


_TH = Thresholds()


class ThresholdsConfig(_Section):
    answer: float = Field(_TH.answer, ge=0, le=1)
    margin: float = Field(_TH.margin, ge=0, le=1)
    confident: float = Field(_TH.confident, ge=0, le=1)
    clarify: float = Field(_TH.clarify, ge=0, le=1)
    clarify_window: float = Field(_TH.clarify_window, ge=0, le=1)
    max_candidates: int = Field(_TH.max_candidates, ge=2, le=8)
    single: float = Field(_TH.single, ge=0, le=1)

    def to_thresholds(self) -> Thresholds:
        return Thresholds(**self.model_dump())


class KnowledgeConfig(_Section):
    path: Path = Path("kb")
    watch: bool = True  # reload when a file in `path` changes
    thresholds: ThresholdsConfig = Field(default_factory=ThresholdsConfig)


class WebhookConfig(_Section):
    url: str | None = None
    listen_host: str = "127.0.0.1"
    listen_port: int = Field(8443, ge=1, le=65535)
    path: str = "/telegram"


class LimitsConfig(_Section):
    """Telegram's flood limits the bot paces itself to (raise only for a local Bot API server)."""

    global_per_second: float = Field(30, gt=0)
    global_burst: int = Field(30, ge=1)
    private_per_second: float = Field(1, gt=0)
    private_burst: int = Field(5, ge=1)
    group_per_minute: float = Field(20, gt=0)
    group_burst: int = Field(20, ge=1)


class TelegramConfig(_Section):
    api_base: str | None = None
    mode: Literal["polling", "webhook"] = "polling"
    webhook: WebhookConfig = Field(default_factory=WebhookConfig)
    request_timeout: float = Field(30, gt=0)
    startup_wait: float = Field(60, gt=0)  # seconds `dono run` waits for Telegram to answer
    limits: LimitsConfig = Field(default_factory=LimitsConfig)


class BotConfig(_Section):
    default_language: Literal["ru", "tg", "en"] = "ru"
    # a SQLite file (a path, or sqlite:///path) or postgresql://… with no password in it:
    # DONO_DATABASE_URL wins, the password comes from PGPASSWORD (libpq's environment)
    database: str = "var/dono.sqlite3"
    # the update journal: null keeps it in the database (PostgreSQL: tables shared by every
    # instance; SQLite: the file <database>.journal); a path keeps it in the SQLite file
    # <journal>.journal (one instance)
    journal: Path | None = None
    max_message_chars: int = Field(4000, ge=1)

    def database_url(self) -> str:
        """Where the store is: ``DONO_DATABASE_URL`` from the environment, else ``database``."""
        return os.environ.get("DONO_DATABASE_URL") or str(self.database)

    def journal_target(self) -> str | Path:
        """Where the update journal is: its SQLite path (``<it>.journal``), or the
        PostgreSQL database's URL (the journal's tables beside the store's)."""
        if self.journal is not None:
            return self.journal
        url = self.database_url()
        return url if is_postgres(url) else Path(sqlite_path(url))


class DeskConfig(_Section):
    """One operators' group (a desk) of ``agents.groups``: which tickets it takes."""

    name: str = Field(min_length=1, max_length=64)
    group_id: int
    languages: list[Literal["ru", "tg", "en"]] = Field(default_factory=list)  # empty: any
    categories: list[str] = Field(default_factory=list)  # KB categories; empty: any
    workspaces: bool = False  # agents' tickets as topics in their private chats

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value or any(c.isspace() for c in value) or value.lower() == "all":
            raise ValueError(f"{value!r}: a desk's name is one word (and not 'all')")
        return value


class FloodConfig(_Section):
    """A subscriber flooding a ticket (``bot.desk.flood``): past ``messages`` in
    ``per_seconds`` (0: never), their texts reach the group as one digest per
    ``digest_seconds``."""

    messages: int = Field(20, ge=0)
    per_seconds: float = Field(60, gt=0)
    digest_seconds: float = Field(10, gt=0)


class AgentsConfig(_Section):
    group_id: int | None = None
    groups: list[DeskConfig] = Field(default_factory=list)  # several desks (bot.desk.routing)
    overflow_after: float = Field(5, gt=0)  # seconds a desk's queue may keep a message waiting
    admins: list[int] = Field(default_factory=list)
    supervisors: list[int] = Field(default_factory=list)  # may take over any ticket
    leads: list[int] = Field(default_factory=list)  # told privately of each low rating
    language: Literal["ru", "tg", "en"] = "ru"
    signature: Literal["none", "first_name"] = "none"
    reopen_window: float = Field(3600, ge=0)
    handoff_after_misses: int = Field(2, ge=0)
    working_hours: Any = "24/7"
    contacts: str | None = None  # other channels, told when no operators' group is set up
    flood: FloodConfig = Field(default_factory=FloodConfig)  # one subscriber's pace
    # automatic assignment among agents on shift (``handoff.assign``); none: agents claim
    assignment: Literal["none", "round_robin", "least_loaded"] = "none"
    max_open_per_agent: int | None = Field(None, ge=1)  # assignment skips an agent at this
    off_shift: Literal["keep", "requeue"] = "keep"  # an agent's tickets when they go off shift
    labels: list[str] = Field(default_factory=list)  # the labels /label allows; empty: any
    # the one group's agents get their tickets as topics in their private chats with the bot
    # (``agents.groups``: each desk's own ``workspaces``)
    workspaces: bool = False

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str]) -> list[str]:
        try:
            return list(dict.fromkeys(normalize_label(str(v)) for v in value))
        except LabelRefused as exc:
            raise ValueError(f"{exc.label!r} is no label ({exc.code})") from None

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: Any) -> Any:
        WorkingHours.from_config(value, "agents.working_hours")  # raises with the key path
        return value

    @model_validator(mode="after")
    def _desks(self) -> AgentsConfig:
        names = [d.name.lower() for d in self.groups]
        ids = [d.group_id for d in self.groups]
        for kind, values in (("name", names), ("group_id", ids)):
            twice = sorted({str(v) for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"agents.groups: {kind} {', '.join(twice)} used twice")
        if self.groups and self.group_id is not None and self.group_id not in ids:
            raise ValueError("agents.group_id must be null or one of agents.groups' group_id")
        if self.groups and self.group_id is None:
            self.group_id = self.groups[0].group_id  # the default desk: the first
        return self

    def desks(self) -> list[DeskConfig]:
        """The desks: ``groups``, or the one ``group_id`` as a desk named "" (none: none)."""
        if self.groups:
            return list(self.groups)
        if self.group_id is None:
            return []
        return [
            DeskConfig.model_construct(name="", group_id=self.group_id, workspaces=self.workspaces)
        ]

    def hours(self) -> WorkingHours:
        return WorkingHours.from_config(self.working_hours, "agents.working_hours")


class District(_Section):
    name: str
    latitude: float | None = None
    longitude: float | None = None


class OutagesConfig(_Section):
    """The outage-report flow: districts to pick from, and when agents are alerted."""

    districts: list[District] = Field(default_factory=list)
    alert_count: int = Field(3, ge=1)  # this many reports from one district ...
    alert_minutes: float = Field(30, gt=0)  # ... within this many minutes → a summary to agents


class ReportsConfig(_Section):
    """What `dono report` measures against: SLA targets (``handoff.sla``)."""

    sla: Any = None  # {first_response: 15m, resolution: 4h, business_hours: true, nudge: 0.8}
    digest_hour: int | None = Field(None, ge=0, le=23)  # local hour of the daily digest

    @field_validator("sla")
    @classmethod
    def _sla(cls, value: Any) -> Any:
        SlaTargets.from_config(value, "reports.sla")  # raises with the key path
        return value

    def targets(self) -> SlaTargets:
        return SlaTargets.from_config(self.sla, "reports.sla")


class PlaygroundConfig(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)


class OpsConfig(_Section):
    """Running in production: health/metrics endpoint and log format."""

    health_port: int | None = Field(None, ge=0, le=65535)  # null: no /healthz and /metrics
    health_host: str = "127.0.0.1"
    json_logs: bool = False
    instance: str | None = None  # this instance's name; DONO_INSTANCE wins; <host>-<pid>

    def instance_name(self) -> str:
        """The name of this instance: in the journal as the owner of what it handles, and in
        logs. ``DONO_INSTANCE`` from the environment, else ``instance``, else host-pid."""
        name = os.environ.get("DONO_INSTANCE") or self.instance
        return name or f"{socket.gethostname()}-{os.getpid()}"


class RedisConfig(_Section):
    """Redis shared by several instances: flood-limit buckets, FSM state, KB reloads."""

    # redis://host:6379/0 (a password only in DONO_REDIS_URL, which wins); null: no Redis
    url: str | None = None
    prefix: str = Field("dono", min_length=1)  # of every key and channel

    def redis_url(self) -> str | None:
        return os.environ.get("DONO_REDIS_URL") or self.url or None


class Config(_Section):
    knowledge: KnowledgeConfig = Field(default_factory=KnowledgeConfig)
    telegram: TelegramConfig = Field(default_factory=TelegramConfig)
    bot: BotConfig = Field(default_factory=BotConfig)
    agents: AgentsConfig = Field(default_factory=AgentsConfig)
    playground: PlaygroundConfig = Field(default_factory=PlaygroundConfig)
    outages: OutagesConfig = Field(default_factory=OutagesConfig)
    ops: OpsConfig = Field(default_factory=OpsConfig)
    redis: RedisConfig = Field(default_factory=RedisConfig)
    reports: ReportsConfig = Field(default_factory=ReportsConfig)

    @property
    def api_base(self) -> str | None:
        """DONO_API_BASE wins over config.yaml, for a local Bot API server or the emulator."""
        return os.environ.get("DONO_API_BASE") or self.telegram.api_base


class ConfigError(ValueError):
    """config.yaml is unreadable or has wrong values; the message names each key."""


def load_config(path: str | Path | None = None) -> Config:
    """Read config.yaml (or defaults when the default file is absent) into a Config."""
    file = Path(path or os.environ.get("DONO_CONFIG") or DEFAULT_CONFIG)
    if not file.exists():
        if path is None:
            return Config()
        raise ConfigError(f"{file}: no such file")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: YAML syntax error: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: expected a mapping of sections")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        lines = [f"{file}: {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from exc
    base = file.parent
    config.knowledge.path = _relative(base, config.knowledge.path)
    if not is_postgres(config.bot.database):
        config.bot.database = str(_relative(base, Path(sqlite_path(config.bot.database))))
    if config.bot.journal is not None:
        config.bot.journal = _relative(base, config.bot.journal)
    return config


def _relative(base: Path, path: Path) -> Path:
    return path if path.is_absolute() else base / path


def bot_token() -> str | None:
    """The bot token, only ever from the environment."""
    return os.environ.get("DONO_BOT_TOKEN") or None
