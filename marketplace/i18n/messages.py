"""English messages of schemas and services, shown to people in their language.

Schemas (marshmallow) and services speak English: their messages are part of the API's `errors`
and stay the same for every client. Pages, and the top-level `message` of an API error, show them
through `translate_message`, which finds a message in the catalogue either as it is or by one of
the templates below (a `%(name)s` stands for a value such as a code or a number). A new message
with values in it gets its template here; one without needs only `N_("...")` anywhere in
marketplace/ so that extraction puts it in the catalogue.
"""

import re
from datetime import datetime
from functools import lru_cache

from flask import has_request_context, request
from flask_babel import gettext

from . import MACHINE_PREFIXES, current_locale, local_time
from .words import term


def N_(text: str) -> str:  # noqa: N802 - gettext's conventional name for "extract, translate later"
    """Mark `text` for the catalogue without translating it here."""
    return text


TEMPLATES = (
    # marshmallow's own messages
    N_("Missing data for required field."),
    N_("Field may not be null."),
    N_("Invalid value."),
    N_("Not a valid string."),
    N_("Not a valid utf-8 string."),
    N_("Not a valid integer."),
    N_("Not a valid number."),
    N_("Number too large."),
    N_("Special numeric values (nan or infinity) are not permitted."),
    N_("Not a valid email address."),
    N_("Not a valid URL."),
    N_("Not a valid mapping type."),
    N_("Not a valid boolean."),
    N_("Not a valid list."),
    N_("Invalid type."),
    N_("Invalid input type."),
    N_("Unknown field."),
    N_("String does not match expected pattern."),
    N_("Not a valid %(kind)s."),
    N_("Give %(needed)s with %(given)s."),
    N_("paid: %(reference)s"),  # an order's history: confirmed by the payment with this reference
    N_("all the money was refunded"),
    N_("Nests arrays or objects deeper than %(depth)s levels: not a JWKS."),
    N_("Length must be between %(min)s and %(max)s."),
    N_("Length must be %(equal)s."),
    N_("Longer than maximum length %(max)s."),
    N_("Shorter than minimum length %(min)s."),
    N_("Must be greater than or equal to %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than %(min)s and less than or equal to %(max)s."),
    N_("Must be greater than or equal to %(min)s."),
    N_("Must be greater than %(min)s."),
    N_("Must be less than or equal to %(max)s."),
    N_("Must be one of: %(choices)s."),
    # listings
    N_("Not an RFC 3339 date-time with a timezone offset, e.g. 2026-12-01T08:00:00+08:00."),
    N_("Missing the timezone: use an RFC 3339 date-time with a timezone offset, e.g. 2026-12-01T08:00:00+08:00."),
    N_("Not a GB/T 2260 province-level code."),
    N_("Must be greater than 0."),
    N_("Not a node code."),
    N_("Required for resource_type %(type)s."),
    N_("Does not apply to resource_type %(type)s."),
    N_("Not a price unit for resource_type %(type)s; use one of: %(units)s."),
    N_("Must be after available_from."),
    N_("Pages reach the first %(count)s results; continue deeper with cursor."),
    N_("Not a cursor from this search."),
    N_("The cursor belongs to another sort order."),
    N_("Invalid cursor."),
    N_("A retired listing cannot change."),
    N_("A %(status)s listing cannot become %(new_status)s."),
    N_("The listing is already retired."),
    N_("No listing %(code)s."),
    N_("Only the listing's seller can change it."),
    N_("The changed listing is not valid."),
    N_("Not a number; write the price in yuan, e.g. 20.50."),
    # accounts
    N_("Use %(min)s to %(max)s characters."),
    N_("A valid API token is required: Authorization: Bearer <token>."),
    N_("This needs the role %(roles)s; your account is a %(role)s."),
    N_("An account with this email exists already; sign in instead."),
    N_("Wrong email or password."),
    N_("This sign-in was not started here (state does not match)."),
    # identification codes
    N_("Not a resource identification code: expected <node code>-<8 characters 0-9A-Z>-<check>, e.g. R44-00000A7Z-M."),
    N_("Wrong check character %(check)s: the code is mistyped."),
    # registry
    N_("The construction entity's registered capital must be at least %(amount)s CNY."),
    N_("Not a telecommunications business licence number: expected e.g. B1-20231234 or 粤B2-20090059."),
    N_("Not a phone number."),
    N_("Not a GB/T 4754-2017 section letter (A to T)."),
    N_("Not a well-formed http(s) URL."),
    N_("Write node codes in upper case."),
    N_("Not a %(role)s node code (e.g. %(example)s)."),
    N_("Required for a regional node."),
    N_("A regional node of province %(province)s is %(code)s."),
    N_("Only industry nodes name an industry."),
    N_("A regional node's parent is the national node N0."),
    N_("Required for an industry node."),
    N_("An industry node of section %(section)s starts with %(prefix)s."),
    N_("Only regional nodes name a province."),
    N_("An industry node's parent is a regional node (e.g. R11)."),
    N_('Must be a JWKS: an object with a "keys" array.'),
    N_("Must hold at least one public signing key."),
    N_('Must be a signing key ("use": "sig").'),
    N_("alg must be %(alg)s for this key."),
    N_("kid %(kid)s appears twice."),
    N_("At most %(count)s keys."),
    N_("Must be a JSON object."),
    N_("Holds private key material (%(members)s): send public keys only."),
    N_("Must be an EC P-256 (ES256) or OKP Ed25519 (EdDSA) public key."),
    N_("Needs a kid of 1 to 64 characters."),
    N_("Is not a valid public key (coordinates do not decode to a point of the curve)."),
    N_("Write the registered capital in whole yuan, e.g. 80,000,000."),
    N_("At most %(count)s characters."),
    N_("Not valid JSON: %(problem)s (line %(line)s, column %(column)s)."),
    N_("Enter the access token you were given at submission."),
    N_("This is not the access token of application %(id)s."),
    N_("Province %(province)s has its regional node already (%(code)s, %(status)s)."),
    N_("%(code)s is issued to a node already; node codes are never reused."),
    N_("%(code)s is requested by application %(id)s, still under review."),
    N_(
        "%(code)s was requested by application %(id)s; industry codes are never reused. "
        "Request the next free sequence number."
    ),
    N_("%(code)s is not a regional node in the directory."),
    N_("The parent node %(code)s is %(status)s."),
    N_("Application %(id)s is %(status)s already."),
    N_("Application %(id)s is %(status)s already; its decisions stand."),
    N_("The %(due)s review is due, not the %(stage)s one."),
    N_("The %(stage)s review is for a %(role)s."),
    N_("Application %(id)s was decided meanwhile."),
    N_("%(code)s is %(status)s already."),
    N_("No node %(code)s in the directory."),
    N_("No application %(id)s."),
    N_("No application %(id)s that you may read."),
    N_("The %(due)s review of application %(id)s is for a %(role)s; your account is a %(user_role)s."),
    # the national node's name as the directory gives it (registry/services.py)
    N_("National computing internet service node"),
    # the listing form's own words (listings/forms.py) and the document's rules (listings/schemas.py)
    N_("Required to publish (a draft may leave it empty)."),
    N_("Write a whole number, e.g. 8."),
    N_("Must be a whole number (an integer), without a fraction."),
    N_("Write a whole number, without a fraction."),
    N_("Write a number, e.g. 1.5."),
    N_("This field is not part of a listing."),
    N_("Must be between %(min)s and %(max)s."),
    N_("Must be more than %(min)s and at most %(max)s."),
    N_("Too long: at most %(max)s characters."),
    N_("Too short: at least %(min)s characters."),
    N_("Write %(min)s to %(max)s characters."),
    N_("Choose one of the options."),
    N_("At most two decimals: the smallest amount is one fen (0.01 yuan)."),
    N_("Write a date and time in China Standard Time, e.g. 2026-12-01 08:00."),
    N_("Not an amount; write the price in yuan, e.g. 20.50."),
    N_("Not a date; pick one, e.g. 2026-12-01."),
    N_("Required for %(type)s listings."),
    N_("Does not apply to %(type)s listings; leave it empty."),
    N_("The end of availability must be later than its start."),
    # a bar of the listing page's availability chart (trading/chart.py)
    N_("%(when)s CST: %(free)s free"),
    # the language switcher
    N_("Choose one of the offered languages."),
    # HTTP errors as pages name and describe them (the API's `status` stays as HTTP names it)
    N_("Bad Request"),
    N_("Unauthorized"),
    N_("Forbidden"),
    N_("Not Found"),
    N_("Method Not Allowed"),
    N_("Conflict"),
    N_("Request Entity Too Large"),
    N_("Unprocessable Entity"),
    N_("Too Many Requests"),
    N_("Internal Server Error"),
    N_("Service Unavailable"),
    N_("The browser (or proxy) sent a request that this server could not understand."),
    N_(
        "The server could not verify that you are authorized to access the URL requested. You either supplied "
        "the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the "
        "credentials required."
    ),
    N_(
        "You don't have the permission to access the requested resource. It is either read-protected or not "
        "readable by the server."
    ),
    N_(
        "The requested URL was not found on the server. If you entered the URL manually please check your "
        "spelling and try again."
    ),
    N_("The method is not allowed for the requested URL."),
    N_(
        "A conflict happened while processing the request. The resource might have been modified while the "
        "request was being processed."
    ),
    N_("The data value transmitted exceeds the capacity limit."),
    N_("The request was well-formed but was unable to be followed due to semantic errors."),
    N_("This user has exceeded an allotted request count. Try again later."),
    N_(
        "The server encountered an internal error and was unable to complete your request. Either the server "
        "is overloaded or there is an error in the application."
    ),
    N_(
        "The server is temporarily unable to service your request due to maintenance downtime or capacity "
        "problems. Please try again later."
    ),
    N_("The CSRF token is missing."),
    N_("The CSRF session token is missing."),
    N_("The CSRF token is invalid."),
    N_("The CSRF token has expired."),
    N_("The CSRF tokens do not match."),
    N_("Unknown action %(action)s."),
    N_("Please log in to access this page."),
    # orders across nodes and order groups
    N_(
        "Orders at other nodes are placed for people signed in with the national identity. Sign out, choose "
        "“Sign in with the national identity” and reserve again (API clients: use a token of that account)."
    ),
    N_("The origin node %(node)s cannot be reached: %(problem)s"),
    N_("The origin node %(node)s cannot be looked up now: %(problem)s"),
    N_("The origin node %(node)s is %(status)s: it takes no orders now."),
    N_("The origin node %(node)s could not take the call (%(status)s: %(detail)s)."),
    N_("No node %(node)s in the federation's directory."),
    N_("A listing and window appear twice: add their units into one part."),
    N_("No order group %(id)s."),
    N_(
        "Part %(number)s (%(code)s at %(node)s) could not be held: %(problem)s Nothing is held: the parts already "
        "held were cancelled."
    ),
    # trading: quotes and orders (trading/services.py, schemas.py, views.py)
    N_("%(code)s is sold at its origin node %(origin)s; order it there."),
    N_("%(code)s is %(status)s: it is not for sale."),
    N_("Must be at least 1."),
    N_("The listing has %(count)s units in all."),
    N_("Missing the timezone offset."),
    N_("Must be on a whole UTC hour (…:00:00)."),
    N_("Must be after start."),
    N_("Must not be in the past."),
    N_("The listing is available from %(moment)s."),
    N_("The listing is available until %(moment)s."),
    N_("The listing rents for at least %(hours)s hours."),
    N_("This Idempotency-Key was sent before with another body."),
    N_("This Idempotency-Key is in use by another order."),
    N_("The total is now %(total)s, not %(expected)s."),
    N_("Only %(free)s unit is free from %(start)s to %(end)s."),
    N_("Only %(free)s units are free from %(start)s to %(end)s."),
    N_("No order %(code)s."),
    N_("Only the buyer, the listing's seller or an operator cancels this order."),
    N_("Free cancellation ended %(hours)s hours before the start: the listing's seller or an operator may still "
       "refund it."),
    N_("Say why the confirmed order is cancelled."),
    N_("The order is %(status)s: it cannot be cancelled."),
    N_("Only the listing's seller or an operator records a payment."),
    N_("The order is %(status)s: only a held order is confirmed."),
    # payments
    N_("Only the listing's seller or an operator refunds an order."),
    N_("Say why the money is refunded."),
    N_("Nothing paid is left to refund."),
    N_("A refund is at least ¥0.01."),
    N_("At most %(net)s: what was paid and not yet refunded."),
    N_("The hold lapsed at %(moment)s: the units may be sold again."),
    N_("Only the listing's seller or an operator gives access."),
    N_("Access is given for confirmed orders."),
    N_("Say how to reach the machines or the endpoint."),
    N_("Only the buyer reports an order not delivered."),
    N_("Only a confirmed order can be reported not delivered."),
    N_("Orders hold units from %(start)s to %(end)s: the window must keep covering them."),
    N_("Orders hold %(used)s units from %(start)s to %(end)s: quantity cannot go below %(used)s."),
    N_("Must not contain control characters."),
    N_("Not a cursor from this list."),
    N_("Too long, or holds control characters."),
    N_("Give the bank transfer's reference."),
    # why an order changed, as the system records it (trading/services.py): shown in the reader's language
    N_("placed"),
    N_("the hold lapsed"),
    N_("payment received: %(reference)s"),
    N_("access details given"),
    N_("not delivered"),
    # accounts: changing the password (accounts/schemas.py, services.py; the feedback in passwords.py)
    N_("Choose a password different from the current one."),
    N_("This is not your current password."),
    # monitoring: what stops a node from serving (monitoring/health.py, federation/keys.py, views.py)
    N_("The database does not answer."),
    N_("no signing keys at %(path)s: run `flask --app app keys init`"),
    N_("The federation at a glance is national's page."),
)


