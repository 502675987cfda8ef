"""Shared settings of the fine-tuning tests (imported by the test modules; not a conftest)."""

TINY = dict(backbone="smallcnn_tiny", weights=None)
FAST = {"batch_size": 16, "lr": 0.05}


def curve_values(result):
    return [(e.train_loss, e.val_loss, e.val_acc) for e in result.curve]
