"""Reading pages as a person would: the text, and the error beside a form field."""

import html
import re


def page_text(response) -> str:
    """The page as a reader sees it: no tags, entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def field_error(response, name: str) -> str:
    """The error message shown beside the form field `name` ('' if none)."""
    found = re.findall(rf'id="{name}-error">([^<]*)</p>', response.get_data(as_text=True))
    return html.unescape(" ".join(found))
