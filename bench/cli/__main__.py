"""``python -m bench.cli``: the tests and the perf scripts run catchup this way."""

from bench.cli import main

main()
