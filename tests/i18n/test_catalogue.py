"""The Indonesian catalogue is complete, and the compiled .mo that ships is the .po as written.

The completeness test runs Django's makemessages (GNU gettext's xgettext and msgmerge) over a copy
of the project, exactly as `make messages` does, and fails on every string of the templates and code
that the catalogue lacks, leaves untranslated, or has only as a fuzzy guess. Without gettext it
skips, except under CI=true, where it fails (.ci/run installs Debian's gettext package).
"""

import os
import shutil
import subprocess
import sys

import polib
import pytest
from django.conf import settings

from tests.browser.conftest import in_ci

from . import CATALOGUE

COMPILED = CATALOGUE.with_suffix(".mo")
NOT_COPIED = shutil.ignore_patterns(
    ".*", "__pycache__", "*.pyc", "*.egg-info", "db.sqlite3", "staticfiles", "node_modules")


def needs_gettext() -> None:
    missing = [tool for tool in ("xgettext", "msgmerge") if shutil.which(tool) is None]
    if missing:
        reason = f"GNU gettext's {' and '.join(missing)} not found (Debian: apt-get install gettext)"
        if in_ci():
            pytest.fail(f"{reason}; under CI=true the missing-translation test must run", pytrace=False)
        pytest.skip(reason)


def key(entry: polib.POEntry) -> tuple[str | None, str]:
    return entry.msgctxt, entry.msgid


def label(entry: polib.POEntry) -> str:
    where = ", ".join(sorted({path for path, _line in entry.occurrences}))
    return f"{entry.msgid!r} ({where})" if where else repr(entry.msgid)


def translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> polib.POFile:
    """The catalogue as `make messages` would leave it for today's code: a fresh makemessages run
    merged into a copy of ours (new strings come in empty, changed ones fuzzy)."""
    needs_gettext()
    copy = tmp_path_factory.mktemp("project") / "project"
    shutil.copytree(settings.BASE_DIR, copy, ignore=NOT_COPIED)
    environment = {**os.environ, "DJANGO_DEBUG": "true", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "id", "--no-obsolete"],
        cwd=copy, env=environment, check=True, capture_output=True, text=True,
    )
    return polib.pofile(str(copy / CATALOGUE.relative_to(settings.BASE_DIR)))


def test_every_string_of_the_templates_and_code_is_translated(extracted):
    ours = {key(entry): entry for entry in polib.pofile(str(CATALOGUE))}

    missing = [label(e) for e in extracted if key(e) not in ours]
    untranslated = [label(e) for e in extracted if key(e) in ours and not translated(e)]
    fuzzy = [label(e) for e in extracted if "fuzzy" in e.flags]

    assert extracted.percent_translated() > 0, "makemessages extracted nothing: is the copy complete?"
    assert not missing, "Not in locale/id/LC_MESSAGES/django.po (run `make messages`):\n" + "\n".join(missing)
    assert not untranslated, "Not translated into Indonesian:\n" + "\n".join(untranslated)
    assert not fuzzy, "Fuzzy (check the translation, then remove the flag):\n" + "\n".join(fuzzy)


def test_the_catalogue_keeps_no_string_the_code_no_longer_uses(extracted):
    used = {key(entry) for entry in extracted}
    stale = [label(e) for e in polib.pofile(str(CATALOGUE)) if key(e) not in used and not e.obsolete]

    assert not stale, "In the catalogue but no longer in the code (run `make messages`):\n" + "\n".join(stale)


def test_the_committed_mo_is_the_po_compiled():
    """`make run` uses the committed .mo without gettext installed: it must say what the .po says."""
    def messages(catalogue: polib._BaseFile) -> dict:
        return {key(e): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
                for e in catalogue if e.msgid and translated(e) and "fuzzy" not in e.flags}

    written, compiled = messages(polib.pofile(str(CATALOGUE))), messages(polib.mofile(str(COMPILED)))

    assert written, "the catalogue is empty"
    changed = sorted(repr(msgid) for msgid in written.keys() | compiled.keys()
                     if written.get(msgid) != compiled.get(msgid))
    assert not changed, "django.mo differs from django.po (run `make messages`):\n" + "\n".join(changed)


def test_the_catalogue_is_indonesian_with_one_plural_form():
    catalogue = polib.pofile(str(CATALOGUE))

    assert catalogue.metadata["Language"] == "id"
    assert catalogue.metadata["Plural-Forms"] == "nplurals=1; plural=0;"
    assert not catalogue.metadata_is_fuzzy
