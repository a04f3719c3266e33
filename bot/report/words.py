"""The report page's words in the desk's language (``agents.language``: ru, tg, en) and its
topics by their KB titles. The page is written in English in the code; ``WORDS`` gives each
English text in Russian and Tajik, and ``tr`` looks one up for the page being rendered (a text
missing from the table is an error, found by the test that renders the page in each
language). ``page_language`` sets the language and the titles for one rendering."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date

from babel.dates import format_date, get_day_names

REPORT_LANGS = ("ru", "tg", "en")


@dataclass(frozen=True, slots=True)
class PageWords:
    lang: str = "en"
    titles: Mapping[str, str] = field(default_factory=dict)  # topic id → KB title


_PAGE: ContextVar[PageWords | None] = ContextVar("report_page", default=None)
_ENGLISH = PageWords()


@contextmanager
def page_language(lang: str, titles: Mapping[str, str] | None = None) -> Iterator[None]:
    """Render in ``lang`` (English when unknown), naming topics by ``titles``."""
    token = _PAGE.set(PageWords(lang if lang in REPORT_LANGS else "en", titles or {}))
    try:
        yield
    finally:
        _PAGE.reset(token)


def _page() -> PageWords:
    return _PAGE.get() or _ENGLISH


def lang() -> str:
    return _page().lang


def tr(text: str, /, **params: object) -> str:
    """``text`` (the English) in the page's language, formatted with ``params``."""
    current = _page().lang
    said = text if current == "en" else WORDS[text][0 if current == "ru" else 1]
    return said.format(**params) if params else said


def topic_title(topic: str) -> str:
    """A topic's KB title, else its id."""
    return _page().titles.get(topic, topic)


def long_date(d: date) -> str:
    return format_date(d, "EEE d MMM y", locale=lang())


def weekday(d: date) -> str:
    """The abbreviated weekday, in the page's language ("пн", "Mon")."""
    return format_date(d, "EEE", locale=lang())


def day_month(d: date) -> str:
    return format_date(d, "d MMM", locale=lang())


def weekdays() -> tuple[str, ...]:
    """Monday first, abbreviated."""
    names = get_day_names("abbreviated", locale=lang())
    return tuple(str(names[i]) for i in range(7))


