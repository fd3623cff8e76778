"""The policy documented as data: its JSON Schema and a reference page, generated from the models.

The models in :mod:`transforms.credit.policy` are the one description of the policy file: their
attribute docstrings are the keys' meanings. ``python -m transforms.credit.policy_reference``
rewrites ``docs/policy.schema.json`` and ``docs/policy.md``; a test fails when either is stale.
Editors that read JSON Schema (VS Code's YAML extension) then complete and check policy files.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from transforms.credit.labels import STATUSES
from transforms.credit.policy import SKETCH_SPELLINGS, Policy
from transforms.credit.reasons import LATE_ARRIVAL, LATE_ARRIVAL_TEXT, REASONS
from transforms.reporting.i18n import LANGUAGES, translator


def policy_schema() -> dict[str, typing.Any]:
    schema = Policy.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "xapi-pipeline credit policy"
    return schema


def _type_name(annotation: typing.Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{value}`" for value in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(arg) for arg in args if arg is not type(None))
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if isinstance(value, BaseModel) or value is PydanticUndefined:
        return ""
    return f"`{json.dumps(value, default=str, ensure_ascii=False)}`"


def _nested(annotation: typing.Any) -> tuple[str, type[BaseModel]] | None:
    """(path suffix, model) when a key holds a section, a list of sections or a map of sections."""
    for arg in (annotation, *typing.get_args(annotation)):
        origin, args = typing.get_origin(arg), typing.get_args(arg)
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return "", arg
        if origin is list and isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return "[]", args[0]
        if origin is dict and isinstance(args[1], type) and issubclass(args[1], BaseModel):
            return ".<name>", args[1]
    return None


def _keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str, str, str]]:
    """(key path, type, default, meaning) of every key, depth first in file order."""
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        meaning = " ".join((field.description or "").split()).replace("``", "`").replace("|", "\\|")
        yield path, _type_name(field.annotation), _default(field), meaning
        nested = _nested(field.annotation)
        if nested is not None:
            suffix, section = nested
            yield from _keys(section, f"{path}{suffix}.")


def reference_markdown() -> str:
    lines = [
        "# The credit policy file",
        "",
        "Generated from `transforms/credit/policy.py` by `python -m transforms.credit.policy_reference`; do not edit.",
        "The JSON Schema is [`policy.schema.json`](policy.schema.json) (point your editor's YAML support at it).",
        "An example is `config/credit/policy.yaml`; how credit is computed is in [credit.md](credit.md).",
        "",
        "## Keys",
        "",
        "| key | type | default | meaning |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{path}` | {kind} | {default} | {meaning} |" for path, kind, default, meaning in _keys(Policy)]
    lines += ["", "## Coming from the reference model's sketch", "",
              "The sketch in the reference credit model uses some other spellings; here they are:", "",
              "| sketch | this file |", "|---|---|"]
    lines += [f"| `{old}` | {new} |" for old, new in SKETCH_SPELLINGS.items()]
    translators = {language: translator(language) for language in LANGUAGES}
    header = " | ".join(f"text ({language})" for language in LANGUAGES)
    lines += ["", "## Reason codes", "",
              "Every ledger row's `reason_codes` starts with the reason that decided its status; reports show the "
              "text in the institution's language (fields in braces are filled from the row).", "",
              f"| code | status | {header} |", "|---|---|" + "---|" * len(LANGUAGES)]
    for code, reason in REASONS.items():
        texts = " | ".join(translators[language](reason.text) for language in LANGUAGES)
        lines.append(f"| `{code or '(none)'}` | {translators['en'](STATUSES[reason.status])} | {texts} |")
    late = " | ".join(translators[language](LATE_ARRIVAL_TEXT) for language in LANGUAGES)
    lines.append(f"| `{LATE_ARRIVAL}` | (a flag; the row keeps its status) | {late} |")
    return "\n".join(lines) + "\n"


def write_reference(docs: Path) -> None:
    (docs / "policy.schema.json").write_text(json.dumps(policy_schema(), indent=2, ensure_ascii=False) + "\n",
                                             encoding="utf-8")
    (docs / "policy.md").write_text(reference_markdown(), encoding="utf-8")


if __name__ == "__main__":
    write_reference(Path(__file__).resolve().parents[2] / "docs")
