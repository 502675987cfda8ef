"""What :meth:`~hyperstar.ranking.recommender.Recommender.recommend` returns: ranked configurations, each
marked measured (in the meta-data) or extrapolated, and how familiar the task was."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Recommendation", "Recommendations", "UNFAMILIAR_TRUST"]


@dataclass
class Recommendation:
    """One ranked configuration: predicted score (per-task z units), its uncertainty (the learned model's
    spread over image batches), and rank (1 = best). ``measured``: the configuration is one of the meta-data's
    (``config_id`` names it), so its score rests on results; otherwise it is extrapolated (a fresh sample the
    model scores without any result behind it)."""

    rank: int
    config: dict[str, Any]
    score: float
    std: float
    measured: bool = False
    config_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "config": self.config, "score": self.score, "std": self.std,
                "measured": self.measured, "config_id": self.config_id}


class Recommendations(list):
    """The list :meth:`Recommender.recommend` returns (of :class:`Recommendation`, best first), with what the
    ranking rests on: ``familiarity`` (0 to 1, None for a recommender fitted without the fallback),
    ``trust`` (weight of the task-specific part against the portfolio, 0 to 1), ``model_share`` (share of the
    learned model in that part, the rest the neighbours'), and ``driving_tasks`` (the known tasks whose results
    drive the task-specific part: ``(name, family, weight)``)."""

    familiarity: float | None = None
    trust: float = 1.0
    model_share: float = 1.0
    driving_tasks: list = []

    @property
    def unfamiliar(self) -> bool:
        """The data is unlike anything in the meta-data: the ranking is (nearly) the portfolio's."""
        return self.familiarity is not None and self.trust < UNFAMILIAR_TRUST

    def summary(self) -> dict[str, Any]:
        return {"familiarity": self.familiarity, "trust": self.trust, "model_share": self.model_share,
                "unfamiliar": self.unfamiliar,
                "driving_tasks": [{"task": n, "family": f, "weight": w} for n, f, w in self.driving_tasks]}


#: below this trust the task-specific part moves the portfolio's ranking little: ``recommend`` says so
UNFAMILIAR_TRUST = 0.2
