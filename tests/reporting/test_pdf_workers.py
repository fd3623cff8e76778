"""PDFs written by worker processes are the documents this process would write, each at its own path."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reporting.pdf_text import pdf_text
from transforms.reporting.pages import Heading, Page, Table, Text
from transforms.reporting.pdf import write_pdfs


def _statements(count: int, folder: Path) -> list[tuple[Page, Path]]:
    return [(Page(f"Анықтама {n}", "kk", blocks=[Heading("Қорытынды"), Text(f"Мұғалім T{n:03d}: {n * 1.25} сағ"),
                                                Table(["күні", "сағат"], [[f"2025-0{n % 9 + 1}-01", str(n)]])]),
             folder / f"T{n:03d}.pdf") for n in range(count)]


def test_workers_write_every_document_as_one_process_would(tmp_path: Path) -> None:
    alone, shared = tmp_path / "alone", tmp_path / "shared"
    alone.mkdir(), shared.mkdir()
    write_pdfs(_statements(7, alone), workers=0)
    write_pdfs(_statements(7, shared), workers=2)
    names = sorted(path.name for path in alone.glob("*.pdf"))
    assert names == sorted(path.name for path in shared.glob("*.pdf")) and len(names) == 7
    for name in names:
        text = pdf_text(shared / name)
        assert text == pdf_text(alone / name)
        assert f"Мұғалім {name.removesuffix('.pdf')}" in text  # each page went to its own teacher's file


def test_a_failing_worker_fails_the_batch(tmp_path: Path) -> None:
    documents = _statements(4, tmp_path)
    documents[3] = (documents[3][0], tmp_path / "missing-folder" / "T003.pdf")  # the second worker's share
    with pytest.raises(FileNotFoundError):
        write_pdfs(documents, workers=1)
