"""Reports in the cluster's languages (Kazakh, Russian, English) from gettext message catalogues.

Source strings are English and are the message ids; ``locales/<lang>/LC_MESSAGES/*.po`` hold the
Kazakh and Russian texts, one file per report area so that each area's owner edits one file.
The ``.po`` files are compiled in memory when first used (no build step, nothing generated is
committed). Every lookup that finds no translation is remembered in ``Translator.missing``: the
tests render each report in each language and require that set to be empty.

Placeholders are ``str.format`` fields (``t("Teachers: {count}", count=3)``); numbers and dates
are formatted by Babel with the language's conventions (``1 234,5`` in Kazakh and Russian).
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args

import pandas as pd
from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from pydantic import BaseModel, ConfigDict

Language = Literal["kk", "ru", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
SOURCE_LANGUAGE: Language = "en"
LOCALES_DIR = Path(__file__).parent / "locales"


class ReportLanguages(BaseModel):
    """The language of each institution's reports."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    default_language: Language = "ru"
    """``kk``, ``ru`` or ``en``: for institutions not listed below."""
    institution_languages: dict[str, Language] = {}
    """``institution_id`` → the language its reports are written in."""

    def language_of(self, institution_id: str) -> Language:
        return self.institution_languages.get(institution_id, self.default_language)


def N_(message: str) -> str:  # the gettext convention, known to extraction tools
    """Marks a string for translation where it is defined (a table of labels); translated where shown."""
    return message


class Translator:
    """One language's messages and formats; call it like gettext: ``t("Hours by category")``."""

    def __init__(self, language: Language, catalogue: gettext.NullTranslations) -> None:
        self.language = language
        self.locale = Locale.parse(language)
        self._catalogue = catalogue
        self.missing: set[str] = set()

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._catalogue.gettext(message)
        if text == message and self.language != SOURCE_LANGUAGE:
            self.missing.add(message)
        return text.format(**values) if values else text

    def number(self, value: float | Decimal | None, digits: int = 2) -> str:
        """A decimal number with exactly ``digits`` decimals; missing values are an empty string."""
        if value is None or pd.isna(value):
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def integer(self, value: int | float | None) -> str:
        return self.number(value, digits=0)

    def percent(self, value: float | None, digits: int = 1) -> str:
        """``value`` is already a percentage (42.5 → "42,5 %" in Russian)."""
        return "" if value is None or pd.isna(value) else f"{self.number(value, digits)}\u00a0%"

    def date(self, value: date | datetime | pd.Timestamp | str | None) -> str:
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        moment = pd.Timestamp(value)
        return format_date(moment.date(), format="long", locale=self.locale)

    def datetime(self, value: datetime | pd.Timestamp | str | None) -> str:
        """A moment in UTC, said so (reports are read in one time zone, the data are kept in UTC)."""
        if value is None or (not isinstance(value, str) and pd.isna(value)):
            return ""
        moment = pd.Timestamp(value)
        moment = moment.tz_convert("UTC") if moment.tzinfo else moment.tz_localize("UTC")
        return format_datetime(moment.to_pydatetime(), format="medium", tzinfo=None, locale=self.locale) + " UTC"

    def labels(self, names: Iterable[str], table: dict[str, str]) -> list[str]:
        """Translated labels of code names (columns, statuses, …): ``table`` maps a name to its English label."""
        return [self(table[name]) if name in table else name for name in names]


def format_each(values: pd.Series, formatter: Callable[[Any], str], missing: str = "") -> pd.Series:
    """``formatter`` applied once per distinct value of a column (Babel is slow per call, columns repeat)."""
    texts = {value: formatter(value) for value in values.dropna().unique()}
    return values.map(texts).astype(object).where(values.notna(), missing)


def catalogue_files(language: Language) -> list[Path]:
    return sorted((LOCALES_DIR / language / "LC_MESSAGES").glob("*.po"))


@cache
def _compiled(language: Language) -> gettext.NullTranslations:
    """Every ``.po`` of a language merged into one catalogue (ids are unique across files: tested)."""
    merged: gettext.NullTranslations = gettext.NullTranslations()
    files = catalogue_files(language)
    if not files and language != SOURCE_LANGUAGE:  # a package built without its catalogues: say so, not English
        raise RuntimeError(f"no {language} message catalogues in {LOCALES_DIR / language / 'LC_MESSAGES'}: "
                           "the package was installed without its package data")
    for path in files:
        with open(path, "rb") as handle:
            catalogue = read_po(handle, locale=language)
        buffer = io.BytesIO()
        write_mo(buffer, catalogue, use_fuzzy=False)
        buffer.seek(0)
        part = gettext.GNUTranslations(buffer)
        part.add_fallback(merged)
        merged = part
    return merged


def translator(language: str) -> Translator:
    """A fresh translator (its own ``missing`` set) for one of :data:`LANGUAGES`."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown report language {language!r}: choose one of {', '.join(LANGUAGES)}")
    return Translator(language, _compiled(language))
