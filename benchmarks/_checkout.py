"""Benchmarks run from a checkout: its root goes on ``sys.path`` for ``devtools/`` and ``tests/``,
which stay out of the installed wheel. Imported for that effect, before them."""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
