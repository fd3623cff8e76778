"""Source kind ``lrs``: an xAPI statements API, pulled incrementally (see :mod:`xapi_ingest.pull.puller`)."""

from __future__ import annotations

from xapi_ingest.lake.store import Lake
from xapi_ingest.pull.client import LRSClient, LRSError
from xapi_ingest.pull.kinds import Progress, SourceKind
from xapi_ingest.pull.puller import pull
from xapi_ingest.pull.sources import MissingCredentialsError, Source, resolve_credentials
from xapi_ingest.pull.summary import Budget, PullSummary


def pull_lrs(source: Source, lake: Lake, budget: Budget, progress: Progress | None) -> PullSummary:
    with LRSClient(source, resolve_credentials(source)) as client:
        return pull(source, lake, client, budget, progress)


kind = SourceKind(name="lrs", description="an xAPI LRS's statements API, pulled from its watermark",
                  config=Source, pull=pull_lrs, expected_errors=(LRSError, MissingCredentialsError))
