"""Deterministic ledger synthesis: same seed and parameters, identical events."""

from generators.ledger import LedgerGenerator, generate
from generators.params import LedgerParams, OperationMix, dataset_meta, fingerprint

__all__ = ["LedgerGenerator", "LedgerParams", "OperationMix", "dataset_meta", "fingerprint", "generate"]
