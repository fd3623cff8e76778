"""The demo cluster: what each platform's LRS receives, faults included.

Three institutions and their teachers (``devtools.synthetic.credit``: MOOC courses, webinars,
master classes attended and delivered, videos, digital resources, cross-platform duplicates,
voids), Moodle forum discussions of collaborative scenarios coded by raters
(``devtools.synthetic.sequences``), and the faults of real producers: statements our
validator rejects but a lax LRS stores, among them Open edX's zero-weight scores, which its
source tolerates (the emitter adds re-sent batches). Statements are grouped by the platform LRS that would
store them (the ``authority`` the generator assigned), so each LRS is a source of its own.
"""

from __future__ import annotations

import copy
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from devtools.synthetic.credit import MOODLE, Cluster, generate_cluster
from devtools.synthetic.sequences import Teacher, collaborative_discussions

DISCUSSIONS_LRS = "lrs-moodle-prod"  # Moodle forums post to the Moodle LRS
TOLERATED_FOR = {"lrs-openedx": ["score.min-max"]}  # Open edX scores ungraded problems with min == max == 0


@dataclass
class DemoCluster:
    cluster: Cluster
    by_lrs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faulty: int = 0  # statements with a producer fault (quarantined, or tolerated where configured)

    @property
    def total(self) -> int:
        return sum(map(len, self.by_lrs.values()))


def _broken(statement: dict[str, Any], number: int) -> dict[str, Any]:
    """A copy with one fault a real producer sends and a lax LRS stores.

    It gets its own deterministic id, as plugins that set ids do, so a second demo run re-sends
    the same statement rather than a new one.
    """
    broken = {key: copy.deepcopy(value) for key, value in statement.items() if key != "authority"}
    broken["id"] = str(uuid.uuid5(uuid.UUID(statement["id"]), f"fault-{number}"))
    match number % 4:
        case 0:
            broken["result"] = {"score": {"scaled": 1.7}}  # a percentage sent as a scaled score
        case 1:
            broken["result"] = {"score": {"raw": 120, "min": 0, "max": 100}}  # bonus points above the maximum
        case 2:
            broken["verb"] = {"id": "completed", "display": {"en-US": "completed"}}  # a verb that is not an IRI
        case _:
            broken["result"] = {"score": {"raw": 0, "min": 0, "max": 0}}  # a zero-weight problem; tolerated for Open edX
    return broken


def build(teachers: int = 150, discussions: int = 40, seed: int = 7) -> DemoCluster:
    cluster = generate_cluster(teachers=teachers, seed=seed)
    demo = DemoCluster(cluster)
    by_lrs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for statement in cluster.statements:
        by_lrs[statement["authority"]["account"]["name"]].append(statement)
    forum_members = [Teacher(MOODLE, str(1000 + t)) for t in range(teachers)]  # the roster's Moodle accounts
    by_lrs[DISCUSSIONS_LRS].extend(collaborative_discussions(discussions, forum_members, platform_home=MOODLE, seed=seed))
    for statements in by_lrs.values():  # every platform gets each kind of fault at least once
        faults = [_broken(statements[i * 37 % len(statements)], i) for i in range(max(4, len(statements) // 200))]
        statements.extend(faults)
        demo.faulty += len(faults)
    demo.by_lrs = dict(by_lrs)
    return demo

