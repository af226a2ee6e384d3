"""Text the way a person compares it: search that ignores case and accents, lists in a reader's order.

The one place that knows the databases differ. PostgreSQL gets a `portal_fold(text)` function (unaccent,
NFKD, ICU lower case) and an ICU collation `portal_natural` from portal's migration 0003; SQLite gets the
same two names from Python, registered on every new connection. Queries use only Folded() and natural().
"""

import unicodedata

from django.db.backends.signals import connection_created
from django.db.models import F, Func, TextField
from django.db.models.functions import Collate

FOLD_FUNCTION = "portal_fold"
NATURAL_COLLATION = "portal_natural"

# Letters that are not a base letter plus a combining mark, so NFKD leaves them alone (as unaccent does not).
_LETTERS = str.maketrans({
    "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l", "Ł": "L", "ħ": "h", "Ħ": "H", "ı": "i",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "þ": "th", "Þ": "TH",
})


def fold(text: str | None) -> str | None:
    """Lower case, without accents, in every script: "MÜLLER" → "muller", "Øresund" → "oresund"."""
    if text is None:
        return None
    decomposed = unicodedata.normalize("NFKD", text.translate(_LETTERS))
    # Only the combining diacritics (U+0300–U+036F), as on PostgreSQL: marks that are letters' own
    # parts in other scripts (Devanagari vowel signs, Japanese dakuten) stay.
    return "".join(c for c in decomposed if not "\u0300" <= c <= "\u036f").casefold()


def _natural_key(text: str) -> tuple[str, str]:
    return (fold(text) or "", text)


def _compare_naturally(a: str, b: str) -> int:
    key_a, key_b = _natural_key(a), _natural_key(b)
    return (key_a > key_b) - (key_a < key_b)


class Folded(Func):
    """An expression folded as fold() folds text, in the database."""

    function = FOLD_FUNCTION
    output_field = TextField()


def natural(field: str) -> Collate:
    """A column in the order a reader expects ("Café" before "CV Maju"), for order_by()."""
    return Collate(F(field), NATURAL_COLLATION)


# PostgreSQL: what portal's migration 0003 creates (and removes).
POSTGRESQL_CREATE = f"""
CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE OR REPLACE FUNCTION {FOLD_FUNCTION}(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT lower(regexp_replace(normalize(public.unaccent('public.unaccent', $1), NFKD),
                                      '[\\u0300-\\u036f]', '', 'g') COLLATE "und-x-icu") $$;
CREATE COLLATION IF NOT EXISTS {NATURAL_COLLATION} (provider = icu, locale = 'und');
"""
POSTGRESQL_DROP = f"""
DROP COLLATION IF EXISTS {NATURAL_COLLATION};
DROP FUNCTION IF EXISTS {FOLD_FUNCTION}(text);
"""


def _install_on_sqlite(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(FOLD_FUNCTION, 1, fold, deterministic=True)
        connection.connection.create_collation(NATURAL_COLLATION, _compare_naturally)


connection_created.connect(_install_on_sqlite, dispatch_uid="portal.text.sqlite")
