"""Configuration files into validated models, with one error format: ``file:line: field: problem``.

Configuration is written by people (data engineers, the methodological council, the quality
monitor); a mistyped ``page_size: fivehundred`` in a 40-source file needs the line and the
field, not a pydantic traceback. Every loader (sources, credit policy and registry, roster,
coding scheme) reports through :func:`located_errors` or :func:`row_errors`, so messages read
the same whatever the file.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import AfterValidator, BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)
Location = tuple[int | str, ...]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message lists every problem with its line."""


def field_path(location: Sequence[Any]) -> str:
    """``dimensions[1].rules[3].verb``: the one spelling of a field in every message."""
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in location).lstrip(".")


def _user_location(error: Any) -> Location:
    """The error's location without pydantic's internal steps (validator function names)."""
    return tuple(step for step in error["loc"] if not str(step).startswith("function-"))


def line_of(node: yaml.Node | None, location: Location) -> int:
    """1-based line of ``location`` in the YAML tree: a key's own line, or its nearest ancestor's."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for step in location:
        if isinstance(node, yaml.MappingNode):
            pair = next(((key, value) for key, value in node.value if key.value == step), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line + 1, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
            line = node.start_mark.line + 1
        else:
            break
    return line


def read_yaml(path: Path | str) -> tuple[Any, yaml.Node | None]:
    """The document (safe loader only: no tags, no code) and its node tree, for locating errors."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    try:
        return yaml.safe_load(text), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc


def located_errors(path: Path | str, error: ValidationError, tree: yaml.Node | None,
                   within: Location = ()) -> ConfigError:
    """One line per problem, each naming the file, the line and the field; ``within``: where in
    the file the validated part sits (a plugin's section of ``analytics.yaml``)."""
    problems = []
    for item in error.errors(include_url=False):
        location = (*within, *_user_location(item))
        problems.append(f"{path}:{line_of(tree, location)}: {field_path(location) or '(top level)'}: {item['msg']}")
    return ConfigError("\n".join(problems))


def load_yaml_model(path: Path | str, model: type[Model]) -> Model:
    """Parse ``path`` and validate it into ``model``; raises :class:`ConfigError` naming line and field."""
    data, tree = read_yaml(path)
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise located_errors(path, exc, tree) from None


def row_errors(path: Path | str, line: int, error: ValidationError) -> list[str]:
    """Problems of one CSV row, each naming the file, the line and the column."""
    return [f"{path}:{line}: {field_path(_user_location(item)) or '(row)'}: {item['msg']}"
            for item in error.errors(include_url=False)]


def _month_day(value: str) -> str:
    if not re.fullmatch(r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])", value):
        raise ValueError("must be MM-DD, e.g. '09-01'")
    date(2001, int(value[:2]), int(value[3:]))  # rejects 02-30
    return value


MonthDay = Annotated[str, AfterValidator(_month_day)]
"""A day of the year as ``MM-DD`` (e.g. the start of an academic year), checked to exist."""
