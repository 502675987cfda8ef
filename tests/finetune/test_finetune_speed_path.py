"""Tests of fine_tune's fast path: what the CUDA loop does differently runs here on the CPU (deferred loss
checks, no read-back per step), the time split in ``extra["timings"]``, ``precision``; and, marked ``gpu``, the
same on a real GPU (bf16, channels-last, data kept on the device, no host-device sync per step)."""

import math

import numpy as np
import pytest
import torch
from tiny_runs import FAST, TINY, curve_values

from hyperstar.exceptions import InvalidInputError
from hyperstar.finetune import engine, fine_tune

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.fixture(autouse=True)
def one_thread():
    """One intra-op thread: on a shared 2-core machine two threads spin against other processes."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def task72():
    """72 training images: batch 16 takes 5 steps per epoch, batch 64 takes 2."""
    from hyperstar.data import Task

    rng = np.random.default_rng(0)
    return Task.from_arrays(rng.integers(0, 256, (120, 8, 8, 3), dtype=np.uint8), np.arange(120) % 3, name="t72")


@pytest.fixture
def deferred(monkeypatch):
    """The CUDA loop's loss handling (summed on the device, checked every SYNC_EVERY steps), on the CPU."""
    monkeypatch.setattr(engine, "_defers_loss_checks", lambda dev: True)
    return monkeypatch


def test_deferred_loss_checks_give_the_same_curve(task72, deferred):
    deferred.undo()
    direct = fine_tune(task72, FAST, budget=2, seed=3, **TINY)
    deferred.setattr(engine, "_defers_loss_checks", lambda dev: True)
    deferred.setattr(engine, "SYNC_EVERY", 2)
    late = fine_tune(task72, FAST, budget=2, seed=3, **TINY)
    assert curve_values(late) == curve_values(direct) and late.test_acc == direct.test_acc


@pytest.mark.parametrize("every", [1, 1000])
def test_deferred_loss_checks_still_catch_divergence(task72, deferred, every):
    deferred.setattr(engine, "SYNC_EVERY", every)
    exploding = fine_tune(task72, {"lr": 10.0, "momentum": 0.99, "batch_size": 16}, budget=3, seed=0, **TINY)
    assert exploding.diverged and exploding.diverged_epoch is not None
    net = engine.create_backbone("smallcnn_tiny", num_classes=3)
    net.body[0][0].weight.data[0, 0, 0, 0] = float("nan")  # the first loss is NaN
    r = fine_tune(task72, FAST, budget=3, seed=0, backbone=net)
    assert r.diverged and r.diverged_epoch == 1 and len(r.curve) == 1
    assert 0.0 <= r.test_acc <= 1.0 and math.isnan(r.curve[-1].train_loss)


def _reads_back(run) -> int:
    """How many times ``run`` turns a tensor into a Python value (on CUDA each one waits for the GPU)."""
    count = [0]
    with pytest.MonkeyPatch.context() as mp:
        for name in ("__bool__", "__float__", "__int__", "item", "tolist"):
            original = getattr(torch.Tensor, name)

            def counted(self, *a, _original=original, **k):
                count[0] += 1
                return _original(self, *a, **k)

            mp.setattr(torch.Tensor, name, counted)
        run()
    return count[0]


def test_the_deferred_loop_reads_nothing_back_per_step(task72, deferred):
    # 5 steps per epoch against 2: the read-backs must not grow with the steps
    deferred.setattr(engine, "SYNC_EVERY", 10_000)
    few = _reads_back(lambda: fine_tune(task72, {**FAST, "batch_size": 64}, budget=2, seed=0, eval_test=False,
                                        **TINY))
    many = _reads_back(lambda: fine_tune(task72, {**FAST, "batch_size": 16}, budget=2, seed=0, eval_test=False,
                                         **TINY))
    assert many == few > 0


def test_timings_split_the_wall_time(tiny_task, tmp_path):
    first = fine_tune(tiny_task, FAST, budget=1, max_budget=3, seed=0, checkpoint_path=tmp_path / "a.pt", **TINY)
    t = first.extra["timings"]
    assert set(t) == {"setup", "train", "eval", "test", "wise_ft", "checkpoint_load", "checkpoint_save"}
    assert all(v >= 0 for v in t.values()) and sum(t.values()) <= first.wall_time
    assert t["train"] > 0 and t["eval"] > 0 and t["test"] > 0 and t["checkpoint_save"] > 0
    assert t["checkpoint_load"] == 0
    second = fine_tune(tiny_task, FAST, budget=2, max_budget=3, seed=0, resume_from=tmp_path / "a.pt",
                       eval_test=False, **TINY)
    t2 = second.extra["timings"]
    assert t2["checkpoint_load"] > 0 and t2["checkpoint_save"] == 0 and t2["test"] < t["test"]


