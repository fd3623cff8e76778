"""The policy is documented as data: schema and reference page generated from the models, kept current."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from transforms.credit.policy import Policy, load_policy
from transforms.credit.policy_reference import _keys, policy_schema, reference_markdown
from transforms.credit.reasons import REASONS
from xapi_ingest.common.config import ConfigError

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "config" / "credit" / "policy.yaml"


def test_the_committed_schema_and_reference_page_are_current() -> None:
    """Regenerate with `python -m transforms.credit.policy_reference` when this fails."""
    assert json.loads((ROOT / "docs" / "policy.schema.json").read_text()) == policy_schema()
    assert (ROOT / "docs" / "policy.md").read_text(encoding="utf-8") == reference_markdown()


def test_every_key_has_a_meaning_and_every_reason_code_a_text() -> None:
    keys = list(_keys(Policy))
    assert len(keys) > 60
    assert [path for path, _kind, _default, meaning in keys if not meaning] == []
    page = reference_markdown()
    assert all(f"`{code}`" in page for code in REASONS if code)


def _json_document(path: Path) -> dict:
    return json.loads(json.dumps(yaml.safe_load(path.read_text()), default=str))


def test_the_schema_accepts_the_example_and_refuses_what_the_models_refuse() -> None:
    schema = policy_schema()
    document = _json_document(EXAMPLE)
    jsonschema.validate(document, schema)
    document["categories"]["mooc_course"]["match"]["credit_verbs"] = ["http://adlnet.gov/expapi/verbs/completed"]
    with pytest.raises(jsonschema.ValidationError, match="credit_verbs"):
        jsonschema.validate(document, schema)
    document["categories"]["mooc_course"]["match"].pop("credit_verbs")
    document["reports"]["default_language"] = "de"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, schema)


def test_a_policy_spelled_like_the_reference_sketch_is_told_the_spelling(tmp_path: Path) -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    document["categories"]["webinar_live"]["match"]["credit_verbs"] = document["categories"]["webinar_live"]["match"].pop(
        "verbs")
    document["dedup"] = {"overlap": {"precedence": document["dedup"]["overlap_precedence"]}}
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    with pytest.raises(ConfigError) as caught:
        load_policy(path)
    message = str(caught.value)
    assert "categories.*.match.credit_verbs is the reference sketch's spelling; in this file: categories.*.match.verbs" \
        in message
    assert "dedup.overlap.precedence is the reference sketch's spelling; in this file: dedup.overlap_precedence" in message


def test_the_file_hash_is_not_a_key_of_the_file(tmp_path: Path) -> None:
    document = yaml.safe_load(EXAMPLE.read_text())
    document["sha256"] = "0" * 64
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    with pytest.raises(ConfigError, match="sha256: Extra inputs are not permitted"):
        load_policy(path)
    assert load_policy(EXAMPLE).sha256 != "0" * 64
