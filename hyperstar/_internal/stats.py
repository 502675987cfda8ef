"""Rank statistics shared by the analysis, the recommender and the adaptive ranking."""

from __future__ import annotations

import numpy as np


def spearman(a: np.ndarray, b: np.ndarray, *, undefined: float = float("nan"), min_pairs: int = 3) -> float:
    """Spearman correlation of ``a`` and ``b`` over the pairs where both are finite.

    ``undefined`` is returned when it is not defined: fewer than ``min_pairs`` finite pairs, or either
    side constant. Callers choose what that means for them (NaN to report, 0 to weight by).
    """
    from scipy.stats import spearmanr

    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < min_pairs or np.ptp(a[ok]) == 0 or np.ptp(b[ok]) == 0:
        return float(undefined)
    rho = float(spearmanr(a[ok], b[ok]).statistic)
    return rho if np.isfinite(rho) else float(undefined)


def spearman_matrix(rows: np.ndarray) -> np.ndarray:
    """[T, T] Spearman correlations between the rows of ``rows`` ([T, C]); a constant row correlates 0."""
    from scipy.stats import rankdata

    ranks = np.vstack([rankdata(row) for row in rows]).astype(float)
    ranks -= ranks.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(ranks, axis=1)
    ok = norm > 0
    ranks[ok] /= norm[ok, None]
    s = ranks @ ranks.T
    np.fill_diagonal(s, 1.0)
    return s
