"""Tasks: images and labels from an image folder, arrays or a torchvision dataset; splits, batches,
validation of bad input, and the meta-features that describe a task.

Modules, in the order data flows: ``decode`` (pixels to uint8 ``[C, r, r]``), ``labels`` (labels to
0..K-1 and class names), ``readers`` (folder / arrays / dataset sources), ``task`` (:class:`Task`,
:class:`Split`), ``describe`` (the meta-features of :meth:`Task.describe`).

    >>> import numpy as np
    >>> from hyperstar.data import Task
    >>> task = Task.from_arrays(np.zeros((20, 8, 8), np.uint8), np.repeat([0, 1], 10), resolution=8)
    >>> task.n_classes, len(task)
    (2, 20)
"""

from hyperstar._internal.lazy import lazy_exports

_EXPORTS = {"Task": "hyperstar.data.task", "Split": "hyperstar.data.task",
            "IMAGE_EXTENSIONS": "hyperstar.data.readers", "DESCRIBE_SAMPLE": "hyperstar.data.describe"}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
