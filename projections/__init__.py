"""Projections (read models): not built yet.

The projection interface (``Projection``, ``EventProjection``) and the built-in read
models arrive with the catch-up runner. This package exists now only so the layout and
the direction of imports (projections -> stores.schema) are fixed from the start; it
exports nothing.
"""
