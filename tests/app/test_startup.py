"""Each command imports only what it uses, so `--help` and small commands start at once.

Checked in a fresh interpreter, as a user's shell starts it: the modules a command leaves in
``sys.modules`` are what it paid for before doing any work.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# Seconds of imports between them; none belongs to a command that does not read the lake.
HEAVY = ("pyarrow", "pandas", "numpy", "scipy", "great_expectations", "pyiceberg", "sqlalchemy", "duckdb",
         "matplotlib", "pydantic")
_PROBE = """
import json, sys
from xapi_ingest.app.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def loaded_modules(*argv: str) -> tuple[int, set[str]]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *argv], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    return result["code"], {name.split(".")[0] for name in result["modules"]} | set(result["modules"])


@pytest.mark.parametrize("argv", [["--help"], ["ingest-file", "--help"], ["rules"], ["sample", "--count", "3"]])
def test_commands_without_a_lake_import_no_heavy_library(argv: list[str], tmp_path: Path) -> None:
    if argv[0] == "sample":
        argv = [*argv, "--out", str(tmp_path / "s.ndjson")]
    code, modules = loaded_modules(*argv)
    assert code == 0
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_validate_imports_only_the_decoder_and_validator(tmp_path: Path) -> None:
    sample = tmp_path / "s.ndjson"
    assert loaded_modules("sample", "--count", "20", "--out", str(sample))[0] == 0
    code, modules = loaded_modules("validate", str(sample))
    assert code == 0
    assert modules.isdisjoint(HEAVY), sorted(modules & set(HEAVY))


def test_ingest_without_publishing_leaves_analytics_and_quality_unimported(tmp_path: Path) -> None:
    sample = tmp_path / "s.ndjson"
    loaded_modules("sample", "--count", "20", "--out", str(sample))
    code, modules = loaded_modules("ingest-file", str(sample), "--source", "a", "--lake", str(tmp_path / "lake"),
                                   "--no-publish")
    assert code == 0
    unused = {"scipy", "great_expectations", "duckdb", "matplotlib", "transforms.credit.run", "transforms.sequences.run"}
    assert modules.isdisjoint(unused), sorted(modules & unused)
