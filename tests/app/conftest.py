from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.wheel import install_wheel


@pytest.fixture(scope="session")
def installed_wheel(tmp_path_factory) -> Path:
    """The site folder of the project's wheel (see tests.support.wheel)."""
    return install_wheel(tmp_path_factory.mktemp("wheel"))
