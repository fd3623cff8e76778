"""Collaborative-scenario behaviour sequences: coding, lag-sequential analysis, clusters, reports.

The public entry is :func:`transforms.sequences.run.run_sequences` (what the CLI's ``sequences``
command and the analytics DAG call); its results are in :mod:`transforms.sequences.results`,
its page in :mod:`transforms.sequences.report`, its subcommands in :mod:`transforms.sequences.cli`.
This package imports nothing itself, so the CLI's parsers do not pay for scipy and matplotlib.
"""
