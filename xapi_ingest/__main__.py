"""``python -m xapi_ingest``: the same as the ``xapi-pipeline`` command."""

import sys

from xapi_ingest.app.cli.main import main

sys.exit(main())
