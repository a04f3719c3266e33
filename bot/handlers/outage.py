"""The outage-report flow: district (or location), a short description, a stored record, and
a summary to the agents when reports from one district cluster."""

from __future__ import annotations

import html
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, F
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    TelegramObject,
)
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import DistrictCb, answer_first
from bot.config import Config, District
from bot.desk import Desk
from bot.texts import t
from handoff.storage import Store
from handoff.subscribers import Subscriber
from knowledge.decision import Decision
from knowledge.reading import readings
from knowledge.service import KnowledgeService

OUTAGE_TOPIC = "outage_report"


class OutageFlow(StatesGroup):
    district = State()
    description = State()


def nearest(districts: list[District], latitude: float, longitude: float) -> District | None:
    """The configured district whose centre is closest (great-circle), if any has one."""
    best, best_km = None, math.inf
    for d in districts:
        if d.latitude is None or d.longitude is None:
            continue
        phi1, phi2 = math.radians(latitude), math.radians(d.latitude)
        dphi, dlmb = phi2 - phi1, math.radians(d.longitude - longitude)
        a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
        km = 2 * 6371 * math.asin(math.sqrt(a))
        if km < best_km:
            best, best_km = d, km
    return best


async def start(message: Message, state: FSMContext, config: Config, lang: str) -> None:
    """Called after the outage_report answer: ask where."""
    kb = InlineKeyboardBuilder()
    for i, d in enumerate(config.outages.districts):
        kb.button(text=d.name, callback_data=DistrictCb(index=i))
    kb.button(text=t(lang, "outage_other_district"), callback_data=DistrictCb(index=-1))
    kb.adjust(3)
    await state.set_state(OutageFlow.district)
    await message.answer(t(lang, "outage_ask_district"), reply_markup=kb.as_markup())
    location = ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=t(lang, "outage_button_location"), request_location=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )
    await message.answer(t(lang, "outage_location_hint"), reply_markup=location)


async def on_district(
    query: CallbackQuery, callback_data: DistrictCb, state: FSMContext, config: Config, lang: str
) -> None:
    districts = config.outages.districts
    if not -1 <= callback_data.index < len(districts):
        await answer_first(query, t(lang, "stale_button"))
        return
    await answer_first(query)  # before the work: a late answer must not skip the rest
    name = districts[callback_data.index].name if callback_data.index >= 0 else None
    await state.update_data(district=name, place="district" if name else "elsewhere")
    await state.set_state(OutageFlow.description)
    if isinstance(query.message, Message):
        await query.message.answer(
            t(lang, "outage_ask_description"), reply_markup=ReplyKeyboardRemove()
        )


async def on_location(message: Message, state: FSMContext, config: Config, lang: str) -> None:
    loc = message.location
    assert loc is not None
    place = nearest(config.outages.districts, loc.latitude, loc.longitude)
    await state.update_data(
        district=place.name if place else None,
        place="district" if place else "location",
        latitude=loc.latitude,
        longitude=loc.longitude,
    )
    await state.set_state(OutageFlow.description)
    await message.answer(t(lang, "outage_ask_description"), reply_markup=ReplyKeyboardRemove())


async def on_description(
    message: Message,
    state: FSMContext,
    store: Store,
    desk: Desk,
    config: Config,
    sub: Subscriber,
    lang: str,
    knowledge: KnowledgeService,
    **data: Any,
) -> None:
    """The description ends the report, unless the subscriber moved on: a question the
    knowledge base answers, or a request for a person, leaves the flow and is handled as such."""
    text = message.text or ""
    decision = knowledge.matcher.match(text[: data.get("max_chars") or 4000], lang)
    if leaves_flow(text, decision):
        await state.clear()
        from bot.handlers.subscriber import on_question  # it registers this flow

        await on_question(
            message,
            knowledge,
            store,
            desk,
            sub,
            lang,
            data.get("max_chars") or 4000,
            state,
            config,
            data.get("metrics"),
            decision,
        )
        return
    flow = await state.get_data()
    await state.clear()
    district = flow.get("district")
    report_id = await store.add_outage(
        sub.user_id, district, text[:1000], flow.get("latitude"), flow.get("longitude")
    )
    where = flow.get("place") or ("district" if district else "elsewhere")
    place = {
        "district": district or "",
        "location": t(lang, "outage_unknown_place"),
        "elsewhere": t(lang, "outage_other_district"),
    }[where]
    thanks = "outage_thanks" if desk.group_id is not None else "outage_thanks_recorded"
    await message.answer(
        t(lang, thanks, id=report_id, district=html.escape(place)),
        reply_markup=ReplyKeyboardRemove(),
    )
    if district:
        await alert_if_clustered(store, desk, config, district)


def leaves_flow(text: str, decision: Decision) -> bool:
    """A message in the description step that is not a description: a request for a person,
    or a question (it asks) that a topic other than the outage report answers."""
    if decision.kind == "handoff":
        return True
    if decision.kind != "answer" or decision.topic == OUTAGE_TOPIC:
        return False
    first = next(readings(text), None)
    return first is not None and any(first.asks)


async def post_singles(store: Store, desk: Desk, config: Config, now: float) -> int:
    """Reports no cluster alert covered, once their window has passed, as one note to the
    agents: every report reaches a person. Returns how many."""
    if desk.group_id is None:
        return 0
    reports = await store.unnotified_outages(now - config.outages.alert_minutes * 60)
    if not reports:
        return 0
    lines = "\n".join(
        f"• {html.escape(r['district'] or t(desk.lang, 'outage_other_district'))}: "
        f"{html.escape(r['description'][:150]) or '—'}"
        for r in reports[-20:]
    )
    await desk.post(t(desk.lang, "agent_outage_singles", count=len(reports), lines=lines))
    await store.mark_outages_notified([r["id"] for r in reports])
    return len(reports)


async def alert_if_clustered(store: Store, desk: Desk, config: Config, district: str) -> None:
    """Reports from N different subscribers in one district within M minutes → one summary
    for the agents. One person reporting again and again is one report: never a cluster."""
    window = config.outages.alert_minutes * 60
    reports = await store.outage_cluster(district, store.clock() - window)
    reporters = {r["user_id"] for r in reports}
    if len(reporters) < config.outages.alert_count or desk.group_id is None:
        return
    lines = "\n".join(f"• {html.escape(r['description'][:150]) or '—'}" for r in reports[-10:])
    await desk.post(
        t(
            desk.lang,
            "agent_outage_alert",
            district=html.escape(district),
            count=len(reports),
            minutes=round(config.outages.alert_minutes),
            lines=lines,
        ),
    )
    await store.mark_outages_notified([r["id"] for r in reports])


def register(router) -> None:
    """The flow's steps go first in the private router: they win over question matching."""
    router.callback_query.register(on_district, DistrictCb.filter())
    router.message.register(on_location, OutageFlow.district, F.location)
    router.message.register(on_location, OutageFlow.description, F.location)
    router.message.register(on_description, OutageFlow.description, F.text)
    router.message.middleware(LeaveOnCommand())


class LeaveOnCommand(BaseMiddleware):
    """Any command leaves the outage flow ("/menu" mid-report is not its description)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        text = getattr(event, "text", None) or ""
        if state is not None and text.startswith("/") and await state.get_state() is not None:
            await state.clear()
        return await handler(event, data)
