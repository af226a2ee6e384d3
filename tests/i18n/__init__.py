"""Helpers for the language tests: what text a page shows, and which of it is left untranslated."""

import functools
from html.parser import HTMLParser
from pathlib import Path

import polib
from django.conf import settings

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "id" / "LC_MESSAGES" / "django.po"


class _Text(HTMLParser):
    """What a reader meets on a page: text, and the labels read out for controls. Text inside an
    element with its own lang (the switcher's "English") is in that language on purpose, and code
    (an API's schema names, JSON) is not prose in any language."""

    READ_ATTRIBUTES = ("aria-label", "placeholder", "title", "alt")

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.other_language_depth: list[str] = []
        self.stack: list[bool] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.found += [attrs[name] for name in self.READ_ATTRIBUTES if attrs.get(name)]
        if tag in {"br", "input", "meta", "link", "img", "hr"}:
            return
        self.stack.append(("lang" in attrs and tag != "html") or tag in {"code", "pre", "kbd", "samp"})

    def handle_endtag(self, tag):
        if self.stack and tag not in {"br", "input", "meta", "link", "img", "hr"}:
            self.stack.pop()

    def handle_data(self, data):
        if not any(self.stack):
            self.found.append(data)


def texts(html: str) -> set[str]:
    """Every piece of text on the page, trimmed of spaces and of arrows like ‹ and ›."""
    parser = _Text()
    parser.feed(html)
    return {text.strip(" \n\t‹›«»✔✘·|()") for text in parser.found} - {""}


@functools.cache
def english_to_indonesian() -> dict[str, str]:
    """English -> Indonesian, for every message whose Indonesian differs (not Status, Web, Edit...)."""
    return {e.msgid: e.msgstr for e in polib.pofile(str(CATALOGUE))
            if e.msgstr and e.msgstr != e.msgid and "%(" not in e.msgid}


def english_left(html: str, catalogue: dict[str, str]) -> list[str]:
    return sorted(texts(html) & catalogue.keys())


@functools.cache
def english_messages() -> frozenset[str]:
    """Every English message, including those Indonesian writes the same ("Parameter", "Status")."""
    return frozenset(e.msgid for e in polib.pofile(str(CATALOGUE)))


def indonesian_shown(html: str, catalogue: dict[str, str]) -> list[str]:
    return sorted(texts(html) & set(catalogue.values()) - english_messages())
