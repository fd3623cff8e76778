"""Load YAML configuration into pydantic models, with errors that point at file, line and field.

A data engineer who mistypes ``page_size: fivehundred`` in a 40-source file needs the line, not
a pydantic traceback; so every validation error is located in the YAML node tree.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message lists every problem with its line."""


def _line_of(node: yaml.Node | None, location: tuple[int | str, ...]) -> int | None:
    """1-based line of the deepest YAML node on ``location`` (the parent's line if a key is missing)."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for step in location:
        if isinstance(node, yaml.MappingNode):
            child = next((value for key, value in node.value if key.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            child = node.value[step]
        else:
            child = None
        if child is None:
            break
        node, line = child, child.start_mark.line + 1
    return line


def _field_name(location: tuple[int | str, ...]) -> str:
    return "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in location).lstrip(".") or "(top level)"


def load_yaml_model(path: Path | str, model: type[Model]) -> Model:
    """Parse ``path`` and validate it into ``model``; raises :class:`ConfigError` naming line and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror}") from exc
    try:
        tree = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            location = tuple(step for step in error["loc"] if not str(step).startswith("function-"))
            line = _line_of(tree, location)
            problems.append(f"{path}:{line or 1}: {_field_name(location)}: {error['msg']}")
        raise ConfigError("\n".join(problems)) from None
