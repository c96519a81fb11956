"""The arbiter and its realism scores: Fréchet distance, k-NN precision and recall, action
recovery, and their columns in eval and results."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ignite")

from boxlcd.cli import main  # noqa: E402
from boxlcd.dataset import Episodes, collect  # noqa: E402
from boxlcd.dataset.windows import Windows  # noqa: E402
from boxlcd.models.arbiter import (EMBEDDING, SCORES, WINDOW, frechet_distance, load_arbiter,  # noqa: E402
                                   manifold_scores, windows_of)
from boxlcd.models.checkpoint import load_model  # noqa: E402
from boxlcd.models.evaluate import evaluate_checkpoint  # noqa: E402
from boxlcd.models.results import results  # noqa: E402
from boxlcd.models.spec import prepare  # noqa: E402
from boxlcd.models.train import train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = {"channels": 8, "hidden": 64}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("arbiter")
    collect("Bounce", 40, root / "bounce", seed=0, progress=False, ep_len=20)
    collect("Bounce", 40, root / "bounce_test", seed=1000, progress=False, ep_len=20)
    collect("Urchin", 60, root / "urchin", seed=0, progress=False, ep_len=20)
    collect("Urchin", 16, root / "urchin_test", seed=1000, progress=False, ep_len=20)
    runs = root / "runs"
    train("arbiter", root / "bounce", runs / "arbiter-bounce", steps=400, batch=16, progress=False, **SMALL)
    train("arbiter", root / "urchin", runs / "arbiter-urchin", steps=600, batch=32, progress=False, **SMALL)
    for name in ("marginal", "copy_last"):
        train(name, root / "bounce", runs / f"{name}-bounce", progress=False)
    return root


def test_frechet_distance_is_zero_on_one_set_and_sums_a_shift_over_dimensions():
    x = torch.randn(2000, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    assert abs(frechet_distance(x, x)) < 1e-6
    shifted = [frechet_distance(x, x + c) for c in (0.5, 1.0, 2.0)]
    # the standard sum of the squared mean difference (the original testbed averaged it: / 8)
    np.testing.assert_allclose(shifted, [8 * 0.25, 8 * 1.0, 8 * 4.0], rtol=1e-6)
    x = x - x.mean(0)
    wider = frechet_distance(x, 2 * x)  # same mean, covariance 4 S: Tr(S + 4 S - 2 (4 S^2)^1/2) = Tr(S)
    assert wider == pytest.approx(float(torch.trace(torch.cov(x.T))), rel=1e-6)


def test_knn_manifold_scores_on_sets_with_known_answers():
    g = torch.Generator().manual_seed(1)
    real = torch.randn(500, 4, generator=g)
    same = manifold_scores(real, real)
    assert (same["precision"], same["recall"], same["coverage"]) == (1.0, 1.0, 1.0)
    # each real ball holds its own centre and k neighbours: (k + 1) / k for the set itself
    # (about 1 for an independent draw of the same distribution)
    assert 1.25 < same["density"] <= 4 / 3
    far = manifold_scores(real, torch.randn(500, 4, generator=g) + 100)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}
    collapsed = manifold_scores(real, real[real[:, 0] > 0])  # every sample realistic, half the modes missing
    assert collapsed["precision"] == 1.0 and 0.3 < collapsed["recall"] < 0.8 and 0.3 < collapsed["coverage"] < 0.8
    # one real outlier with a wide ball holds a whole collapsed fake set: precision is fooled,
    # density is not
    outlier = torch.cat([real, torch.full((1, 4), 30.0)])
    fooled = manifold_scores(outlier, torch.full((200, 4), 35.0) + 0.01 * torch.randn(200, 4, generator=g))
    assert fooled["precision"] == 1.0 and fooled["density"] < 0.34 and fooled["coverage"] < 0.01
    with pytest.raises(ValueError, match="more than 3"):
        manifold_scores(real[:3], real)


def test_windows_of_episodes_are_the_non_overlapping_windows_after_the_prompt():
    B, T = 2, 14
    lcd = torch.arange(B * T).float().view(B, T, 1, 1).expand(B, T, 2, 2)
    proprio = torch.arange(B * T).float().view(B, T, 1)
    actions = torch.arange(B * (T - 1)).float().view(B, T - 1, 1)
    w = windows_of(lcd, proprio, actions, start=3)  # windows [3, 8) and [8, 13) of each episode
    assert w["lcd"].shape == (4, WINDOW, 2, 2) and w["actions"].shape == (4, WINDOW - 1, 1)
    assert w["proprio"][:, 0, 0].tolist() == [3, 8, T + 3, T + 8]
    assert w["actions"][1, :, 0].tolist() == [8, 9, 10, 11]
    assert torch.equal(w["lcd"][:, :, 0, 0], w["proprio"][..., 0])
    with pytest.raises(ValueError, match="no window of 5 frames"):
        windows_of(lcd, proprio, actions, start=10)


def test_arbiter_trains_on_windows_of_five_and_reads_the_actions(data):
    run = data / "runs" / "arbiter-urchin"
    config = json.loads((run / "config.json").read_text())
    assert config["run"]["window"] == WINDOW
    arbiter, identity = load_arbiter(run)
    assert identity == {"arbiter": str(run), "arbiter_version": 1, "arbiter_step": 600}
    log = [line.split(",") for line in (run / "log.csv").read_text().splitlines()]
    column = log[0].index("action_mse")
    first, last = float(log[1][column]), float(log[-1][column])
    assert last < 0.7 * first
    test = Episodes(data / "urchin_test")
    batch = prepare(Windows(test, window=WINDOW).__getitems__(np.arange(0, 256, 4)), "cpu")
    with torch.no_grad():
        z = arbiter.embed(batch["lcd"], batch["proprio"])
        error = (arbiter.infer_actions(z) - batch["actions"]).pow(2).mean()
    assert z.shape == (64, EMBEDDING)
    assert error < 0.7 * batch["actions"].var()  # random actions in [-1, 1]: guessing 0 scores 1/3


def test_eval_scores_noise_and_frozen_video_far_from_real_video(data, tmp_path):
    arbiter = data / "runs" / "arbiter-bounce"
    test = str(data / "bounce_test")
    noise = evaluate_checkpoint(data / "runs" / "marginal-bounce", test, tmp_path / "m", arbiter=arbiter,
                                episodes=40)
    frozen = evaluate_checkpoint(data / "runs" / "copy_last-bounce", test, tmp_path / "c", arbiter=arbiter,
                                 episodes=40)
    assert noise["realism_windows"] == 20 * 3  # 20 episodes of 21 frames: windows at 3, 8 and 13
    assert noise["fid_real"] == frozen["fid_real"]  # the floor depends on the test set only
    for fake in (noise, frozen):
        assert fake["fid"] > 3 * fake["fid_real"]
    assert noise["recall"] < 0.5 * noise["recall_real"]  # per-pixel noise: no bouncing ball
    assert frozen["precision"] < 0.5 * frozen["precision_real"]  # balls that never move
    assert noise["action_error"] is None and noise["action_error_real"] is None  # Bounce ignores actions
    saved = json.loads((tmp_path / "m" / "eval.json").read_text(), parse_constant=lambda name: pytest.fail(name))
    assert saved["action_error"] is None  # null, not NaN
    assert saved["arbiter"] == str(arbiter) and saved["arbiter_version"] == 1 and saved["fid"] == noise["fid"]
    assert "| FID | FID real |" in (tmp_path / "m" / "eval.md").read_text()


def test_results_add_the_realism_columns_once_per_run(data, tmp_path):  # on the first 16 test episodes
    ft = tmp_path / "ft"
    train("frame_transformer", data / "bounce", ft, steps=2, batch=4, progress=False, d_model=32, layers=1, heads=2)
    args = ([str(ft)], {"Bounce": str(data / "bounce_test")}, tmp_path / "res")
    rows = results(*args, episodes=16, samples=(1, 3), arbiters={"Bounce": str(data / "runs" / "arbiter-bounce")})
    assert [(r["model"], r["samples"], "fid" in r) for r in rows] == [
        ("marginal", 1, True), ("copy_last", 1, True), ("frame_transformer", 1, True), ("frame_transformer", 3, False)]
    assert "FID, prec, rec, dens, cov, act err" in (tmp_path / "res" / "results.md").read_text()
    arbiter = str(data / "runs" / "arbiter-bounce")
    saved = tmp_path / "res" / "Bounce-marginal" / "eval.json"
    saved.write_text(json.dumps({**json.loads(saved.read_text()), "fid": -1.0}))
    kept = results(*args, episodes=16, samples=(1, 3), reuse=True, arbiters={"Bounce": arbiter})
    assert kept[0]["fid"] == -1.0  # the same arbiter at the same step: the row is reused
    saved.write_text(json.dumps({**json.loads(saved.read_text()), "arbiter_step": 1}))
    stale = results(*args, episodes=16, samples=(1, 3), reuse=True, arbiters={"Bounce": arbiter})
    assert stale[0]["fid"] > 0  # scored by the arbiter at another step: evaluated anew
    assert all(k in stale[0] and f"{k}_real" in stale[0] for k in SCORES)
    saved.write_text(json.dumps({k: v for k, v in {**stale[0], "fid": -1.0}.items() if k != "coverage"}))
    older = results(*args, episodes=16, samples=(1, 3), reuse=True, arbiters={"Bounce": arbiter})
    assert older[0]["fid"] > 0 and "coverage" in older[0]  # scored before coverage existed: evaluated anew
    again = results(*args, episodes=16, samples=(1, 3), reuse=True)  # asked without the arbiter: evaluated anew
    assert not any("fid" in r for r in again)


def test_arbiter_bad_input(data, tmp_path):
    bounce_arbiter = data / "runs" / "arbiter-bounce"
    train("copy_last", data / "urchin", tmp_path / "copy", progress=False)
    with pytest.raises(ValueError, match=r"trained on Bounce \[16, 16\] frames, the data is Urchin \[16, 32\]"):
        evaluate_checkpoint(tmp_path / "copy", str(data / "urchin_test"), tmp_path, arbiter=bounce_arbiter)
    with pytest.raises(ValueError, match=r"is an arbiter \(arbiter\), not a world model: .*--arbiter"):
        load_model(bounce_arbiter)
    with pytest.raises(ValueError, match=r"is a world model \(marginal\), not an arbiter"):
        load_arbiter(data / "runs" / "marginal-bounce")
    with pytest.raises(ValueError, match="--arbiter for Urchin, but no checkpoint is of that env"):
        results([str(data / "runs" / "marginal-bounce")], {"Bounce": str(data / "bounce_test")}, tmp_path,
                arbiters={"Urchin": str(bounce_arbiter)})
    with pytest.raises(ValueError, match="arbiter version 2"):
        load_model(bounce_arbiter, want="arbiter")[0].__class__(
            load_model(bounce_arbiter, want="arbiter")[1]["spec"], version=2)


def test_arbiter_commands(data, tmp_path, capsys):
    run = tmp_path / "arb"
    assert main(["train", "arbiter", "--data", str(data / "bounce"), "--out", str(run), "--steps", "3",
                 "--batch", "4", "-q", "--set", "channels=4", "--set", "hidden=16"]) == 0
    assert json.loads((run / "config.json").read_text())["run"]["window"] == WINDOW
    assert main(["eval", str(data / "runs" / "copy_last-bounce"), "--data", str(data / "bounce_test"),
                 "--episodes", "16", "--out", str(tmp_path / "e"), "--arbiter", str(run)]) == 0
    assert "| FID |" in capsys.readouterr().out
    assert main(["eval", str(run), "--data", str(data / "bounce_test")]) == 2
    assert "not a world model" in capsys.readouterr().err
