"""The benchmarks' varied statements are what they claim: valid in every shape, broken where asked."""

from __future__ import annotations

import msgspec

from devtools.synthetic.varied import varied_statements
from xapi_ingest.xapi.validator import StatementValidator


def test_varied_statements_are_valid_and_of_many_shapes() -> None:
    validator = StatementValidator()
    statements = list(varied_statements(600, seed=3, invalid_share=0.0))
    assert all(validator.validate(statement) == [] for statement in statements)
    object_types = {s["object"].get("objectType", "Activity") for s in statements}
    assert {"Activity", "Agent", "StatementRef", "SubStatement"} <= object_types
    assert any(s["actor"].get("objectType") == "Group" for s in statements)
    assert {s.get("version") for s in statements} >= {None, "1.0.3", "2.0.0"}
    sizes = sorted(len(msgspec.json.encode(s)) for s in statements)
    assert 1000 <= sizes[len(sizes) // 2] <= 2500  # 1-2 KB, as the benchmark states


def test_each_defect_breaks_a_rule_and_the_seed_decides_everything() -> None:
    validator = StatementValidator()
    broken = list(varied_statements(200, seed=5, invalid_share=1.0))
    assert all(validator.validate(statement) for statement in broken)
    assert list(varied_statements(50, seed=9)) == list(varied_statements(50, seed=9))
    assert list(varied_statements(50, seed=9)) != list(varied_statements(50, seed=10))
