"""One credit run of the small reference cluster, read by the output tests (a run takes seconds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.credit_world import POLICY, ingest, statements, write_config
from transforms.credit.results import CreditRunSummary
from transforms.credit.run import run_credit
from xapi_ingest.lake.store import Lake

LANGUAGES = {"S-17": "kk", "S-42": "ru", "S-99": "en"}  # one institution per report language


@pytest.fixture(scope="session")
def credit_run(tmp_path_factory) -> CreditRunSummary:
    folder: Path = tmp_path_factory.mktemp("credit-run")
    text = POLICY.read_text()
    shipped = "institution_languages: {S-17: kk, C-03: en}"
    assert shipped in text
    policy = folder / "policy.yaml"
    policy.write_text(text.replace(shipped, "institution_languages: {S-17: kk, S-99: en}"))
    ingest(folder / "lake", list(statements().values()))
    registry, roster = write_config(folder)
    return run_credit(Lake(folder / "lake"), policy, registry, roster, folder / "out")
