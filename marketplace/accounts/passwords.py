"""How easy a new password is to guess, estimated offline (zxcvbn: dictionaries, keyboard walks, dates)."""

from zxcvbn import zxcvbn

# zxcvbn's scale: 0 too guessable ... 4 very unguessable. 3 resists an offline attack on a slow hash.
MIN_SCORE = 3
_ESTIMATED_CHARS = 72  # zxcvbn refuses longer input; the first 72 characters decide well enough


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
