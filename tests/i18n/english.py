"""Finding English left on a page meant to be Chinese."""

import html
import re

# Words a Chinese page keeps in Latin letters: units, standards, protocol terms and proper names.
ALLOWED = {
    "vCPU", "Gbps", "OpenAPI", "English", "Bearer", "Authorization", "token", "kid", "cursor", "http", "https",
    "Qwen", "app",
}  # fmt: skip
# Names of standards and protocols, written as their authors write them.
PROPER_NAMES = ("JSON Web Key Set", "Ed25519", "EdDSA", "http(s)")
_ATTRIBUTES = re.compile(r'\b(?:placeholder|title|aria-label|alt)="([^"]*)"')
_URL_OR_EMAIL = re.compile(r"https?://\S+|\S+@\S+|/[\w/.{}-]+")
_WORD = re.compile(r"[A-Za-z]*[a-z][A-Za-z]*")


def readable_text(body: str) -> str:
    """What a reader sees or hears of a page: its text and the attributes that are read out."""
    kept = re.sub(r"<(code|textarea|script|style)\b.*?</\1>", " ", body, flags=re.S)
    attributes = " ".join(_ATTRIBUTES.findall(kept))
    text = re.sub(r"<[^>]+>", " ", kept)
    return " ".join(html.unescape(f"{text} {attributes}").split())


def english_words(body: str, allowed: set[str] = frozenset()) -> list[str]:
    """Words with lower-case Latin letters that are not known units or names (codes are upper-case)."""
    text = _URL_OR_EMAIL.sub(" ", readable_text(body))
    for name in PROPER_NAMES:
        text = text.replace(name, " ")
    return [word for word in _WORD.findall(text) if word not in ALLOWED and word not in allowed]
