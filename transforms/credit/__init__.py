"""Informal-learning credit: policy, registry and roster turned into an auditable ledger and summaries.

The public entry is :func:`transforms.credit.run.run_credit`; its result is in
:mod:`transforms.credit.results`, its reports in :mod:`transforms.credit.report`, its subcommand
in :mod:`transforms.credit.cli`. This package imports nothing itself, so the CLI stays fast.
"""
