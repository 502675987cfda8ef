"""Tasks: images and labels from an image folder, arrays or a torchvision dataset; splits, batches,
validation of bad input, and the meta-features that describe a task.

    >>> import numpy as np
    >>> from hyperstar.data import Task
    >>> task = Task.from_arrays(np.zeros((20, 8, 8), np.uint8), np.repeat([0, 1], 10), resolution=8)
    >>> task.n_classes, len(task)
    (2, 20)
"""

from hyperstar._internal.lazy import lazy_exports

__all__ = ["Task", "Split", "IMAGE_EXTENSIONS"]
__getattr__, __dir__ = lazy_exports(__name__, {name: "hyperstar.data.task" for name in __all__})
