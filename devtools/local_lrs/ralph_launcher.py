"""Start Ralph's LRS (fs backend) without its reloader; runs with the Python of ``.venv-ralph``.

Ralph 5.1.0's fs backend writes in CREATE mode, so the file-system LRS accepts exactly one
POST and answers 500 to every later one. An LMS posts many times, so the backend's default
write mode is switched to APPEND here; nothing else about Ralph is changed. This file must not
import the project: Ralph and Airflow 3 cannot share an environment.
"""

import argparse

import uvicorn
from ralph.backends.data.base import BaseOperationType
from ralph.backends.lrs.fs import FSLRSBackend

FSLRSBackend.default_operation_type = BaseOperationType.APPEND

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, required=True)
args = parser.parse_args()
uvicorn.run("ralph.api:app", host=args.host, port=args.port, log_level="warning")