# English → (Russian, Tajik)
WORDS: dict[str, tuple[str, str]] = {
    # page.py
    "Dono support report": ("Отчёт поддержки Dono", "Ҳисоботи дастгирии Dono"),
    "No data for this period": ("За этот период данных нет", "Барои ин давра маълумот нест"),
    "Nobody wrote to the bot, no ticket was opened and no outage was reported.": (
        "Никто не писал боту, обращений не было, о сбоях не сообщали.",
        "Ба бот касе нанавишт, муроҷиат кушода нашуд ва дар бораи қатъи алоқа хабар надоданд.",
    ),
    "Conversations per day": ("Разговоры по дням", "Гуфтугӯҳо аз рӯи рӯз"),
    "No conversations in this period.": (
        "Разговоров за период не было.",
        "Дар ин давра гуфтугӯ набуд.",
    ),
    "One conversation is one subscriber on one day; its outcome is the best the subscriber "
    "got: a human, an answer, choices, or nothing.": (
        "Разговор — один абонент за один день; его исход — лучшее, что абонент получил: "
        "оператора, ответ, варианты или ничего.",
        "Гуфтугӯ — як муштарӣ дар як рӯз; натиҷааш беҳтарин чизест, ки муштарӣ гирифт: "
        "оператор, ҷавоб, интихоб ё ҳеҷ чиз.",
    ),
    "Hand-off times per day": (
        "Время передачи операторам по дням",
        "Вақти супоридан ба операторон аз рӯи рӯз",
    ),
    "No hand-offs in this period.": (
        "Передач операторам за период не было.",
        "Дар ин давра супоридан ба оператор набуд.",
    ),
    "Hand-off → an agent claims the ticket, hand-off → the first reply, claim → close; of the "
    "tickets opened that day.": (
        "Передача → оператор взял обращение, передача → первый ответ, взятие → закрытие; "
        "по обращениям, открытым в этот день.",
        "Супоридан → оператор муроҷиатро гирифт, супоридан → ҷавоби аввал, гирифтан → бастан; "
        "аз муроҷиатҳои он рӯз кушодашуда.",
    ),
    "Day by day": ("По дням", "Рӯз ба рӯз"),
    "Agents": ("Операторы", "Операторон"),
    "Top topics": ("Популярные темы", "Мавзӯъҳои асосӣ"),
    "Languages": ("Языки", "Забонҳо"),
    "Customer satisfaction": ("Удовлетворённость абонентов", "Қаноатмандии муштариён"),
    "Answers marked 👎": ("Ответы с 👎", "Ҷавобҳо бо 👎"),
    "Outage reports": ("Сообщения о сбоях", "Хабарҳо дар бораи қатъи алоқа"),
    "{first} – {last} · days: {days}": (
        "{first} – {last} · дней: {days}",
        "{first} – {last} · рӯзҳо: {days}",
    ),
    "no days with data": ("нет дней с данными", "рӯзҳои бо маълумот нест"),
    "Conversations": ("Разговоры", "Гуфтугӯҳо"),
    "questions to the bot: {n}": ("вопросов боту: {n}", "саволҳо ба бот: {n}"),
    "First-line resolution": ("Решено ботом", "Ҳалли бот"),
    "answered by the bot: {answered} · handed off: {handed}": (
        "ответил бот: {answered} · передано: {handed}",
        "бот ҷавоб дод: {answered} · супорида шуд: {handed}",
    ),
    "Median bot answer time": ("Медиана времени ответа бота", "Миёнаи вақти ҷавоби бот"),
    "Median wait until claim": ("Медиана ожидания оператора", "Миёнаи интизории оператор"),
    "p90 {p90} · tickets: {n}": ("p90 {p90} · обращений: {n}", "p90 {p90} · муроҷиатҳо: {n}"),
    "ratings: {n}": ("оценок: {n}", "баҳоҳо: {n}"),
    "Day": ("День", "Рӯз"),
    "Answered": ("Ответил бот", "Бот ҷавоб дод"),
    "Clarified": ("Уточнено", "Дақиқ карда шуд"),
    "Handed off": ("Передано", "Супорида шуд"),
    "Abandoned": ("Без ответа", "Бе ҷавоб"),
    "First-line": ("Решено ботом", "Ҳалли бот"),
    "Bot p50": ("Бот p50", "Бот p50"),
    "p90": ("p90", "p90"),
    "👍": ("👍", "👍"),
    "👎": ("👎", "👎"),
    "Wait p50": ("Ожидание p50", "Интизорӣ p50"),
    "First reply p50": ("Первый ответ p50", "Ҷавоби аввал p50"),
    "First reply p90": ("Первый ответ p90", "Ҷавоби аввал p90"),
    "Handling p50": ("Работа p50", "Коркард p50"),
    "Handling p90": ("Работа p90", "Коркард p90"),
    "First message to the bot → hand-off": (
        "Первое сообщение боту → передача",
        "Паёми аввал ба бот → супоридан",
    ),
    "Hand-off → an agent claims it": ("Передача → оператор взял", "Супоридан → оператор гирифт"),
    "Hand-off → the agent's first reply": (
        "Передача → первый ответ оператора",
        "Супоридан → ҷавоби аввали оператор",
    ),
    "Claim → close": ("Взятие → закрытие", "Гирифтан → бастан"),
    "Hand-off → close": ("Передача → закрытие", "Супоридан → бастан"),
    "Whole period": ("Весь период", "Тамоми давра"),
    "Median (p50)": ("Медиана (p50)", "Миёна (p50)"),
    "Tickets": ("Обращения", "Муроҷиатҳо"),
    "No ticket was claimed in this period.": (
        "За период никто не брал обращений.",
        "Дар ин давра муроҷиат гирифта нашуд.",
    ),
    "Agent": ("Оператор", "Оператор"),
    "Closed": ("Закрыто", "Баста шуд"),
    "CSAT": ("CSAT", "CSAT"),
    "Ratings": ("Оценки", "Баҳоҳо"),
    "The bot answered nothing in this period.": (
        "Бот за период ничего не ответил.",
        "Дар ин давра бот ба чизе ҷавоб надод.",
    ),
    "… and more topics: {n}.": ("… и ещё тем: {n}.", "… ва боз мавзӯъҳо: {n}."),
    "Topic": ("Тема", "Мавзӯъ"),
    "Answers": ("Ответы", "Ҷавобҳо"),
    "No questions in this period.": ("Вопросов за период не было.", "Дар ин давра савол набуд."),
    "Language": ("Язык", "Забон"),
    "Questions": ("Вопросы", "Саволҳо"),
    "Share": ("Доля", "Ҳисса"),
    "Russian": ("русский", "русӣ"),
    "Tajik": ("таджикский", "тоҷикӣ"),
    "English": ("английский", "англисӣ"),
    "not detected": ("не определён", "муайян нашуд"),
    "No ratings in this period.": ("Оценок за период не было.", "Дар ин давра баҳо набуд."),
    "from {n} ratings": ("по {n} оценкам", "аз {n} баҳо"),
    "Score": ("Оценка", "Баҳо"),
    "No answer got a 👎 in this period.": (
        "За период ни один ответ не получил 👎.",
        "Дар ин давра ягон ҷавоб 👎 нагирифт.",
    ),
    "Question": ("Вопрос", "Савол"),
    "Answered with": ("Ответ бота", "Ҷавоби бот"),
    "No outage reports in this period.": (
        "Сообщений о сбоях за период не было.",
        "Дар ин давра хабар дар бораи қатъи алоқа набуд.",
    ),
    "somewhere else": ("другой район", "ноҳияи дигар"),
    "District": ("Район", "Ноҳия"),
    "Reports": ("Сообщения", "Хабарҳо"),
    "reports in all: {n}.": ("всего сообщений: {n}.", "ҳамагӣ хабарҳо: {n}."),
    "By district": ("По районам", "Аз рӯи ноҳия"),
    "By hour of day": ("По часам", "Аз рӯи соат"),
    "generated by Dono": ("сформировано Dono", "аз ҷониби Dono тартиб дода шуд"),
    "Days in {tz}": ("Дни по времени {tz}", "Рӯзҳо бо вақти {tz}"),
    "<strong>Conversation</strong>: a subscriber's questions (and tickets) on one local day. "
    "<strong>Answered</strong>: the bot answered and nobody was handed off; "
    "<strong>clarified</strong>: only “did you mean” choices; "
    "<strong>handed off</strong>: a ticket was opened; "
    "<strong>abandoned</strong>: none of these. "
    "<strong>First-line resolution</strong> = answered ÷ conversations. "
    "Percentiles are nearest-rank. Ticket times belong to the day the ticket was opened.": (
        "<strong>Разговор</strong>: вопросы (и обращения) одного абонента за один местный "
        "день. <strong>Ответил бот</strong>: бот ответил и никого не передали оператору; "
        "<strong>уточнено</strong>: только варианты «вы имели в виду»; "
        "<strong>передано</strong>: открыто обращение; "
        "<strong>без ответа</strong>: ничего из этого. "
        "<strong>Решено ботом</strong> = ответил бот ÷ разговоры. "
        "Процентили — по ближайшему рангу. Время обращения относится к дню его открытия.",
        "<strong>Гуфтугӯ</strong>: саволҳо (ва муроҷиатҳо)-и як муштарӣ дар як рӯзи маҳаллӣ. "
        "<strong>Бот ҷавоб дод</strong>: бот ҷавоб дод ва ба оператор супорида нашуд; "
        "<strong>дақиқ карда шуд</strong>: танҳо интихоби «шояд шумо дар назар доред»; "
        "<strong>супорида шуд</strong>: муроҷиат кушода шуд; "
        "<strong>бе ҷавоб</strong>: ҳеҷ кадоме аз инҳо. "
        "<strong>Ҳалли бот</strong> = бот ҷавоб дод ÷ гуфтугӯҳо. "
        "Персентилҳо аз рӯи рутбаи наздиктарин. Вақти муроҷиат ба рӯзи кушодашавиаш тааллуқ дорад.",
    ),
    # insights_page.py
    "Against the period before": (
        "По сравнению с прошлым периодом",
        "Дар муқоиса бо давраи пештара",
    ),
    "No earlier period to compare with.": (
        "Нет прошлого периода для сравнения.",
        "Давраи пештара барои муқоиса нест.",
    ),
    "Each figure of this period and of the period of the same length just before.": (
        "Каждый показатель этого периода и такого же по длине периода перед ним.",
        "Ҳар нишондиҳандаи ин давра ва давраи ҳамон дарозӣ пеш аз он.",
    ),
    "Service levels": ("Уровень сервиса", "Сатҳи хизматрасонӣ"),
    "Queue": ("Очередь", "Навбат"),
    "When subscribers write": ("Когда пишут абоненты", "Муштариён кай менависанд"),
    "Conversations and hand-offs by local weekday and hour.": (
        "Разговоры и передачи операторам по дням недели и часам (местное время).",
        "Гуфтугӯҳо ва супоридан ба операторон аз рӯи рӯзи ҳафта ва соат (вақти маҳаллӣ).",
    ),
    "conversations": ("разговоры", "гуфтугӯҳо"),
    "hand-offs": ("передачи операторам", "супоридан ба операторон"),
    "Why tickets were opened": ("Почему открывали обращения", "Чаро муроҷиатҳо кушода шуданд"),
    "Reason": ("Причина", "Сабаб"),
    "Asked just before a hand-off": (
        "Что спрашивали перед передачей",
        "Пеш аз супоридан чӣ пурсиданд",
    ),
    "Topic or decision": ("Тема или решение бота", "Мавзӯъ ё қарори бот"),
    "The subscriber's last question that day before the ticket: the list the knowledge-base "
    "team fixes first.": (
        "Последний вопрос абонента в тот день перед обращением: с этого списка команда базы "
        "знаний начинает исправления.",
        "Саволи охирини муштарӣ дар он рӯз пеш аз муроҷиат: гурӯҳи базаи дониш аз ҳамин "
        "рӯйхат ислоҳро оғоз мекунад.",
    ),
    "Bot decisions": ("Решения бота", "Қарорҳои бот"),
    "Decision": ("Решение", "Қарор"),
    "Count": ("Количество", "Шумора"),
    "Nothing in this period.": ("За период ничего.", "Дар ин давра ҳеҷ чиз."),
    "Agents' activity": ("Работа операторов", "Фаъолияти операторон"),
    "Low ratings": ("Низкие оценки", "Баҳоҳои паст"),
    "Figure": ("Показатель", "Нишондиҳанда"),
    "This period": ("Этот период", "Ин давра"),
    "Before": ("Прошлый", "Пештара"),
    "First response within target": ("Первый ответ в срок", "Ҷавоби аввал дар мӯҳлат"),
    "No targets set: add reports.sla to config.yaml.": (
        "Цели не заданы: добавьте reports.sla в config.yaml.",
        "Ҳадафҳо муайян нашудаанд: reports.sla-ро ба config.yaml илова кунед.",
    ),
    "business hours": ("в рабочие часы", "дар соатҳои корӣ"),
    "round the clock": ("круглосуточно", "шабонарӯзӣ"),
    "Targets: first response {first}, resolution {resolution}, counted {clock}.": (
        "Цели: первый ответ {first}, решение {resolution}, время считается {clock}.",
        "Ҳадафҳо: ҷавоби аввал {first}, ҳал {resolution}, вақт {clock} ҳисоб мешавад.",
    ),
    "{share} ({met} met, {late} late)": (
        "{share} (в срок: {met}, с опозданием: {late})",
        "{share} (дар мӯҳлат: {met}, бо таъхир: {late})",
    ),
    "All": ("Все", "Ҳама"),
    "Resolution": ("Решение", "Ҳал"),
    "first response": ("первый ответ", "ҷавоби аввал"),
    "resolution": ("решение", "ҳал"),
    "Ticket": ("Обращение", "Муроҷиат"),
    "Target": ("Цель", "Ҳадаф"),
    "Over by": ("Превышение", "Зиёдатӣ"),
    "Open at the start": ("Открыто в начале", "Дар оғоз кушода"),
    "Open at the end": ("Открыто в конце", "Дар охир кушода"),
    "… open {age}": ("… открыто {age}", "… кушода {age}"),
    "< 15 min": ("< 15 мин", "< 15 дақ"),
    "15–60 min": ("15–60 мин", "15–60 дақ"),
    "1–4 h": ("1–4 ч", "1–4 соат"),
    "4–24 h": ("4–24 ч", "4–24 соат"),
    "> 24 h": ("> 24 ч", "> 24 соат"),
    "Gave up while waiting": ("Не дождались оператора", "Оператор интизор нашуданд"),
    "asked for a person": ("попросили оператора", "операторро пурсиданд"),
    "the Operator button": ("кнопка «Оператор»", "тугмаи «Оператор»"),
    "the /operator command": ("команда /operator", "фармони /operator"),
    "the bot could not answer": ("бот не смог ответить", "бот ҷавоб дода натавонист"),
    "an outage report": ("сообщение о сбое", "хабар дар бораи қатъи алоқа"),
    "answered": ("ответ", "ҷавоб"),
    "“did you mean”": ("«вы имели в виду»", "«шояд шумо дар назар доред»"),
    "small talk": ("светская беседа", "суҳбати оддӣ"),
    "nothing found": ("ничего не найдено", "ҳеҷ чиз ёфт нашуд"),
    "choice click-through: {chosen} of {clarified} “did you mean” questions got a choice pressed": (
        "переходы по вариантам: в {chosen} из {clarified} вопросов с «вы имели в виду» "
        "абонент нажал вариант",
        "гузариш аз рӯи интихоб: дар {chosen} аз {clarified} саволи «шояд шумо дар назар "
        "доред» муштарӣ интихобро пахш кард",
    ),
    "No agent work in this period.": (
        "Операторы за период не работали.",
        "Дар ин давра операторон кор накарданд.",
    ),
    "First replies": ("Первые ответы", "Ҷавобҳои аввал"),
    "Closes": ("Закрытия", "Бастанҳо"),
    "Transfers": ("Передачи", "Интиқолҳо"),
    "Reopened after close": ("Открыты снова после закрытия", "Пас аз бастан боз кушода шуд"),
    "No rating of 1 or 2 in this period.": (
        "Оценок 1 или 2 за период не было.",
        "Дар ин давра баҳои 1 ё 2 набуд.",
    ),
    "What went wrong": ("Что пошло не так", "Чӣ нодуруст шуд"),
    "Opened": ("Открыто", "Кушода шуд"),
    # the charts' legends and axis
    "Answered by the bot": ("Ответил бот", "Бот ҷавоб дод"),
    "Wait until claim": ("Ожидание оператора", "Интизории оператор"),
    "First response": ("Первый ответ", "Ҷавоби аввал"),
    "Handling": ("Работа оператора", "Коркарди оператор"),
    "minutes": ("минуты", "дақиқаҳо"),
    "median (p50)": ("медиана (p50)", "миёна (p50)"),
    "90th percentile (p90)": ("90-й процентиль (p90)", "персентили 90 (p90)"),
    # the number formats (format.py)
    "{n} s": ("{n} с", "{n} с"),
    "{m} min {s} s": ("{m} мин {s} с", "{m} дақ {s} с"),
    "{h} h {m} min": ("{h} ч {m} мин", "{h} соат {m} дақ"),
    "{d} d {h} h": ("{d} д {h} ч", "{d} рӯз {h} соат"),
    "{n} ms": ("{n} мс", "{n} мс"),
    # by priority and label, tickets per hour on shift (insights_page.py)
    "By priority and label": ("По приоритету и меткам", "Аз рӯи афзалият ва тамғаҳо"),
    "The period's tickets by the priority and the labels they carry now (a ticket with two "
    "labels is in both rows), with their service levels.": (
        "Обращения периода по их нынешнему приоритету и меткам (обращение с двумя метками — в "
        "обеих строках) и сроки ответа по ним.",
        "Муроҷиатҳои давра аз рӯи афзалият ва тамғаҳои ҳозираашон (муроҷиат бо ду тамға дар "
        "ҳар ду сатр аст) ва мӯҳлатҳои ҷавоб.",
    ),
    "No tickets in this period.": ("Обращений за период не было.", "Дар ин давра муроҷиат набуд."),
    "No ticket has a label.": ("Меток у обращений нет.", "Ягон муроҷиат тамға надорад."),
    "Priority": ("Приоритет", "Афзалият"),
    "Label": ("Метка", "Тамға"),
    "urgent": ("срочный", "фаврӣ"),
    "high": ("высокий", "баланд"),
    "normal": ("обычный", "муқаррарӣ"),
    "low": ("низкий", "паст"),
    "Hours on shift": ("Часов на смене", "Соатҳо дар навбатӣ"),
    "Tickets per hour on shift": ("Обращений в час на смене", "Муроҷиат дар як соати навбатӣ"),
}
