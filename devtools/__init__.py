"""Developer tools that stay out of the installed wheel: the demo, synthetic data, local LRSs, Airflow runs.

They drive a checkout (``make demo``, the tests and benchmarks), so they know where it is.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG = REPO_ROOT / "config"
