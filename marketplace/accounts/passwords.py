"""How easy a new password is to guess, estimated offline (zxcvbn: dictionaries, keyboard walks, dates)."""

from zxcvbn import zxcvbn

from ..i18n.messages import N_

# zxcvbn's scale: 0 too guessable ... 4 very unguessable. 3 resists an offline attack on a slow hash.
MIN_SCORE = 3
_ESTIMATED_CHARS = 72  # zxcvbn refuses longer input; the first 72 characters decide well enough
# The sentences of the message below and zxcvbn's own feedback (zxcvbn/feedback.py), word for word:
# pages show each sentence in the reader's language (i18n.messages.translate_message).
FEEDBACK = (
    N_("This password is too easy to guess."),
    N_("It follows a pattern that is easy to guess."),
    N_("Add a few uncommon words."),
    N_("Use a few words, avoid common phrases."),
    N_("No need for symbols, digits, or uppercase letters."),
    N_("Add another word or two."),
    N_("Uncommon words are better."),
    N_("Straight rows of keys are easy to guess."),
    N_("Short keyboard patterns are easy to guess."),
    N_("Use a longer keyboard pattern with more turns."),
    N_('Repeats like "aaa" are easy to guess.'),
    N_('Repeats like "abcabcabc" are only slightly harder to guess than "abc".'),
    N_("Avoid repeated words and characters."),
    N_('Sequences like "abc" or "6543" are easy to guess.'),
    N_("Avoid sequences."),
    N_("Recent years are easy to guess."),
    N_("Avoid recent years."),
    N_("Avoid years that are associated with you."),
    N_("Dates are often easy to guess."),
    N_("Avoid dates and years that are associated with you."),
    N_("This is a top-10 common password."),
    N_("This is a top-100 common password."),
    N_("This is a very common password."),
    N_("This is similar to a commonly used password."),
    N_("A word by itself is easy to guess."),
    N_("Names and surnames by themselves are easy to guess."),
    N_("Common names and surnames are easy to guess."),
    N_("Capitalization doesn't help very much."),
    N_("All-uppercase is almost as easy to guess as all-lowercase."),
    N_("Reversed words aren't much harder to guess."),
    N_("Predictable substitutions like '@' instead of 'a' don't help very much."),
)


def weak_password_message(password: str, *, user_inputs: list[str] = ()) -> str | None:
    """Why `password` is too easy to guess, in plain words; None when it is strong enough."""
    inputs = [part for value in user_inputs if value for part in _parts(value)]
    result = zxcvbn(password[:_ESTIMATED_CHARS], user_inputs=inputs)
    if result["score"] >= MIN_SCORE:
        return None
    warning = result["feedback"]["warning"] or "It follows a pattern that is easy to guess."
    hints = " ".join(result["feedback"]["suggestions"]) or "Add a few uncommon words."
    return f"This password is too easy to guess. {warning} {hints}".strip()


def _parts(value: str) -> list[str]:
    """A name or an email and its pieces: a password made of one's own name is no secret."""
    local = value.split("@")[0]
    return [value, local, *local.replace(".", " ").replace("_", " ").replace("-", " ").split()]
