"""Exact float64 scores of candidate vectors, the same for every place vectors are searched."""

from __future__ import annotations

import numpy as np

EXTRA_CANDIDATES = 16
"""Candidates taken beyond ``top_k`` from a fast (float32) ordering before the exact float64 re-scoring."""


def exact_scores(rows: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    """float64 scores, higher is better: cosine similarity, inner product, or the negated distance.

    Args:
        rows: Candidate vectors, one per row (any float type; scored in float64).
        query: The query vector.
        metric: ``cosine``, ``dot`` or ``euclidean``.
    """
    wide_rows = rows.astype(np.float64)
    wide = query.astype(np.float64)
    if metric == "euclidean":
        distances: np.ndarray = np.sqrt(((wide_rows - wide) ** 2).sum(axis=1))
        return -distances
    scores = wide_rows @ wide
    if metric == "cosine":
        norms = np.linalg.norm(wide_rows, axis=1) * np.linalg.norm(wide)
        scores = np.divide(scores, norms, out=np.zeros_like(scores), where=norms > 0)
    return scores
