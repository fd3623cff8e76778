"""The cluster's learning network: who learns from whom, across institutions, per academic year.

The cluster model claims its members perform "cross functions": teachers of one institution run
master classes and webinars, or share resources, that teachers of others use. This package turns
the statements that say so (a ``context.instructor`` who is a roster teacher other than the actor)
into edges between institutions and between teachers (by teacher key), per-institution measures,
a diagram and a short page per institution. docs/network.md states the rules and the columns.
"""
