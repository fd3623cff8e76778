"""The project as users install it: a built wheel, unpacked into a folder of its own.

Tests put that folder on ``PYTHONPATH`` and run from a directory outside the repository, so
``xapi_ingest`` is imported from the wheel (not the checkout), and nothing can lean on files
that only exist beside the source tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from devtools import REPO_ROOT


def install_wheel(folder: Path) -> Path:
    """Build the wheel (no network: the environment's setuptools) and install it, without its
    dependencies (they are this environment's), into ``folder/site``; returns that folder."""
    return install_package(REPO_ROOT, folder)


def install_package(project: Path, folder: Path) -> Path:
    """:func:`install_wheel` for any project folder (an example plugin under ``examples/``)."""
    dist, site, source = folder / "dist", folder / "site", folder / "source"
    # a copy, so a stale build/ folder of the checkout cannot slip old modules into the wheel
    shutil.copytree(project, source, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv*", "build", "*.egg-info", "demo-output", "airflow-local", "__pycache__", ".*_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "--wheel-dir", str(dist), str(source)], check=True, capture_output=True)
    wheel = next(dist.glob("*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True)
    return site
