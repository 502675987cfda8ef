"""The meta-dataset (the knowledge asset): its format, loading and saving, import of external tables,
the builder that fine-tunes every (task, configuration) cell, its analysis, and the source
pre-training of the shipped backbone."""

from hyperstar._internal.lazy import lazy_exports

_EXPORTS = {
    **{n: "hyperstar.meta.dataset" for n in ("MetaDataset", "load_meta_dataset", "read_records", "append_record")},
    "import_table": "hyperstar.meta.importer",
    **{n: "hyperstar.meta.builder" for n in ("build_meta_dataset", "design_configurations")},
    **{n: "hyperstar.meta.analysis" for n in ("analyze_meta_dataset", "average_rank_order")},
    "pretrain_source_backbone": "hyperstar.meta.pretrain",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
