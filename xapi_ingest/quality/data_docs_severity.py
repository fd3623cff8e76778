"""Each expectation's severity, shown in the Data Docs.

GX records an expectation's ``severity`` but its Data Docs render it nowhere, and GX 1.24's own
"meta properties" columns cannot help: they inject a kwarg that every expectation model rejects,
so the whole validation page fails to render. Two small hooks instead, both through GX's own
extension points:

* validation pages use :class:`SeverityResultsTable` (GX's table plus a Severity column),
  configured by :data:`SITE_SECTIONS` in the site's ``site_section_builders``;
* the suite page shows each expectation's notes, so :func:`with_severity_note` leads them with
  the severity.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from great_expectations.render.components import RenderedStringTemplateContent
from great_expectations.render.renderer.content_block import ValidationResultsTableContentBlockRenderer

SEVERITY_HEADER = "Severity"
_BADGES = {"critical": "badge-danger", "warning": "badge-warning"}


class SeverityResultsTable(ValidationResultsTableContentBlockRenderer):
    """GX's validation results table with a Severity column after Status, Expectation, Observed Value."""

    @classmethod
    def _process_content_block(cls, content_block: Any, has_failed_evr: Any, render_object: Any = None) -> None:
        super()._process_content_block(content_block, has_failed_evr, render_object)
        content_block.header_row.append(SEVERITY_HEADER)
        content_block.header_row_options[SEVERITY_HEADER] = {"sortable": True}

    @classmethod
    def _get_content_block_fn(cls, expectation_type: str, expectation_config: Any = None) -> Callable[..., Any]:
        rows_of = super()._get_content_block_fn(expectation_type, expectation_config)
        assert rows_of is not None  # GX's table renderer always returns its row generator

        def rows_with_severity(*args: Any, result: Any = None, **kwargs: Any) -> list[list[Any]]:
            return [[*row, _badge(result)] for row in rows_of(*args, result=result, **kwargs)]

        return rows_with_severity


def _badge(result: Any) -> RenderedStringTemplateContent:
    config = getattr(result, "expectation_config", None)
    severity = config.severity.value if config is not None else "unknown"
    return RenderedStringTemplateContent(
        content_block_type="string_template",
        string_template={
            "template": "$severity",
            "params": {"severity": severity},
            "styling": {"params": {"severity": {"classes": ["badge", _BADGES.get(severity, "badge-secondary")]}}},
        },
    )


SITE_SECTIONS = {"validations": {"renderer": {
    "class_name": "ValidationResultsPageRenderer",
    "column_section_renderer": {
        "class_name": "ValidationResultsColumnSectionRenderer",
        "table_renderer": {"module_name": __name__, "class_name": SeverityResultsTable.__name__},
    },
}}}


def with_severity_note(entry: dict[str, Any]) -> dict[str, Any]:
    """A copy of a suite entry whose notes (rendered on the suite page) start with its severity."""
    notes = entry.get("notes")
    rest = [notes] if isinstance(notes, str) else list(notes or [])
    return {**entry, "notes": [f"**Severity: {entry['severity']}**", *rest]}
