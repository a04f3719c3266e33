"""Words people use for one thing: "глянуть" is "посмотреть", "закинуть" is "пополнить",
"гиги" are "гигабайты", "recharge" is "top up", "фаҳмам" is "санҷам".

A knowledge base's triggers are written in a few words; subscribers use the others. Each group
below is general language (chat Russian, Tajik and English as subscribers write them), not a
topic's wording: every word of a group gets the group's first word's key, in the triggers and in
the message alike, so "как глянуть баланс" finds "как проверить баланс". A group lists the forms
whose stems differ ("ушли", "уходят"); forms that share a stem need one entry.

A function word (``knowledge.lang``'s stopwords: "узнать", "посмотреть", "фаҳмам") never
joins a group: it would make the group's key a function word too.

Keep groups narrow: a word that means one of them only sometimes ("взять" a SIM card, "взять"
a loan; "пропала" money, "пропала" the signal) stays out, or it would join topics that have
nothing in common.
"""

from __future__ import annotations

_GROUPS = {
    "ru": """
    проверить проверять проверка
    пополнить пополнять пополнение закинуть закинуть закидывать кинуть положить положил
        положила класть внести зачислить
    гигабайт гигабайты гиги гигов гига гб гигабайта
    мегабайт мегабайты мегов мб
    уходят ушли ушло уходит списали списывают списалось списываются сняли снимают снимается
        сняло
    подключить подключать включить включать активировать активация подключение
    отключить отключать выключить выключать деактивировать отписаться отказаться
    смартфон мобильник телефон телефона трубка
    поменять менять сменить смена
    остаток остатки осталось остался осталась остались
    украсть украли украл украла украдут своровали своровал стащили стащил сперли спер
    авария аварии сбой сбои
    звонок звонки звонков звонка вызов вызовы вызовов
    стоимость цена цены стоят почем
    apn апн
    """,
    "tg": """
    санҷам санҷидан санҷиш бинам бинед дидан
    пул маблағ
    вайрон вайроншуда шикаст шикастааст пора
    хароҷот харҷ сарф
    сим симкарта симкарт симка
    """,
    "en": """
    top topup recharge refill
    check view
    enable activate
    disable deactivate
    """,
}


def groups(lang: str) -> list[list[str]]:
    """The groups of one language, each a list of words, its key word first. A group is one
    line; a more indented line goes on with the group above it."""
    out: list[list[str]] = []
    for line in _GROUPS.get(lang, "").splitlines():
        if not line.strip():
            continue
        if line.startswith("        ") and out:
            out[-1].extend(line.split())
        else:
            out.append(line.split())
    return out
