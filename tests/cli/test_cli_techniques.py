"""``hyperstar finetune`` with the fine-tuning techniques: the new keys in --config, WiSE-FT's table, --export
and --stilts; ``hyperstar tune``'s line on the incumbent's best alpha."""

import json

import pytest

from hyperstar.cli.main import main
from hyperstar.finetune.wiseft import load_model

COMMON = ["--backbone", "smallcnn_tiny", "--weights", "none", "--resolution", "16"]


def test_finetune_accepts_the_technique_keys_and_exports_the_chosen_alpha(image_folder, tmp_path, capsys):
    config = '{"layer_lr_decay": 0.5, "unfreeze": "gradual", "lr_schedule": "slanted_triangular", "batch_size": 16}'
    model = tmp_path / "model.pt"
    assert main(["finetune", str(image_folder), "--epochs", "2", *COMMON, "--config", config, "--json",
                 "--export", str(model), "--export-alpha", "0.5"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["layer_lr_decay"] == 0.5 and out["config"]["unfreeze"] == "gradual"
    assert out["wise_ft"]["alphas"] == [0.0, 0.25, 0.5, 0.75, 1.0] and out["shifted_acc"] is not None
    assert load_model(model).export_info["wise_ft_alpha"] == 0.5 == out["extra"]["exported_alpha"]
    assert main(["finetune", str(image_folder), "--epochs", "1", *COMMON]) == 0
    text = capsys.readouterr().out
    assert "WiSE-FT (body interpolated, fine-tuned head)" in text and "best alpha on validation" in text


@pytest.mark.parametrize("config, fragment", [
    ('{"layer_lr_decay": 0}', "Hyperparameter 'layer_lr_decay' must be in [0.25, 1]. Got 0."),
    ('{"unfreeze": true}', "Hyperparameter 'unfreeze' must be one of ['off', 'gradual']. Got True."),
    ('{"lr_schedule": "triangular"}', "Hyperparameter 'lr_schedule' must be one of"),
    ('{"layer_decay": 0.5}', "Unknown hyperparameter(s) 'layer_decay'"),
])
def test_bad_technique_values_are_one_line_errors(image_folder, capsys, config, fragment):
    assert main(["finetune", str(image_folder), "--config", config]) == 1
    err = capsys.readouterr().err
    assert err.startswith("hyperstar: error: ") and fragment in err and err.count("\n") == 1


def test_bad_export_alpha_and_stilts_with_resume_are_one_line_errors(image_folder, tmp_path, capsys):
    assert main(["finetune", str(image_folder), "--export-alpha", "most"]) == 1
    assert "--export-alpha must be 'best' or a number in [0, 1]. Got 'most'." in capsys.readouterr().err
    assert main(["finetune", str(image_folder), "--stilts", "auto", "--resume", str(tmp_path / "x.pt")]) == 1
    assert "--resume cannot be combined with --stilts" in capsys.readouterr().err


def _smallest_shipped_task_without_debian_packages() -> str:
    from hyperstar.meta import load_meta_dataset
    from hyperstar.suite.packaged import reads_debian_packages

    meta = load_meta_dataset()
    sizes = meta.descriptors[:, meta.descriptor_names.index("n_images")]
    return min((s, n) for s, n, r in zip(sizes, meta.task_names, meta.recipes) if not reads_debian_packages(r))[1]


def test_finetune_stilts_counts_the_intermediate_stage_in_the_budget(image_folder, capsys):
    known = _smallest_shipped_task_without_debian_packages()
    assert main(["finetune", str(image_folder), "--epochs", "6", *COMMON, "--json", "--stilts", known,
                 "--stilts-epochs", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    s = out["extra"]["stilts"]
    assert s["intermediate"] == known and s["cost_epochs"] >= 1
    assert s["cost_epochs"] + s["target_epochs"] == 6 and len(out["curve"]) == s["target_epochs"]


def test_tune_result_says_the_incumbents_best_alpha(tmp_path):
    from hyperstar.hpo.log import ResultLog
    from hyperstar.hpo.result import summarize

    wise = {"alphas": [0.0, 0.5, 1.0], "val": [0.5, 0.8, 0.75], "test": [0.4, 0.7, 0.65],
            "shifted": [0.3, 0.6, 0.5], "best_alpha": 0.5, "body_changed": True}

    class Job:
        id, kwargs, timestamps, exception = (0, 0, 0), {"config": {"lr": 0.1}, "budget": 3.0}, {}, None
        result = {"loss": 0.25, "info": {"val_acc": 0.75, "test_acc": 0.65, "wise_ft": wise}}

    ResultLog(tmp_path)(Job())
    r = summarize(tmp_path, 3, optimizer="hb", warm_start=False)
    assert r.wise_ft == wise and r.to_dict()["wise_ft"]["best_alpha"] == 0.5
    assert r.wise_ft_summary() == ("WiSE-FT: best alpha 0.5 on validation: val 0.800 (alpha 1: 0.750), "
                                   "test 0.700 (alpha 1: 0.650), shifted 0.600 (alpha 1: 0.500)")
