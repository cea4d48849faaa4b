"""The interface in its users' language: which locale a request gets, and Babel's formatting for pages.

Pages and views wrap their text with `_` (`gettext`) or `_l` (`lazy_gettext`, for text defined at
import time); templates use `_()`, `ngettext()` and `{% trans %}`. Money, numbers and times are
shown through the filters registered here (`money`, `number`, `local_time`, `local_date`), never
formatted by hand. The catalogue lives in translations/ (README.md: "Translations").
"""

from datetime import date, datetime
from decimal import Decimal

from babel import dates, numbers
from flask import Flask, current_app, has_request_context, request
from flask_babel import Babel, get_locale, gettext, lazy_gettext
from flask_login import current_user

from ..models.types import CST

_ = gettext
_l = lazy_gettext

# The locales a person can choose, as Babel names them, with the name each gives itself.
LOCALES = {"zh_CN": "简体中文", "en": "English"}
# No Accept-Language at all (scripts, API clients, crawlers): English, so machine clients and logs
# keep a stable, ASCII default. Every browser sends the header, so people get their language.
DEFAULT_LOCALE = "en"
LOCALE_COOKIE = "lang"
LOCALE_COOKIE_AGE = 365 * 24 * 3600
TIMEZONE = "Asia/Shanghai"
# The platform's currency signs, the same in both languages (Babel's English `CN¥` and `$` would be
# unfamiliar or ambiguous on a Chinese platform); the amount itself is formatted by Babel.
CURRENCY_SIGNS = {"cny": "¥", "hkd": "HK$", "mop": "MOP$", "usd": "US$", "eur": "€"}
# Paths answered to machines: their language comes from Accept-Language alone, never from cookies.
MACHINE_PREFIXES = (
    "/api/",
    "/registry/v1/",
    "/federation/",
    "/oauth/",
    "/.well-known/",
    "/healthz",
    "/payments/stripe/",
    "/metrics",
    "/sync/",
)
# What a browser may ask for, mapped to the locale that serves it: any Chinese gets Simplified Chinese.
_ACCEPTED = {"zh-CN": "zh_CN", "zh": "zh_CN", "en": "en"}


def known_locale(value: str | None) -> str | None:
    """`value` if it names a locale people can choose ('zh-CN' and 'zh_CN' alike), else None."""
    if not value:
        return None
    value = value.replace("-", "_")
    return next((code for code in LOCALES if code.lower() == value.lower()), None)


def accepted_locale() -> str | None:
    """The locale the request's Accept-Language asks for, if we have one."""
    best = request.accept_languages.best_match(list(_ACCEPTED))
    if best is None and any(lang.lower().startswith("zh") for lang, _q in request.accept_languages):
        best = "zh"  # zh-TW, zh-Hant-HK...: Chinese readers get Chinese rather than English
    return _ACCEPTED.get(best) if best else None


def select_locale() -> str:
    """The request's locale: the person's explicit choice (account, then cookie), Accept-Language, the default.

    Outside a request (the command line, the sync worker) it is the default."""
    if not has_request_context():
        return current_app.config.get("DEFAULT_LOCALE", DEFAULT_LOCALE)
    if not request.path.startswith(MACHINE_PREFIXES):
        if current_user and current_user.is_authenticated and known_locale(getattr(current_user, "locale", None)):
            return known_locale(current_user.locale)
        chosen = known_locale(request.cookies.get(LOCALE_COOKIE))
        if chosen:
            return chosen
    return accepted_locale() or current_app.config.get("DEFAULT_LOCALE", DEFAULT_LOCALE)


def current_locale() -> str:
    """The request's locale as people choose it: 'zh_CN' or 'en'.

    Babel itself names Simplified Chinese in China `zh_Hans_CN` (hence the catalogue's directory).
    """
    locale = get_locale()
    return "zh_CN" if locale is not None and locale.language == "zh" else "en"


def locale_tag() -> str:
    """The current locale as a BCP 47 tag, for `<html lang>` and `Content-Language` ('zh-CN', 'en')."""
    return current_locale().replace("_", "-")


def money(minor_units: int | None, currency: str = "cny") -> str:
    """`4310000, 'cny'` → `¥43,100.00`: the amount in major units, grouped for the locale."""
    if minor_units is None:
        return "—"
    sign = CURRENCY_SIGNS.get(currency, currency.upper() + " ")
    amount = Decimal(abs(minor_units)).scaleb(-2)
    minus = "-" if minor_units < 0 else ""  # -¥1,000.00, not ¥-1,000.00
    return minus + sign + numbers.format_decimal(amount, format="#,##0.00", locale=_babel_locale())


def number(value: int | float | Decimal | None) -> str:
    """A number grouped for the locale: `500000` → `500,000`."""
    if value is None:
        return "—"
    return numbers.format_decimal(value, locale=_babel_locale())


def local_time(moment: datetime | None) -> str:
    """A UTC moment in China Standard Time: `Dec 12, 2026, 11:00 CST` / `2026年12月12日 11:00（北京时间）`."""
    if moment is None:
        return "—"
    local = moment.astimezone(CST)
    locale = _babel_locale()
    day = dates.format_date(local, "medium", locale=locale)
    clock = dates.format_time(local, "HH:mm", locale=locale)
    joined = dates.get_datetime_format("medium", locale=locale).replace("{1}", day).replace("{0}", clock)
    return _("%(moment)s CST", moment=joined)


def local_date(value: date | datetime | None) -> str:
    """A day for the locale (a moment is first put in China Standard Time): `Dec 12, 2026` / `2026年12月12日`."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(CST).date()
    return dates.format_date(value, "medium", locale=_babel_locale())


def _babel_locale() -> str:
    return str(get_locale() or DEFAULT_LOCALE)


def init_app(app: Flask) -> None:
    """Install Flask-Babel with this node's locale choice; templates get `_`, `ngettext` and `locale_tag`."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(app.root_path + "/../translations"))
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(locale_tag=locale_tag, LOCALES=LOCALES)
    app.jinja_env.policies["ext.i18n.trimmed"] = True  # {% trans %} blocks: whitespace as in one line

    @app.after_request
    def _content_language(response):
        if response.mimetype == "text/html" or request.path.startswith(MACHINE_PREFIXES):
            response.headers.setdefault("Content-Language", locale_tag())
            response.vary.add("Accept-Language")
        return response
