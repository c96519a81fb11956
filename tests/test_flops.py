"""The measures behind bench/flops.py: FLOPs of a training step, utilisation, a run's step rate."""
from __future__ import annotations

import pytest

from boxlcd.analysis import log_steps_per_second, utilisation

torch = pytest.importorskip("torch")
from boxlcd.analysis import counted_flops, training_step  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")
TINY = {"d_model": 16, "layers": 1, "heads": 2}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from boxlcd.dataset import collect

    return collect("Bounce", 4, tmp_path_factory.mktemp("flops") / "bounce", progress=False, ep_len=10).parent


def test_counted_flops_are_two_per_multiply_add_with_cpu_attention_counted():
    x = torch.randn(5, 3)
    assert counted_flops(lambda: torch.nn.Linear(3, 4)(x)) == 2 * 5 * 3 * 4
    B, H, T, D = 2, 4, 10, 8
    q = torch.randn(B, H, T, D)
    # two batched products (scores, then their weights times the values), each 2 B H T T D
    assert counted_flops(lambda: torch.nn.functional.scaled_dot_product_attention(q, q, q)) == 2 * 2 * B * H * T * T * D


def test_a_training_steps_flops_are_positive_repeatable_and_linear_in_the_batch(data):
    step, config = training_step(data, batch=2, settings=TINY)
    assert config.window == 11 and config.settings == TINY
    flops = counted_flops(step)
    assert flops > 0
    assert counted_flops(step) == flops  # the same step again
    assert counted_flops(training_step(data, batch=2, settings=TINY)[0]) == flops  # built again
    assert counted_flops(training_step(data, batch=4, settings=TINY)[0]) == 2 * flops


def test_a_training_step_resolves_a_preset_as_train_does(data):
    step, config = training_step(data, preset="learned-sim", settings={**TINY, "dynamics": 8}, batch=2)
    assert config.preset == "learned-sim" and config.batch == 2 and config.settings["proprio_weight"] == 10
    assert config.settings["d_model"] == 16  # given explicitly: over the preset's 128
    step()
    with pytest.raises(ValueError, match="fit by counting"):
        training_step(data, model="marginal")


def test_utilisation_is_flops_per_step_times_rate_over_the_peak():
    assert utilisation(2e9, 5.0, 1e11) == {"flops_per_s": 1e10, "utilisation": 0.1}


def test_log_steps_per_second_leaves_out_the_first_steps(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("step,elapsed_s,lr,loss\n1,5.0,0.001,1\n2,5.5,0.001,1\n3,6.0,0.001,1\n6,7.5,0.001,1\n")
    assert log_steps_per_second(log, skip=2) == pytest.approx(4 / 2.0)
    assert log_steps_per_second(log) == pytest.approx(5 / 2.5)
    with pytest.raises(ValueError, match="too few rows"):
        log_steps_per_second(log, skip=6)
