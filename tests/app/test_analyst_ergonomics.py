"""What an analyst reads before a query: `schema` shows every column a reader gets (partition
columns with their transform), and `sql --help` names every view the query can use."""

from __future__ import annotations

import pytest

from xapi_ingest.app.cli.main import build_parser, main
from xapi_ingest.lake.query import connect
from xapi_ingest.lake.schema import TABLES
from xapi_ingest.lake.store import Lake


@pytest.mark.parametrize("table", sorted(TABLES))
def test_schema_lists_every_column_with_the_partition_transforms(table: str, capsys) -> None:
    assert main(["schema", "--table", table]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert list(lines) == TABLES[table].schema.names
    for column, transform, name in TABLES[table].partition_fields():
        assert f"{name} = {transform}({column})" in lines[column]
    if table == "statements":
        assert "month(stored_date)" in lines["stored_date"] and "date32" in lines["stored_date"]
        assert "identity(source)" in lines["source"]


@pytest.mark.parametrize("zone", ["analyst", "restricted"])
def test_sql_help_names_every_view_of_the_zone(zone: str, tmp_path, capsys) -> None:
    with connect(Lake(tmp_path / "lake"), zone) as con:
        views = {name for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
                 if not name.startswith("_")}
    assert {"statements", "effective_statements", "voided_ids"} <= views
    with pytest.raises(SystemExit):
        build_parser().parse_args(["sql", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for view in views:
        assert f"'{view}'" in text, view
