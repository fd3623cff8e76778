"""Credit's view of the roster: the model and loader live in :mod:`xapi_ingest.common.roster`,
below every layer, because publishing the analyst zone resolves teachers with the same roster."""

from xapi_ingest.common.roster import RosterRow, ifi_variants, load_roster

__all__ = ["RosterRow", "ifi_variants", "load_roster"]
