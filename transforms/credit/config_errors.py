"""Turn pydantic validation errors into messages that name the file, the line and the field.

Configuration is written by people (the methodological council, the quality monitor), so an
error must point at the exact place to fix, not at a Python traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from xapi_ingest.config import ConfigError  # one error type for every configuration file


def _line_index(node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines[child] = key.start_mark.line + 1
            _line_index(value, child, lines)
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_index(item, (*path, index), lines)


def load_yaml_with_lines(path: Path) -> tuple[Any, dict[tuple[Any, ...], int]]:
    """The YAML document (safe loader only) and the line of every key and list item in it."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from exc
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _line_index(node, (), lines)
    return data, lines


def _nearest_line(loc: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def yaml_errors(path: Path, error: ValidationError, lines: dict[tuple[Any, ...], int], prefix: tuple = ()) -> ConfigError:
    """One line per problem: ``file:line: dotted.field: what is wrong``."""
    messages = []
    for item in error.errors():
        loc = (*prefix, *(part for part in item["loc"] if not str(part).startswith("function-")))
        line = _nearest_line(tuple(loc), lines)
        field = ".".join(str(part) for part in loc) or "(document)"
        messages.append(f"{path}:{line if line is not None else '?'}: {field}: {item['msg']}")
    return ConfigError("\n".join(messages))


def row_errors(path: Path, line: int, error: ValidationError) -> list[str]:
    """Problems of one CSV row, each naming the file, the line and the column."""
    return [
        f"{path}:{line}: {'.'.join(str(part) for part in item['loc']) or '(row)'}: {item['msg']}"
        for item in error.errors()
    ]
