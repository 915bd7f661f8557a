"""The runner trains exactly as the loop anyone would write: a few lines of plain PyTorch,
gathering each batch by index from a per-epoch permutation, give the same losses."""

import pytest
import torch

from core.engine.data.datasets import load_data
from core.engine.networks import build_model
from core.engine.objective import objective_for
from core.engine.run import run
from core.spec.schema import BenchSpec


def plain_loop_losses(spec: BenchSpec) -> list[float]:
    data = load_data(spec, torch.device("cpu"))
    objective = objective_for(data.task, data.n_classes, spec.family)
    torch.manual_seed(spec.seed)
    model = build_model(spec, data.input_shape, objective.n_outputs)
    opt = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=spec.momentum)
    gen = torch.Generator().manual_seed(spec.seed)
    n, b = data.x_train.shape[0], spec.batch_size
    losses = []
    for _ in range(spec.epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        epoch = []
        for i in range(n // b):
            idx = perm[i * b : (i + 1) * b]
            loss = objective.loss(model(data.x_train[idx]), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            epoch.append(loss.item())
        losses.append(sum(epoch) / len(epoch))
    return losses


@pytest.mark.parametrize("family", ["mlp", "seednet"])
def test_the_runner_draws_the_same_batches_as_a_per_step_gather(family):
    extra = {"depth": 2, "width": 32} if family == "mlp" else {}
    spec = BenchSpec(family=family, epochs=3, batch_size=16, synthetic_samples=512,
                     dropout_p=0.3, device="cpu", warmup_steps=2, timed_steps=5, repeats=1,
                     infer_batch_sizes=(1,), **extra)  # fmt: skip
    runner = [e.train_loss for e in run(spec).model.epochs]
    assert runner == pytest.approx(plain_loop_losses(spec), rel=1e-5)
