"""The message catalogues: every string the code marks for translation has a Kazakh and a Russian text."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from transforms.reporting.i18n import LANGUAGES, SOURCE_LANGUAGE, catalogue_files, translator

ROOT = Path(__file__).resolve().parents[2]
# t("…") and N_("…") are the markers (transforms/reporting/i18n.py)
KEYWORDS = {"t": None, "N_": None}
TRANSLATED = [language for language in LANGUAGES if language != SOURCE_LANGUAGE]


def _marked_messages() -> dict[str, str]:
    """msgid -> where it is used, from the source of every package that writes reports."""
    found: dict[str, str] = {}
    for package in ("transforms", "xapi_ingest"):
        for filename, line, message, _comments, _context in extract_from_dir(
                ROOT / package, method_map=[("**.py", "python")], keywords=KEYWORDS):
            singular = message[0] if isinstance(message, tuple) else message
            if singular:
                found.setdefault(singular, f"{package}/{filename}:{line}")
    return found


def _catalogue(language: str) -> dict[str, object]:
    entries: dict[str, object] = {}
    for path in catalogue_files(language):  # type: ignore[arg-type]
        with open(path, "rb") as handle:
            for message in read_po(handle, locale=language):
                if message.id:
                    singular = message.id[0] if isinstance(message.id, tuple) else message.id
                    assert singular not in entries, f"{path.name}: {singular!r} is also in another catalogue file"
                    assert not message.fuzzy, f"{path.name}: {singular!r} is marked fuzzy"
                    entries[singular] = message.string
    return entries


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_marked_message_is_translated(language: str) -> None:
    catalogue, marked = _catalogue(language), _marked_messages()
    assert len(marked) > 200  # the extraction sees the reports' messages (it cannot pass by finding none)
    untranslated = {message: where for message, where in marked.items()
                    if not catalogue.get(message) or (isinstance(catalogue[message], tuple)
                                                       and not all(catalogue[message]))}
    assert not untranslated, f"{len(untranslated)} message(s) without a {language} text: {untranslated}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_text_keeps_the_placeholders_of_its_message(language: str) -> None:
    for path in catalogue_files(language):  # type: ignore[arg-type]
        with open(path, "rb") as handle:
            for message in read_po(handle, locale=language):
                if not message.id:
                    continue
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                texts = message.string if isinstance(message.string, tuple) else (message.string,)
                wanted = set(_fields(ids[-1]))
                for text in texts:
                    assert set(_fields(text)) == wanted, f"{path.name}: {text!r} does not keep {sorted(wanted)}"


def _fields(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def test_a_missing_translation_is_recorded_not_hidden() -> None:
    russian = translator("ru")
    assert russian("a sentence nobody translated") == "a sentence nobody translated"
    assert russian.missing == {"a sentence nobody translated"}
    assert not translator("en")("a sentence nobody translated") or not translator("en").missing


def test_numbers_and_dates_follow_the_language() -> None:
    assert translator("ru").number(1234.5) == "1\u00a0234,50"
    assert translator("en").number(1234.5) == "1,234.50"
    assert translator("ru").date("2025-09-01") == "1 сентября 2025\u202fг."
    assert "қыркүйек" in translator("kk").date("2025-09-01")
    with pytest.raises(ValueError, match="choose one of kk, ru, en"):
        translator("de")
