"""The torch components: backbones (feature extractors with a replaceable head), dataset encoders
(set pooling over backbone features) and performance predictors. Each kind has a registry and a
factory (``create_backbone`` / ``create_encoder`` / ``create_predictor``, ``list_*``, ``register_*``)."""

from hyperstar._internal.lazy import lazy_exports

_EXPORTS = {
    **{n: "hyperstar.models.backbones" for n in
       ("Backbone", "backbone_module", "create_backbone", "list_backbones", "register_backbone", "load_body_weights", "state_dict_digest")},
    **{n: "hyperstar.models.encoders" for n in
       ("TaskEncoder", "StatsEncoder", "AttentionEncoder", "DescriptorEncoder", "FeatureExtractor", "create_encoder",
        "list_encoders", "register_encoder")},
    **{n: "hyperstar.models.predictors" for n in
       ("PerformancePredictor", "create_predictor", "list_predictors", "register_predictor", "budget_features")},
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
