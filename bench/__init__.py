"""The catchup harness, in layers; each imports only from itself and the layers above it here.

    units progress prefetch environment      leaves: no other bench module
    results/                                 the run model: Run and its typed summaries, run folders
                                             (schema, folder, atomic), stats, run sets, baselines
    projection_loader replay experiment      the engine: load a projection, replay, measure the
    experiment_config summarize runner       catch-up experiment (cold restarts in a fresh process:
    cold restarted generate state            cold, restarted), summarise, write the run
    live/ compare/ report/ export            uses of results and the engine; they never import one
    pytest_plugin                            another
    demo                                     composes generate, run and report
    cli/  perf/                              the command line (one module per command; the only
                                             place that prints or exits) and the benchmarks

tests/test_architecture.py reads every module's imports and fails on one that points the
other way. Outside bench: stores, projections and generators never import bench.
"""

__version__ = "0.1.0"
