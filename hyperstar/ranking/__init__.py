"""Rankings of configurations for a task: the learned recommender (HyperSTAR), the baselines it is
judged against (random, average rank, meta-feature nearest neighbours, oracle), and the adaptive
ranking that re-ranks as results on the new task come in."""

from hyperstar._internal.lazy import lazy_exports

_EXPORTS = {
    **{n: "hyperstar.ranking.recommender" for n in ("Recommender", "Recommendation")},
    **{n: "hyperstar.ranking.baselines" for n in ("RandomOrder", "AverageRank", "NearestNeighbors", "Oracle",
                                                   "BASELINES")},
    "AdaptiveRanking": "hyperstar.ranking.adaptive",
    "Ranker": "hyperstar.ranking.protocol",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
