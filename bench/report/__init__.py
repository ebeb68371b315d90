"""Reports of runs: the question, the answer in brief, setup, results, figures, method.

``write`` puts a report on disk (HTML, self-contained, and Markdown) with its figures;
``content`` and ``tables`` decide what it says, ``live`` what it says of live runs,
``words`` the phrases they share; ``document`` is the report as plain blocks, which
``html`` and ``markdown`` render; ``figures``, ``staleness`` and ``figure_axes`` draw.
"""
