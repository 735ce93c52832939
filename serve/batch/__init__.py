"""Re-scoring at scale: the Ray Data batch job (``feedguard batch score``); see :mod:`serve.batch.job`."""
