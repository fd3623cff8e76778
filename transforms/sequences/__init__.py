"""Collaborative-scenario behaviour sequences: coding, lag-sequential analysis, clusters, reports.

``run_sequences`` is what the CLI's ``sequences`` command and the analytics DAG call. It is
imported lazily so that the CLI (which imports this package for its parsers) does not pay for
scipy and matplotlib on every command.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from transforms.sequences.pipeline import SequencesSummary, run_sequences

__all__ = ["SequencesSummary", "run_sequences"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from transforms.sequences import pipeline

        return getattr(pipeline, name)
    raise AttributeError(name)
