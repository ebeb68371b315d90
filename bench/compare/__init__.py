"""The regression gate: is the current run slower than the baseline, beyond noise?

``judge`` pairs runs and gives each measurement a verdict, ``stats`` compares two sets of
raw repeats (Mann-Whitney U, ratio of medians with a bootstrap CI), ``inputs`` resolves
what the user named (a run, a folder of runs, ``baseline:NAME``), ``render`` writes the
result as a table, JSON or Markdown.
"""
