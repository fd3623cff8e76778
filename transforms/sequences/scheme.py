"""The coding scheme: which statements are behaviours, how they become codes, how units form.

A scheme is data (YAML), never code: ordered codes per coding dimension, rules that map a
statement to a code (by verb / activity type, or by a code carried in a result or context
extension, set upstream by human raters or a classifier), and how statements group into the
units inside which transitions are counted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from transforms.reporting.i18n import Language, ReportLanguages
from xapi_ingest.common.config import ConfigError, load_yaml_model

SchemeError = ConfigError

Iri = Annotated[str, StringConstraints(pattern=r'^[A-Za-z][A-Za-z0-9+.-]*:[^\s"\'\\]+$')]
CodeName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.+-]{1,40}$")]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class _Labelled(_Strict):
    """A label people read, with its texts in the report languages (``translations: {kk: …, ru: …}``)."""

    label: str
    translations: dict[Language, str] = Field(default_factory=dict)

    def label_in(self, language: Language) -> str:
        return self.translations.get(language, self.label)


class Code(_Labelled):
    code: CodeName
    description: str = ""


class ExtensionRef(_Strict):
    """A result or context extension whose value is the code (or is mapped to it by ``values``)."""

    in_: Literal["result", "context"] = Field(alias="in")
    key: Iri


class Rule(_Strict):
    """Either ``code`` + verbs/activity types, or ``extension`` (optionally limited to verbs/types)."""

    code: CodeName | None = None
    extension: ExtensionRef | None = None
    values: dict[str, CodeName] = Field(default_factory=dict)
    verbs: list[Iri] = Field(default_factory=list)
    activity_types: list[Iri] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_kind(self) -> Rule:
        if self.extension is not None and self.code is not None:
            raise ValueError("a rule has either 'code' or 'extension', not both")
        if self.extension is None:
            if self.code is None:
                raise ValueError("a rule needs 'code' (with verbs/activity_types) or 'extension'")
            if not self.verbs and not self.activity_types:
                raise ValueError(f"rule for code {self.code!r} needs 'verbs' and/or 'activity_types' to match")
            if self.values:
                raise ValueError("'values' only applies to an extension rule")
        return self


class Dimension(_Labelled):
    id: Slug
    codes: list[Code] = Field(min_length=2)
    rules: list[Rule] = Field(min_length=1)
    structural_zeros: Literal["none", "diagonal"] | list[tuple[CodeName, CodeName]] = "none"

    @property
    def code_names(self) -> tuple[str, ...]:
        return tuple(code.code for code in self.codes)

    @model_validator(mode="after")
    def _codes_exist(self) -> Dimension:
        names = self.code_names
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate codes in dimension {self.id!r}: {names}")
        used = [rule.code for rule in self.rules if rule.code] + [v for rule in self.rules for v in rule.values.values()]
        if isinstance(self.structural_zeros, list):
            used += [code for cell in self.structural_zeros for code in cell]
        unknown = sorted(set(used) - set(names))
        if unknown:
            raise ValueError(f"dimension {self.id!r} uses code(s) {unknown} that are not among its codes {list(names)}")
        return self

    @property
    def structural_zero_spec(self) -> str | list[tuple[str, str]] | None:
        return None if self.structural_zeros == "none" else self.structural_zeros


class FieldRef(_Strict):
    """Where a statement's unit (or comparison group) comes from.

    ``grouping``/``parent``/``category`` take the first context activity id (starting with
    ``prefix`` when given); the extension kinds read ``key``.
    """

    from_: Literal["registration", "team", "grouping", "parent", "category", "context_extension", "result_extension"] = \
        Field(alias="from")
    prefix: str | None = None
    key: Iri | None = None

    @model_validator(mode="after")
    def _needs(self) -> FieldRef:
        if self.from_.endswith("extension") and not self.key:
            raise ValueError(f"'from: {self.from_}' needs 'key' (the extension IRI)")
        if self.key and not self.from_.endswith("extension"):
            raise ValueError(f"'key' only applies to extensions, not to 'from: {self.from_}'")
        if self.prefix is not None and self.from_ not in ("grouping", "parent", "category"):
            raise ValueError("'prefix' only applies to grouping, parent or category")
        return self


class Scope(_Strict):
    """Statements that are discussion behaviours; the rest of the lake is out of scope (and counted)."""

    verbs: list[Iri] = Field(default_factory=list)
    activity_types: list[Iri] = Field(default_factory=list)


class Clusters(_Strict):
    """Learner clusters: a generic two-step design (Ward to choose k, then k-means), not Hou's own."""

    enabled: bool = True
    k: int | None = Field(default=None, ge=2)
    k_max: int = Field(default=6, ge=2)
    min_events: int = Field(default=5, ge=1)
    ward_sample: int = Field(default=2000, ge=10, le=20_000)
    seed: int = 20260901
    per_cluster_lsa: bool = True


class Reports(ReportLanguages):
    """The language of each report (the credit policy's ``reports`` keys; English unless the scheme says)."""

    default_language: Language = "en"


class Scheme(_Strict):
    scope: Scope = Field(default_factory=Scope)
    units: FieldRef
    compare: FieldRef | None = None
    uncoded: Literal["gap", "error"] = "gap"
    lag: int = Field(default=1, ge=1, le=10)
    threshold: float = Field(default=1.96, gt=0)
    examples: int = Field(default=20, ge=0, le=1000)
    clusters: Clusters = Field(default_factory=Clusters)
    dimensions: list[Dimension] = Field(min_length=1)
    reports: Reports = Field(default_factory=Reports)

    @field_validator("dimensions")
    @classmethod
    def _unique_ids(cls, dimensions: list[Dimension]) -> list[Dimension]:
        ids = [d.id for d in dimensions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate dimension ids: {ids}")
        return dimensions


def load_scheme(path: Path) -> Scheme:
    return load_yaml_model(Path(path), Scheme)