def test_precision_is_checked_and_fp32_is_the_cpu_default(tiny_task):
    with pytest.raises(InvalidInputError, match="'precision' argument of fine_tune must be one of"):
        fine_tune(tiny_task, FAST, budget=1, precision="fp16", **TINY)
    auto = fine_tune(tiny_task, FAST, budget=1, seed=0, **TINY)
    fp32 = fine_tune(tiny_task, FAST, budget=1, seed=0, precision="fp32", **TINY)
    assert curve_values(auto) == curve_values(fp32)
    bf16 = fine_tune(tiny_task, FAST, budget=1, seed=0, precision="bf16", **TINY)  # CPU autocast runs too
    assert not bf16.diverged and 0.0 <= bf16.val_acc <= 1.0


# --------------------------------------------------------------------------- on a GPU


@pytest.mark.gpu
@needs_cuda
def test_gpu_training_loop_does_not_sync_per_step(task72):
    import warnings

    def syncs(batch_size: int) -> int:
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                fine_tune(task72, {**FAST, "batch_size": batch_size}, budget=2, seed=0, device="cuda",
                          eval_test=False, **TINY)
            finally:
                torch.cuda.set_sync_debug_mode("default")
        return sum("synchroniz" in str(w.message) for w in caught)

    syncs(16)  # warm-up (first CUDA calls)
    assert syncs(16) == syncs(64)  # 5 steps per epoch against 2: the syncs do not grow with the steps


@pytest.mark.gpu
@needs_cuda
def test_gpu_run_keeps_data_on_device_in_bf16_channels_last(tiny_task, monkeypatch):
    seen = {}
    original = engine._Feeder.batches

    def watched(self, order, batch_size):
        for xb, yb in original(self, order, batch_size):
            seen.setdefault("dtype", xb.dtype)
            seen.setdefault("device", xb.device.type)
            yield xb, yb

    monkeypatch.setattr(engine._Feeder, "batches", watched)
    forward = {}
    model = engine.create_backbone("smallcnn_tiny", num_classes=tiny_task.n_classes)

    def hook(module, inputs, output):
        forward.setdefault("channels_last", inputs[0].is_contiguous(memory_format=torch.channels_last))
        forward.setdefault("dtype", output.dtype)

    next(m for m in model.body.modules() if isinstance(m, torch.nn.Conv2d)).register_forward_hook(hook)
    r = fine_tune(tiny_task, FAST, budget=1, seed=0, device="cuda", backbone=model)
    assert r.device.startswith("cuda") and not r.diverged
    assert seen == {"dtype": torch.uint8, "device": "cuda"}  # uint8 on the device, converted per batch
    assert forward["channels_last"] and forward["dtype"] == torch.bfloat16
    fp32 = fine_tune(tiny_task, FAST, budget=1, seed=0, device="cuda", precision="fp32", **TINY)
    assert np.isfinite(fp32.curve[-1].train_loss)


@pytest.mark.gpu
@needs_cuda
def test_gpu_streaming_task_matches_in_memory(image_folder):
    from hyperstar.data import Task

    mem = Task.from_folder(image_folder, resolution=16)
    stream = Task.from_folder(image_folder, resolution=16, max_in_memory=0)
    a = fine_tune(mem, FAST, budget=2, seed=0, device="cuda", precision="fp32", **TINY)
    b = fine_tune(stream, FAST, budget=2, seed=0, device="cuda", precision="fp32", num_workers=2, **TINY)
    # the same pixels and draws; cuDNN may sum in another order, so losses agree closely, not bit for bit
    assert np.allclose([e.train_loss for e in a.curve], [e.train_loss for e in b.curve], rtol=1e-2, atol=1e-3)


def test_streaming_with_loader_workers_gives_the_same_curve_and_keeps_its_workers(image_folder, monkeypatch):
    from hyperstar.data import Task

    made = []
    original = torch.utils.data.DataLoader.__init__

    def counting(self, *a, **k):
        made.append(k.get("persistent_workers"))
        original(self, *a, **k)

    mem = Task.from_folder(image_folder, resolution=16)
    stream = Task.from_folder(image_folder, resolution=16, max_in_memory=0)
    a = fine_tune(mem, FAST, budget=3, seed=0, **TINY)
    monkeypatch.setattr(torch.utils.data.DataLoader, "__init__", counting)
    b = fine_tune(stream, FAST, budget=3, seed=0, num_workers=1, **TINY)
    assert np.allclose(np.array(curve_values(a)), np.array(curve_values(b)), rtol=1e-5, atol=1e-6)
    # train, validation, test: one loader each for all 3 epochs; WiSE-FT's evaluation adds the shifted split's
    assert made == [True, True, True, True]
