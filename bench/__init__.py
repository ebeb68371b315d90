"""The catchup harness: CLI, pipelines, and (with later issues) runner, stats and reports."""

__version__ = "0.1.0"