_WHERE = re.compile(r"^(?P<where>[\w.\[\]]{1,40}): (?P<message>.+)$", re.DOTALL)
# Where one sentence ends and the next begins, in a message made of several (a password's feedback).
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")


def template_pattern(template: str, **shapes: str) -> re.Pattern:
    """A message template as a regular expression naming its values (a value used twice must be equal).

    A value is any text unless `shapes` gives its own expression (`units=r"\\d+"`)."""
    parts, seen, regex = re.split(r"%\((\w+)\)s", template), set(), ""
    for index, part in enumerate(parts):
        if index % 2 == 0:
            regex += re.escape(part)
        else:
            regex += f"(?P={part})" if part in seen else f"(?P<{part}>{shapes.get(part, '.+?')})"
            seen.add(part)
    return re.compile(f"^{regex}$", re.DOTALL)


@lru_cache(maxsize=1)
def _patterns() -> list[tuple[re.Pattern, str]]:
    """Each template with values as a regular expression naming its values."""
    return [(template_pattern(template), template) for template in TEMPLATES if "%(" in template]


def translate_message(text) -> str:
    """`text` in the request's language when the catalogue knows it, else unchanged."""
    text = str(text)
    if current_locale() == "en":
        # Services write moments in RFC 3339 (UTC); an English page shows them in China Standard Time too.
        return _RFC3339.sub(_local_moment, text) if _for_people() else text
    exact = gettext(text)
    if exact != text:
        return exact
    for pattern, template in _patterns():
        match = pattern.match(text)
        if match:
            values = {name: _value(value.strip("'\"")) for name, value in match.groupdict().items()}
            return gettext(template, **values)
    where = _WHERE.match(text)  # "keys[0]: Must be a JSON object.": where it is, then a known message
    if where:
        return f"{where['where']}: {translate_message(where['message'])}"
    sentences = _SENTENCE_END.split(text)
    if len(sentences) > 1:  # several known sentences in one message, each translated
        translated = [translate_message(sentence) for sentence in sentences]
        return "".join(f"{one} " if one[-1:].isascii() else one for one in translated).strip()
    return text


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def _local_moment(found: re.Match) -> str:
    moment = _moment(found[0])
    try:
        return local_time(moment) if moment is not None else found[0]
    except OverflowError:  # at the edge of the calendar (another node's message may hold one): as written
        return found[0]


def _for_people() -> bool:
    """Whether this request renders a page: English pages, too, show a message's moments in China Standard Time."""
    return has_request_context() and not request.path.startswith(MACHINE_PREFIXES)


def _value(text: str) -> str:
    """A value inside a message: a moment (in China Standard Time), a domain term or a catalogued name
    (`GPU server`) translated, else as it is."""
    moment = _moment(text)
    if moment is not None:
        return local_time(moment)
    translated = term(text)
    return translated if translated != text else gettext(text)


def _moment(text: str) -> datetime | None:
    """An RFC 3339 moment with its offset, as services write them into messages; else None."""
    if not (19 <= len(text) <= 32 and text[4:5] == "-" and "T" in text):
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def translated_summary(error) -> str:
    """A domain error in one line for a flash message, translated: its message, and each field's when several."""
    message = translate_message(error.message)
    if not error.messages or error.field:
        return message
    details = "; ".join(
        f"{name}: {' '.join(translate_message(text) for text in texts)}" for name, texts in error.messages.items()
    )
    return f"{message} ({details})"
