"""The runner end to end on the CPU: results, determinism, divergence, hooks and errors."""

import math

import pytest
import torch

from core.engine.errors import BenchError, Cancelled
from core.engine.run import resolve_device, run
from core.spec.schema import BenchSpec

TINY = dict(
    epochs=2,
    batch_size=16,
    synthetic_samples=256,
    warmup_steps=2,
    timed_steps=5,
    repeats=2,
    infer_batch_sizes=(1, 8),
    device="cpu",
)


def tiny(**kw) -> BenchSpec:
    return BenchSpec(**{**TINY, **kw})


@pytest.mark.parametrize("family", ["mlp", "cnn", "cnn3d", "seednet"])
def test_every_family_trains_and_benchmarks(family):
    extra = {
        "mlp": dict(depth=2, width=16),
        "cnn": dict(depth=2, width=4, synthetic_image_size=8),
        "cnn3d": dict(depth=1, width=4, synthetic_image_size=4),
        "seednet": {},
    }[family]
    r = run(tiny(family=family, **extra))
    m = r.model
    assert r.kind == "model" and r.layer is None
    assert [e.epoch for e in m.epochs] == [1, 2]
    assert m.throughput is not None and m.throughput.step.n == 5
    assert m.throughput.samples_per_s == pytest.approx(16 / (m.throughput.step.median_ms / 1e3))
    assert {p.batch_size for p in m.inference} == {1, 8}
    assert m.fold is not None and m.fold.matches
    assert {p.folded for p in m.inference} == {False, True}
    assert len(m.bn_stats) >= 1
    assert r.spec_hash == BenchSpec.model_validate(r.spec).spec_hash()


def test_classification_reports_accuracies_and_gaps():
    m = run(tiny(depth=1, width=32, synthetic_difficulty=0.1, epochs=3, lr=0.1)).model
    assert m.task == "classification"
    assert m.final_val_accuracy > 0.5  # 10 well-separated classes: chance is 0.1
    assert m.generalization_gap == pytest.approx(m.final_train_accuracy - m.final_val_accuracy)
    assert m.mode_gap.accuracy_gap == pytest.approx(
        m.mode_gap.accuracy_eval - m.mode_gap.accuracy_train_mode
    )
    assert m.mode_gap.accuracy_eval == m.epochs[-1].val_accuracy
    # every final figure comes from one eval pass, so the loss gap is val minus train loss
    assert m.generalization_gap_loss == pytest.approx(m.final_val_loss - m.final_train_loss)
    assert m.final_train_loss != m.epochs[-1].train_loss  # that one is train mode, as optimized


def test_regression_has_losses_r2_and_rmse_but_no_accuracy():
    from core.engine.data.datasets import load_data

    spec = tiny(family="seednet", epochs=4, lr=0.05)
    m = run(spec).model
    assert m.task == "regression"
    assert m.final_val_accuracy is None and m.generalization_gap is None
    assert math.isfinite(m.generalization_gap_loss)
    assert m.final_val_rmse == pytest.approx(math.sqrt(m.final_val_loss))
    # R² = 1 - MSE / Var(y), with the validation targets' own variance, read independently
    y_val = load_data(spec, torch.device("cpu")).y_val
    assert m.final_val_r2 == pytest.approx(1 - m.final_val_loss / y_val.var(unbiased=False).item())
    assert m.final_val_r2 == m.epochs[-1].val_r2 and m.final_train_r2 is not None
    assert m.final_val_r2 > 0  # it learned something: better than predicting the mean


def test_classification_has_no_r2():
    m = run(tiny(depth=1, width=16)).model
    assert m.final_val_r2 is m.final_val_rmse is m.epochs[-1].val_r2 is None


def test_same_seed_same_result_and_another_seed_differs():
    a, b = run(tiny(seed=3)).model, run(tiny(seed=3)).model
    c = run(tiny(seed=4)).model
    assert [e.train_loss for e in a.epochs] == [e.train_loss for e in b.epochs]
    assert a.final_val_loss == b.final_val_loss
    assert a.final_val_loss != c.final_val_loss


