"""Tests for hyperstar.finetune.checkpoint: resuming equals training from scratch; mismatched runs are refused."""

import pytest
import torch
from tiny_runs import FAST, TINY, curve_values

from hyperstar.exceptions import IncompatibleVersionError, InvalidInputError, ModelFileError
from hyperstar.finetune import fine_tune
from hyperstar.finetune.checkpoint import CHECKPOINT_FORMAT, TrainState, load_checkpoint


def test_resume_from_checkpoint_equals_training_from_scratch(tiny_task, tmp_path):
    config = {**FAST, "use_l2sp": "yes", "l2sp_strength": 0.01, "augment": 0.5}
    ckpt = tmp_path / "ckpt.pt"
    first = fine_tune(tiny_task, config, budget=2, max_budget=4, seed=0, checkpoint_path=ckpt, **TINY)
    assert first.checkpoint == str(ckpt) and ckpt.is_file()
    resumed = fine_tune(tiny_task, config, budget=4, max_budget=4, seed=0, resume_from=ckpt, **TINY)
    scratch = fine_tune(tiny_task, config, budget=4, max_budget=4, seed=0, **TINY)
    assert resumed.start_epoch == 2
    assert curve_values(resumed) == curve_values(scratch)
    assert resumed.test_acc == scratch.test_acc


def test_resume_refuses_a_mismatched_run(tiny_task, tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    fine_tune(tiny_task, FAST, budget=2, max_budget=4, seed=0, checkpoint_path=ckpt, **TINY)
    with pytest.raises(InvalidInputError, match="different configuration"):
        fine_tune(tiny_task, {**FAST, "lr": 0.01}, budget=4, max_budget=4, seed=0, resume_from=ckpt, **TINY)
    with pytest.raises(InvalidInputError, match="past the requested budget"):
        fine_tune(tiny_task, FAST, budget=1, max_budget=4, seed=0, resume_from=ckpt, **TINY)
    with pytest.raises(InvalidInputError, match="does not exist"):
        fine_tune(tiny_task, FAST, budget=1, resume_from=tmp_path / "nope.pt", **TINY)


def test_checkpoint_holds_one_train_state_and_is_written_atomically(tiny_task, tmp_path):
    ckpt = tmp_path / "runs" / "ckpt.pt"  # the folder is created
    config = {**FAST, "use_l2sp": "yes", "l2sp_strength": 0.01}
    r = fine_tune(tiny_task, config, budget=2, max_budget=4, seed=3, checkpoint_path=ckpt, **TINY)
    state = load_checkpoint(ckpt)
    assert isinstance(state, TrainState) and state.epoch == 2 and state.seed == 3 and state.max_budget == 4
    assert state.backbone == "smallcnn_tiny" and state.config == r.config and state.anchors
    assert [e.val_acc for e in state.curve] == [e.val_acc for e in r.curve]
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["ckpt.pt"]  # no temporary file left
    stored = torch.load(ckpt, weights_only=True)
    assert stored["format"] == CHECKPOINT_FORMAT and stored["epoch"] == 2
    assert TrainState.from_dict(stored).curve == state.curve


def test_load_refuses_files_that_are_not_checkpoints(tmp_path):
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ModelFileError, match="is not a hyperstar checkpoint file \\(it is not a PyTorch file\\)"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"format": CHECKPOINT_FORMAT + 1, "hyperstar_version": "9.1.0"}, other)
    with pytest.raises(IncompatibleVersionError, match="was saved by hyperstar 9.1.0 in checkpoint format 2; this is"):
        load_checkpoint(other)
    torch.save({"format": CHECKPOINT_FORMAT, "model": {}}, other)  # fields missing
    with pytest.raises(ModelFileError, match="is not a hyperstar checkpoint file \\(missing 'optimizer'"):
        load_checkpoint(other)
