"""``catchup advise``: the snapshot interval to run in production, from catch-up runs.

``fit`` reads runs (through bench.results only) into a ``Fit``: the catch-up line
c(T) = L + T/μ_tail by least squares over every measured sample, the full replay rate μ,
one snapshot's cost δ and bytes b. ``model`` holds the formulas, pure functions of a
fitted line and the user's ``AdviceInputs``; ``recommend`` turns them into an ``Advice``
(an interval or none, the constraint that binds, the reasons, a candidate table);
``render`` writes it as a table, JSON or Markdown; ``check`` sets a verifying run's
measurements against the advice's predictions. The symbols and the limits of the model
are in docs/advise.md.
"""
