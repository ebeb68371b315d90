"""Live mode: catch a projection up while writer processes keep appending, and measure staleness.

``coordinator`` runs it (setup, writers, verification, the run folder); ``tailing`` is the
catch-up and tail loop with its lag sampler; ``writer`` is the writer process; ``model``
turns the sampled lag into the run's measurements and sets them against the queueing
model; ``config`` is what a run is asked to do. The package imports nothing itself, so
reading ``config``'s defaults (as ``catchup live --help`` does) costs no more than that.
"""