def test_evaluating_in_train_mode_leaves_no_trace_on_training():
    """The per-epoch train-mode pass must not change BN buffers or the dropout RNG stream."""
    one = run(tiny(epochs=1, seed=5)).model.epochs[0].train_loss
    two = run(tiny(epochs=2, seed=5)).model.epochs[0].train_loss
    assert one == two


def test_no_dropout_and_no_bn_means_no_mode_gap():
    m = run(tiny(norm="none", dropout_p=0.0)).model
    assert m.mode_gap.output_rel_diff == pytest.approx(0.0, abs=1e-6)
    assert m.bn_stats == [] and m.fold is None


def test_divergence_is_a_result_not_a_crash():
    m = run(
        tiny(norm="none", dropout_p=0.0, lr=10.0, epochs=4, momentum=0.99, synthetic_difficulty=1.0)
    ).model
    assert m.diverged and m.diverged_epoch is not None
    assert len(m.epochs) == m.diverged_epoch


def test_time_to_target_accuracy():
    m = run(
        tiny(depth=1, width=32, synthetic_difficulty=0.0, epochs=4, lr=0.1, target_val_accuracy=0.5)
    ).model
    assert m.epochs_to_target is not None
    assert m.time_to_target_s == pytest.approx(m.epochs[m.epochs_to_target - 1].wall_time_s)
    assert m.steps_to_target == m.epochs_to_target * (m.n_train // 16)  # full batches only


def test_bn_without_affine_parameters_folds_and_benchmarks_inference():
    m = run(tiny(bn_affine=False)).model  # the fuse used to get weight=None and raise
    assert m.fold.matches and m.fold.folded_layers == len(m.bn_stats) > 0
    assert {p.folded for p in m.inference} == {False, True}


def test_dropout_right_before_bn_does_not_stop_the_fold():
    m = run(tiny(dropout_p=0.3, dropout_position="before_norm")).model
    assert m.fold.matches and m.fold.unfoldable_layers == 0


def test_a_test_split_is_scored_once_by_the_final_model():
    m = run(tiny(test_fraction=0.25)).model
    assert m.n_test == 64 and m.n_train == 256 - 51 - 64
    assert 0 <= m.final_test_accuracy <= 1 and math.isfinite(m.final_test_loss)
    assert run(tiny()).model.final_test_accuracy is None  # none held out by default


def test_unreachable_target_is_reported_as_not_reached():
    m = run(tiny(synthetic_difficulty=1.0, target_val_accuracy=1.0)).model
    assert m.epochs_to_target is None and m.time_to_target_s is None


def test_progress_reaches_one_and_cancel_stops_between_steps():
    seen = []
    run(tiny(), progress=lambda e, s, f: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(Cancelled):
        run(tiny(), should_cancel=lambda: True)


def test_layer_kind_returns_a_layer_result():
    r = run(
        BenchSpec(
            kind="layer",
            layer="bn_relu_dropout",
            shape=(8, 4, 6, 6),
            mode="train_fwdbwd",
            device="cpu",
            warmup_steps=1,
            timed_steps=3,
            repeats=2,
        )
    )
    assert r.model is None and r.layer.bytes_moved > 0


def test_provenance_is_recorded():
    p = run(tiny(epochs=1)).provenance
    assert p.torch == torch.__version__ and p.device == "cpu"
    assert p.cpu_model and p.python and p.hostname and p.bnbench_version


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_asking_for_cuda_without_it_names_the_device_field():
    with pytest.raises(BenchError) as info:
        resolve_device(BenchSpec(device="cuda"))
    assert info.value.field == "device"


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_graph_training_matches_eager_loss_scale():
    eager = run(tiny(device="cuda", dropout_p=0.0)).model
    graphed = run(tiny(device="cuda", dropout_p=0.0, cuda_graph=True)).model
    assert graphed.epochs[0].train_loss == pytest.approx(eager.epochs[0].train_loss, rel=0.05)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_deterministic_cuda_run_records_the_last_hidden_layer_probe():
    m = run(tiny(device="cuda", deterministic=True)).model
    assert all(e.last_hidden_shift is not None for e in m.epochs)


DATASET_SPECS = {
    "synthetic": dict(family="cnn", depth=1, width=4, synthetic_image_size=8),
    "synthetic_regression": dict(family="seednet"),
    "digits": dict(family="cnn", depth=1, width=4),
    "breast_cancer": dict(depth=1, width=8),
    "wine": dict(depth=1, width=8, batch_size=8),
    "mnist": dict(depth=1, width=8, batch_size=8),
    "fashion_mnist": dict(family="cnn", depth=1, width=4, batch_size=8),
    "cifar10": dict(family="cnn", depth=1, width=4, batch_size=8),
    "npz": dict(depth=1, width=8, batch_size=8),
}


def test_every_registered_dataset_has_an_end_to_end_case():
    from core.engine.data.datasets import DATASETS

    assert set(DATASET_SPECS) == set(DATASETS)


@pytest.mark.parametrize("dataset", list(DATASET_SPECS))
def test_every_dataset_runs_end_to_end(dataset, data_root):
    r = run(
        tiny(
            dataset=dataset,
            data_root=str(data_root),
            epochs=1,
            **{"batch_size": 16, **DATASET_SPECS[dataset]},
        )
    )
    assert r.model.n_train > 0 and r.model.epochs[0].epoch == 1
    assert math.isfinite(r.model.final_val_loss)


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_autocast_precisions_train_on_cpu(precision):
    m = run(tiny(precision=precision, epochs=1)).model
    assert math.isfinite(m.final_val_loss) and m.fold.matches


@pytest.mark.slow
def test_compiled_model_trains_like_eager():
    """torch.compile changes kernels, not the maths: without dropout the losses agree."""
    eager = run(tiny(depth=1, width=16, dropout_p=0.0, epochs=1)).model
    compiled = run(tiny(depth=1, width=16, dropout_p=0.0, epochs=1, compile="default")).model
    assert compiled.final_val_loss == pytest.approx(eager.final_val_loss, rel=1e-3)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without a GPU")
def test_a_spec_for_a_gpu_model_refuses_to_run_elsewhere():
    with pytest.raises(BenchError) as info:
        resolve_device(BenchSpec(gpu_model="h100"))
    assert info.value.field == "gpu_model" and "no GPU" in info.value.message


def test_recalibrated_bn_statistics_match_the_population():
    shifted = run(tiny(dropout_position="before_norm", epochs=2, synthetic_samples=512)).model
    precise = run(
        tiny(dropout_position="before_norm", epochs=2, synthetic_samples=512, bn_recalibrate=True)
    ).model
    assert min(b.variance_ratio for b in shifted.bn_stats) < 0.8
    assert all(b.variance_ratio == pytest.approx(1.0, abs=0.05) for b in precise.bn_stats)


def test_the_timed_steps_are_spread_over_the_run_so_a_burst_moves_the_median_little():
    from core.engine.run import _throughput, timed_window

    spec = BenchSpec(device="cpu", warmup_steps=5, timed_steps=50)
    # a neighbour shared the core for the 50 steps right after warm-up, then left
    steps = [9.0] * 5 + [2.0] * 50 + [1.0] * 950
    window = timed_window(steps, spec)
    assert len(window) == 50 and window[0] == 2.0 and window[-1] == 1.0
    assert _throughput(steps, spec).step.median_ms == 1.0  # contiguous steps would say 2.0
    assert timed_window([9.0] * 5 + [1.0, 2.0], spec) == [1.0, 2.0]  # fewer: all of them
    assert timed_window(steps, spec.with_overrides(timed_steps=1)) == [2.0]
