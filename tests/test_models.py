"""World models: training lowers the loss, baselines' closed forms, prompts, checkpoints, eval."""
import json
import math
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("ignite")

from boxlcd.cli import main  # noqa: E402
from boxlcd.dataset import Episodes, collect  # noqa: E402
from boxlcd.dataset.store import write_json_atomically, write_shard  # noqa: E402
from boxlcd.dataset.windows import Windows  # noqa: E402
from boxlcd.models import MODELS  # noqa: E402
from boxlcd.models.checkpoint import load_model, save_checkpoint  # noqa: E402
from boxlcd.models.bernoulli import bernoulli_nll, pick  # noqa: E402
from boxlcd.models.rollout import put_rows, take_rows  # noqa: E402
from boxlcd.models.spec import data_spec, prepare  # noqa: E402
from boxlcd.models.transformer import CausalTransformer  # noqa: E402
from boxlcd.models.vector import vector_mse  # noqa: E402
from boxlcd.models.evaluate import evaluate, frame_psnr, frame_ssim, rollouts  # noqa: E402
from boxlcd.models.results import results  # noqa: E402
from boxlcd.models.train import train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {"marginal": {}, "copy_last": {}, "constant_velocity": {},
        "frame_transformer": {"d_model": 32, "layers": 1, "heads": 2},
        "binary_ae": {"bits": 16, "channels": 8, "d_model": 32, "layers": 1, "heads": 2},
        "rssm": {"deter": 32, "stoch": 8, "hidden": 64},
        "oracle": {"prior_samples": 4096, "chunk": 1024, "matches": 4}}
LEARNED = ["frame_transformer", "frame_transformer+conv", "frame_transformer+dynamics", "binary_ae", "rssm"]
TINY["frame_transformer+conv"] = {**TINY["frame_transformer"], "conv_channels": 4}
TINY["frame_transformer+dynamics"] = {**TINY["frame_transformer"], "dynamics": 16}
TINY["frame_transformer+render"] = {**TINY["frame_transformer+dynamics"], "render": 16}


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    collect("Bounce", 24, root / "bounce", seed=0, shard_size=10, progress=False, ep_len=10)
    collect("Bounce", 6, root / "bounce_test", seed=1000, progress=False, ep_len=10)
    collect("Urchin", 12, root / "urchin", seed=0, progress=False, ep_len=8)
    return {"Bounce": root / "bounce", "Bounce_test": root / "bounce_test", "Urchin": root / "urchin"}


def strict_json(path):
    """A JSON file that must hold no NaN or Infinity (Python's json writes and reads them)."""
    def refuse(name):
        raise AssertionError(f"{path} holds {name}")
    return json.loads(Path(path).read_text(), parse_constant=refuse)


def fixed_batch(path, n=8):
    data = Episodes(path)
    return prepare(Windows(data, window=data.ep_len + 1).__getitems__(np.arange(n)), "cpu")


def eval_loss(model, batch):
    model.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        return model.loss(batch)[0].item()


def test_binary_autoencoder_leaves_the_background_plateau(datasets):
    # Predicting background everywhere costs the marginal's entropy; an AE that stays there
    # (as the unnormalised one did for thousands of steps on Bounce) still "lowers the loss".
    data = Episodes(datasets["Bounce"])
    lcd = prepare(Windows(data, window=data.ep_len + 1).__getitems__(np.arange(24)), "cpu")["lcd"].flatten(0, 1)
    on = lcd.mean()
    marginal_nats = -(on * on.log() + (1 - on) * (1 - on).log()).item()
    torch.manual_seed(0)
    model = MODELS["binary_ae"](data_spec(data), **TINY["binary_ae"])
    optimizer = torch.optim.Adam([*model.encoder.parameters(), *model.decoder.parameters()], lr=3e-3)
    for _ in range(150):
        loss = bernoulli_nll(model.decode(model.encode(lcd)[1]), lcd).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        recon_nats = bernoulli_nll(model.decode(model.encode(lcd)[1]), lcd).mean().item()
    assert recon_nats < 0.4 * marginal_nats


@pytest.mark.parametrize("env", ["Bounce", "Urchin"])
@pytest.mark.parametrize("name", LEARNED)
def test_training_lowers_the_loss(tmp_path, datasets, name, env):
    out, config = tmp_path / "run", TINY[name]
    name = name.split("+")[0]
    train(name, datasets[env], out, steps=1, batch=8, lr=3e-3, warmup=1, progress=False, **config)
    before = eval_loss(load_model(out)[0], fixed_batch(datasets[env]))
    train(name, datasets[env], out, steps=40, batch=8, lr=3e-3, warmup=1, progress=False, **config)
    model, state = load_model(out)
    assert state["step"] == 40
    assert eval_loss(model, fixed_batch(datasets[env])) < 0.9 * before
    assert (out / "log.csv").read_text().startswith("step,")
    assert json.loads((out / "config.json").read_text())["model_config"]["layers" if name != "rssm" else "deter"]


def test_resumed_run_equals_one_run(tmp_path, datasets):
    """Deterministic on CPU given the seed, and resuming continues the same run."""
    kw = dict(batch=4, lr=1e-3, warmup=2, progress=False, ckpt_every=5, **TINY["frame_transformer"])
    train("frame_transformer", datasets["Bounce"], tmp_path / "a", steps=10, **kw)
    train("frame_transformer", datasets["Bounce"], tmp_path / "b", steps=10, stop_after=5, **kw)
    train("frame_transformer", datasets["Bounce"], tmp_path / "b", steps=10, **kw)
    a, b = load_model(tmp_path / "a")[0].state_dict(), load_model(tmp_path / "b")[0].state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_init_starts_a_new_run_from_another_runs_weights(tmp_path, datasets):
    """--init: the weights come from the given run (at lr 0 they stay its weights exactly), the
    data may be several datasets joined, and a run of another model or setting is refused."""
    kw = dict(batch=4, warmup=2, progress=False, **TINY["frame_transformer"])
    train("frame_transformer", datasets["Bounce"], tmp_path / "a", steps=3, lr=1e-3, **kw)
    joined = f"{datasets['Bounce']},{datasets['Bounce_test']}"
    train("frame_transformer", joined, tmp_path / "b", steps=2, lr=0.0, init=str(tmp_path / "a"), **kw)
    a, ckpt = load_model(tmp_path / "a")[0].state_dict(), load_model(tmp_path / "b")[1]
    b = load_model(tmp_path / "b")[0].state_dict()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert ckpt["run"]["init"] == str((tmp_path / "a" / "ckpt.pt").resolve())
    assert ckpt["run"]["data"] == ",".join(str(Path(d).resolve()) for d in joined.split(","))
    fresh = train("frame_transformer", datasets["Bounce"], tmp_path / "c", steps=2, lr=0.0, **kw)
    assert any(not torch.equal(a[k], load_model(fresh)[0].state_dict()[k]) for k in a)
    with pytest.raises(ValueError, match="other model settings .*d_model"):
        train("frame_transformer", datasets["Bounce"], tmp_path / "d", steps=1, init=str(tmp_path / "a"),
              **{**kw, "d_model": 16})
    with pytest.raises(ValueError, match="is a frame_transformer run, not rssm"):
        train("rssm", datasets["Bounce"], tmp_path / "e", steps=1, batch=4, progress=False, init=str(tmp_path / "a"),
              **TINY["rssm"])
    with pytest.raises(FileNotFoundError):
        train("frame_transformer", datasets["Bounce"], tmp_path / "f", steps=1, init=str(tmp_path / "none"), **kw)
    assert not any((tmp_path / d).exists() for d in "def")  # a refused run leaves no folder


def synthetic_dataset(root, like, frames):
    """A dataset holding the given (E, T, H, W) 0/1 frames, with `like`'s manifest otherwise."""
    manifest = json.loads((like / "manifest.json").read_text())
    E, T = frames.shape[:2]
    root.mkdir()
    width = {k: len(manifest[f"{k}_keys"]) for k in ("action", "state", "proprio")}
    arrays = {"frames": np.packbits(frames.astype(np.uint8), axis=-1),
              "actions": np.zeros((E, T - 1, width["action"]), np.float32),
              "full_state": np.zeros((E, T, width["state"]), np.float32),
              "proprio": np.zeros((E, T, width["proprio"]), np.float32), "seeds": np.arange(E, dtype=np.int64)}
    entry = write_shard(root, 0, arrays)
    manifest.update(episodes=E, shard_size=E, ep_len=T - 1, shards=[entry])
    manifest["overrides"] = {**manifest["overrides"], "ep_len": T - 1}
    manifest["definition"]["ep_len"] = T - 1
    write_json_atomically(root / "manifest.json", manifest)
    return root


def test_marginal_bits_per_dim_is_its_closed_form(tmp_path, datasets):
    rng = np.random.default_rng(0)
    q = rng.uniform(0.02, 0.6, (16, 16))
    frames = rng.random((30, 9, 16, 16)) < q
    data = synthetic_dataset(tmp_path / "synthetic", datasets["Bounce"], frames)
    train("marginal", data, tmp_path / "m", progress=False)
    model, _ = load_model(tmp_path / "m")
    prompt = 3
    result = evaluate(model, data, prompt=prompt, episodes=0)
    k, n = frames.sum(axis=(0, 1)), frames.shape[0] * frames.shape[1]
    p = (k + 1) / (n + 2)  # Laplace smoothed, as documented
    x = frames[:, prompt:]
    closed = -(x * np.log2(p) + (1 - x) * np.log2(1 - p)).mean()
    assert math.isclose(result["bits_per_dim"], closed, rel_tol=1e-6)
    closed0 = -(frames[:, 0] * np.log2(p) + (1 - frames[:, 0]) * np.log2(1 - p)).mean()
    assert math.isclose(result["bits_per_dim_frame0"], closed0, rel_tol=1e-6)


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_sampling_keeps_the_prompt(tmp_path, datasets, name, temperature):
    env = "Bounce" if name == "oracle" else "Urchin"  # the oracle takes no robot envs
    train(name, datasets[env], tmp_path / "r", steps=2, batch=4, progress=False, **TINY[name])
    model, _ = load_model(tmp_path / "r")
    batch = fixed_batch(datasets[env], 4)
    out = model.sample(batch, prompt=3, temperature=temperature, generator=torch.Generator().manual_seed(0))
    assert out.shape == batch["lcd"].shape
    assert torch.equal(out[:, :3], batch["lcd"][:, :3])
    assert set(out.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("context", [0, 1, 4, 12])
def test_cached_steps_match_the_whole_sequence(context):
    """CausalTransformer.step, fed a sequence one token per call, gives forward's outputs; with
    a context window too (a ring of that many cache slots, the band mask in forward)."""
    torch.manual_seed(0)
    core = CausalTransformer(d_in=7, d_model=32, layers=2, heads=4, max_len=12, context=context).eval()
    x = torch.randn(3, 12, 7)
    cache = core.new_cache(3)
    with torch.no_grad():
        outputs = torch.stack([core.step(x[:, t], cache) for t in range(12)], dim=1)
        torch.testing.assert_close(outputs, core(x), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="past the model's 12 tokens"):
        core.step(x[:, 0], cache)
    reach = 2 * (context - 1) + 1  # two layers, each attending context - 1 tokens back
    if context and reach < 12:  # an output depends on the last `reach` tokens only
        y = x.clone()
        y[:, 0] += 1.0
        with torch.no_grad():
            torch.testing.assert_close(core(y)[:, reach:], core(x)[:, reach:], rtol=1e-5, atol=1e-5)
            assert not torch.allclose(core(y)[:, reach - 1], core(x)[:, reach - 1])


@pytest.mark.parametrize("context", [0, 3])
def test_rows_restarted_at_other_times_step_as_if_alone(context):
    """A row whose cache is replaced mid-sequence (an env reset in a batch) goes on exactly as a
    sequence of its own: per-row positions and masks, no leak from the other rows or its past."""
    torch.manual_seed(0)
    core = CausalTransformer(d_in=5, d_model=32, layers=2, heads=4, max_len=10, context=context).eval()
    x = torch.randn(2, 10, 5)
    fresh = torch.randn(6, 5)
    cache = core.new_cache(2)
    with torch.no_grad():
        for t in range(4):
            core.step(x[:, t], cache)
        put_rows(cache, torch.tensor([1]), core.new_cache(1))  # row 1 starts over
        out = torch.stack([core.step(torch.stack([x[0, 4 + t], fresh[t]]), cache) for t in range(6)], dim=1)
        torch.testing.assert_close(out[0], core(x[:1, :10])[0, 4:], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(out[1], core(fresh[None])[0], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(take_rows(cache, torch.tensor([1]))["pos"], torch.tensor([6]))


def uncached_sample(model, batch, prompt, temperature, generator):
    """sample() as it was before the cache: the whole prefix through the transformer per frame."""
    lcd, actions, proprio = batch["lcd"].clone(), batch["actions"], batch["proprio"].clone()
    if isinstance(model, MODELS["binary_ae"]):
        codes = model.encode(lcd[:, :prompt])[1].round()
        for t in range(prompt, lcd.shape[1]):
            logits, prop = model.prior(codes, actions[:, :t], proprio[:, :t])
            codes = torch.cat([codes, pick(logits[:, t:t + 1], temperature, generator)], dim=1)
            proprio[:, t] = prop[:, t]
        lcd[:, prompt:] = (model.decode(codes[:, prompt:]) > 0).float()
        return lcd
    for t in range(prompt, lcd.shape[1]):
        logits, prop = model(lcd[:, :t], actions[:, :t], proprio[:, :t])
        lcd[:, t] = pick(logits[:, t], temperature, generator).reshape(lcd[:, t].shape)
        proprio[:, t] = prop[:, t]
    return lcd


@pytest.mark.parametrize("name, extra", [("frame_transformer", {}), ("frame_transformer", {"conv_channels": 4}),
                                         ("frame_transformer", {"context": 3}), ("binary_ae", {})])
@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_cached_sampling_equals_uncached(datasets, name, extra, temperature):
    """In float64, so that no pixel's mode flips on rounding differences between the two paths."""
    data = Episodes(datasets["Urchin"])
    torch.manual_seed(0)
    model = MODELS[name](data_spec(data), **TINY[name], **extra).double().eval()
    batch = {k: v.double() for k, v in fixed_batch(datasets["Urchin"], 4).items()}
    with torch.no_grad():
        want = uncached_sample(model, batch, 2, temperature, torch.Generator().manual_seed(0))
        got = model.sample(batch, 2, temperature=temperature, generator=torch.Generator().manual_seed(0))
    assert torch.equal(got[:, :2], batch["lcd"][:, :2]) and not torch.equal(got, batch["lcd"])
    assert torch.equal(got, want)


@pytest.mark.parametrize("name", list(MODELS))
def test_checkpoint_reloads_to_identical_outputs(tmp_path, datasets, name):
    train(name, datasets["Bounce"], tmp_path / "r", steps=3, batch=4, progress=False, **TINY[name])
    model, state = load_model(tmp_path / "r")
    save_checkpoint(tmp_path / "again.pt", model, None, state["step"], state["run"],
                    torch.Generator(), state["elapsed"])
    again, _ = load_model(tmp_path / "again.pt")
    batch = fixed_batch(datasets["Bounce"], 4)
    for m in (model, again):
        torch.manual_seed(1)
        m.nll, m.rollout = m.frame_nll(batch), m.sample(batch, 3)
    assert torch.equal(model.nll.nan_to_num(), again.nll.nan_to_num()) and torch.equal(model.rollout, again.rollout)


def test_oracle_replays_the_episodes_it_sampled(tmp_path):
    """With the dataset's own starting poses as its prior, the oracle finds each episode's pose
    and its simulated rollout is the recorded episode, frame for frame: matching, reset to a
    state and replaying the actions are all exact."""
    collect("Dropbox", 12, tmp_path / "d", seed=0, progress=False, ep_len=10)
    data = Episodes(tmp_path / "d")
    batch = fixed_batch(tmp_path / "d", 12)
    firsts = {bytes(np.packbits(f.numpy().astype(np.uint8), axis=-1)) for f in batch["lcd"][:, 0]}
    assert len(firsts) == 12  # no two episodes start from the same frame, so each match is its own
    for decode in ("majority", "medoid"):
        model = MODELS["oracle"](data_spec(data), prior_samples=12, chunk=12, matches=1, prior_seed=0, decode=decode)
        result = evaluate(model, data, prompt=1, episodes=12)
        assert result["exact_frame"] == 1.0 and result["psnr"] == pytest.approx(100.0)
        assert result["bits_per_dim"] is None  # no likelihood: not defined, written null
    with pytest.raises(ValueError, match="oracle decode must be one of"):
        MODELS["oracle"](data_spec(data), decode="mean")


def test_medoid_is_the_most_typical_rollout():
    from boxlcd.models.oracle import medoid

    a, b = np.zeros((4, 2, 2), np.uint8), np.zeros((4, 2, 2), np.uint8)
    b[:, 0, 0] = 1
    outlier = np.ones((4, 2, 2), np.uint8)
    assert medoid(np.stack([b, a, b, outlier, b])) == 0
    assert medoid(np.stack([outlier, a, a, b])) == 1


def test_oracle_coverage_counts_the_episodes_with_a_pose(tmp_path):
    """oracle_coverage (experiments/oracle_matches.py, the oracle's coverage in docs/models.md):
    with the dataset's own seeds as the prior every episode has its pose; with other seeds and
    few draws, not all do."""
    from boxlcd.analysis import oracle_coverage

    collect("Dropbox", 12, tmp_path / "d", seed=0, progress=False, ep_len=10)
    found = {seed: oracle_coverage(tmp_path / "d", prior_samples=12, prior_seed=seed) for seed in (0, 1 << 40)}
    assert found[0]["episodes"] == 12 and found[0]["with_a_match"] == 1.0 and found[0]["mean_matches"] >= 1
    assert found[1 << 40]["with_a_match"] < 1.0


def test_oracle_refuses_robot_envs(datasets):
    spec = data_spec(Episodes(datasets["Urchin"]))
    with pytest.raises(ValueError, match="without a robot"):
        MODELS["oracle"](spec)


def test_ssim_and_psnr_match_ignite_0_4_4():
    """Values computed by pytorch-ignite 0.4.4's SSIM and PSNR (the paper's) on these pairs."""
    g = torch.Generator().manual_seed(0)
    true = (torch.rand(6, 16, 16, generator=g) < 0.1).double()
    pred = true.clone()
    pred[1:, 3:6, 4:8] = 1 - pred[1:, 3:6, 4:8]
    pred[2] = torch.roll(true[2], 1, 1)
    ssim = [frame_ssim(pred[i:i + 1], true[i:i + 1]) for i in range(6)]
    psnr = [frame_psnr(pred[i:i + 1], true[i:i + 1]) for i in range(6)]
    np.testing.assert_allclose(ssim, [1.0, 0.783802, 0.039968, 0.816649, 0.855717, 0.8118], atol=2e-6)
    np.testing.assert_allclose(psnr, [100.0, 13.2906, 7.8499, 13.2906, 13.2906, 13.2906], atol=1e-4)


def test_results_table_and_gif(tmp_path, datasets):
    from PIL import Image

    train("frame_transformer", datasets["Bounce"], tmp_path / "ft", steps=3, batch=4, progress=False,
          **TINY["frame_transformer"])
    rows = results([str(tmp_path / "ft")], {"Bounce": datasets["Bounce_test"]}, tmp_path / "res", episodes=4,
                   oracle=TINY["oracle"])
    assert [r["model"] for r in rows] == ["marginal", "copy_last", "oracle", "frame_transformer"]
    table = (tmp_path / "res" / "results.md").read_text()
    assert all(name in table for name in ("marginal", "copy_last", "oracle", "frame_transformer"))
    saved = strict_json(tmp_path / "res" / "results.json")
    assert len(saved) == 4 and len(saved[0]["per_horizon"]["ssim"]) == 11 - 3
    assert saved[2]["bits_per_dim"] is None and "| oracle prior_samples=4096 matches=4 chunk=1024 | Bounce-oracle | mode | 1 | 0 | - | - |" in table
    assert "| frame_transformer d_model=32 layers=1 heads=2 | ft | mode | 3 |" in table  # what tells runs apart
    assert "| marginal | Bounce-marginal | mode | 1 |" in table
    for r in rows:
        with Image.open(f"{r['folder']}/rollout.gif") as gif:  # Pillow merges repeated frames
            total = 0
            for i in range(gif.n_frames):
                gif.seek(i)
                total += gif.info["duration"]
            assert total == 11 * 150 and gif.size[1] == 6 * (3 * 16 + 4)
    copy, oracle = rows[1], rows[2]
    assert copy["exact_frame"] >= 0 and 0 <= copy["ssim"] <= 1
    assert oracle["pixel_error"] < copy["pixel_error"]  # the simulator knows where the ball goes


def test_results_reuse_earlier_rows(tmp_path, datasets):
    train("frame_transformer", datasets["Bounce"], tmp_path / "ft", steps=2, batch=4, progress=False,
          **TINY["frame_transformer"])
    args = ([str(tmp_path / "ft")], {"Bounce": datasets["Bounce_test"]}, tmp_path / "res")
    first = results(*args, episodes=4)
    marked = json.loads((tmp_path / "res" / "Bounce-frame_transformer" / "eval.json").read_text())
    marked["ssim"] = -1.0
    (tmp_path / "res" / "Bounce-frame_transformer" / "eval.json").write_text(json.dumps(marked))
    again = results(*args, reuse=True, episodes=4)
    assert again[2]["ssim"] == -1.0 and again[0]["ssim"] == first[0]["ssim"]
    assert results(*args, reuse=True, episodes=5)[2]["ssim"] != -1.0  # other settings: evaluated anew
    results(*args, episodes=0)  # all 6 test episodes
    marked = json.loads((tmp_path / "res" / "Bounce-frame_transformer" / "eval.json").read_text())
    (tmp_path / "res" / "Bounce-frame_transformer" / "eval.json").write_text(json.dumps({**marked, "ssim": -1.0}))
    assert results(*args, reuse=True, episodes=100)[2]["ssim"] == -1.0  # asking for more than there are: all 6
    for kept in ({**marked, "ssim": math.nan}, {**marked, "per_horizon": {"ssim": [math.inf]}}, [marked]):
        (tmp_path / "res" / "Bounce-frame_transformer" / "eval.json").write_text(json.dumps(kept))
        assert math.isfinite(results(*args, reuse=True, episodes=0)[2]["ssim"])  # not reused: evaluated anew
        assert strict_json(tmp_path / "res" / "results.json")[2]["ssim"] == marked["ssim"]


def test_train_eval_and_results_commands(tmp_path, datasets, capsys):
    """boxlcd train (run again to resume), eval and results: the same runs as the functions."""
    run = tmp_path / "run"
    tiny = [f"--set={k}={v}" for k, v in TINY["frame_transformer"].items()]
    args = ["train", "frame_transformer", "--data", str(datasets["Bounce"]), "--out", str(run), "--batch", "4",
            "--device", "cpu", "-q", *tiny]
    assert main(args + ["--steps", "3"]) == 0 and load_model(run)[1]["step"] == 3
    assert main(args + ["--steps", "5"]) == 0  # resumes; the warmup (200 steps) keeps the lr the same
    assert capsys.readouterr().out.strip().endswith("ckpt.pt")
    train("frame_transformer", datasets["Bounce"], tmp_path / "direct", steps=5, batch=4, device="cpu",
          progress=False, **TINY["frame_transformer"])
    a, b = load_model(run)[0].state_dict(), load_model(tmp_path / "direct")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)

    assert main(["eval", str(run), "--data", str(datasets["Bounce_test"]), "--episodes", "4"]) == 0
    assert "| Bounce | frame_transformer d_model=32 layers=1 heads=2 | run | mode | 5 |" in capsys.readouterr().out
    result = json.loads((run / "eval.json").read_text())
    assert result["steps"] == 5 and result["episodes"] == 4 and len(result["per_horizon"]["ssim"]) == 11 - 3
    assert (run / "rollout.gif").stat().st_size > 0 and (run / "eval.md").exists()

    assert main(["results", str(run), "--test", f"Bounce={datasets['Bounce_test']}", "--out", str(tmp_path / "res"),
                 "--episodes", "4"]) == 0
    assert [r["model"] for r in json.loads((tmp_path / "res" / "results.json").read_text())] == \
        ["marginal", "copy_last", "frame_transformer"]


def test_model_commands_bad_input(tmp_path, datasets, capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "transformer", "--data", str(datasets["Bounce"])])
    assert e.value.code == 2 and "invalid choice: 'transformer'" in capsys.readouterr().err
    assert main(["train", "marginal", "--data", str(tmp_path / "nothing"), "--out", str(tmp_path / "run")]) == 2
    assert "nothing has no manifest.json: not a boxlcd dataset" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    assert main(["eval", str(tmp_path / "run"), "--data", str(datasets["Bounce_test"])]) == 2
    assert f"boxlcd eval: {tmp_path / 'run'}: no checkpoint there" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "frame_transformer", "--data", str(datasets["Bounce"]), "--set", "d_model"])
    assert "expected KEY=VALUE, got 'd_model'" in capsys.readouterr().err
    assert main(["train", "frame_transformer", "--data", str(datasets["Bounce"]), "--out", str(tmp_path / "r"),
                 "--set", "layer=1", "-q"]) == 2
    assert "has no settings ['layer']" in capsys.readouterr().err
    for flag, value, why in (("--steps", "-1", "steps must be >= 1, got -1"), ("--batch", "0", "batch must be >= 1"),
                             ("--time-limit", "-1", "time_limit must be >= 0.0, got -1.0"),
                             ("--lr", "-0.1", "lr must be >= 0.0")):
        assert main(["train", "frame_transformer", "--data", str(datasets["Bounce"]), "--out", str(tmp_path / "r"),
                     flag, value, "-q"]) == 2
        assert why in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_model_commands_on_a_broken_dataset_print_one_line(tmp_path, datasets, capsys):
    import shutil

    assert main(["train", "marginal", "--data", str(datasets["Bounce_test"]), "--out", str(tmp_path / "m"), "-q"]) == 0
    broken = Path(shutil.copytree(datasets["Bounce_test"], tmp_path / "broken"))
    manifest = json.loads((broken / "manifest.json").read_text())
    (broken / "manifest.json").write_text(json.dumps({**manifest, "ep_len": 4}))
    capsys.readouterr()
    for args in (["train", "marginal", "--data", str(broken), "--out", str(tmp_path / "m2")],
                 ["eval", str(tmp_path / "m"), "--data", str(broken)],
                 ["results", str(tmp_path / "m"), "--test", f"Bounce={broken}", "--out", str(tmp_path / "res")]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err == f"boxlcd {args[0]}: {broken / 'manifest.json'}: ep_len is 4 but definition.ep_len is 10\n"
    assert not (tmp_path / "m2").exists()


def test_unknown_model_setting_is_an_error():
    from boxlcd.models.frame_transformer import FrameTransformer
    from boxlcd.models.marginal import Marginal

    spec = {"frame_shape": [16, 16], "action_size": 1, "proprio_size": 1, "robot": False, "ep_len": 5}
    with pytest.raises(ValueError, match=r"has no settings \['layer'\]; its settings: .*layers"):
        FrameTransformer(spec, layer=6)
    with pytest.raises(ValueError, match=r"Marginal has no settings \['d_model'\]; its settings: none"):
        Marginal(spec, d_model=8)


def test_binary_ae_chunked_evaluation_equals_one_pass():
    from boxlcd.models.binary_ae import in_chunks

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.GroupNorm(2, 4))
    x = torch.rand(10, 1, 8, 16)
    with torch.no_grad():
        torch.testing.assert_close(in_chunks(net, x, frames=3), net(x), rtol=0, atol=1e-6)


def test_original_columns_score_the_original_polarity_over_its_ep_len_frames(tmp_path, datasets):
    """ssim_original / psnr_original: background = 1 (the original testbed's frames) and only the
    predicted frames among the first ep_len (the frames its datasets stored), prompt frames left out."""
    train("copy_last", datasets["Bounce"], tmp_path / "copy", progress=False)
    model = load_model(tmp_path / "copy")[0]
    ep_len = Episodes(datasets["Bounce_test"]).ep_len  # 10: frames 0..9 of the 11 stored
    for prompt in (1, 3):
        r = evaluate(model, datasets["Bounce_test"], prompt=prompt, episodes=6)
        h = r["per_horizon"]
        assert len(h["ssim"]) == ep_len + 1 - prompt
        assert r["ssim_original"] == pytest.approx(np.mean(h["ssim_bg1"][:ep_len - prompt]), abs=1e-12)
        assert r["psnr_original"] == pytest.approx(np.mean(h["psnr"][:ep_len - prompt]), abs=1e-12)
        assert r["ssim_original"] != pytest.approx(r["ssim"], abs=1e-6)  # polarity matters to SSIM
    pred = torch.zeros(2, 16, 16)
    true = pred.clone()
    true[:, 4:8, 4:8] = 1
    assert frame_ssim(pred, true) != pytest.approx(frame_ssim(1 - pred, 1 - true))
    assert frame_psnr(pred, true) == pytest.approx(frame_psnr(1 - pred, 1 - true))
    assert evaluate(model, datasets["Bounce_test"], prompt=ep_len, episodes=2)["ssim_original"] is None


def test_results_saved_under_the_old_column_names_read_as_the_new():
    from boxlcd.models.evaluate import markdown_rows, upgrade_row

    old = {"env": "Bounce", "model": "copy_last", "ssim_seed": 0.5, "psnr_seed": 20.0, "ssim": 0.4}
    row = upgrade_row(old)
    assert (row["ssim_original"], row["psnr_original"], row["ssim"]) == (0.5, 20.0, 0.4)
    assert "ssim_seed" not in row and "| 0.500 | 20.0 |" in markdown_rows([row])
    saved = json.loads((Path(__file__).resolve().parent.parent / "docs" / "models_results.json").read_text())
    assert all("ssim_original" in upgrade_row(r) for r in saved)


class ScriptedModel:
    """Stands in for a model: each sample() call returns the next of some given rollouts."""
    bound = False

    def __init__(self, runs):
        self.runs = iter(runs)

    def sample(self, batch, prompt, temperature=0.0, generator=None):
        return next(self.runs).clone()


def test_majority_decoding_takes_each_pixels_majority_over_sampled_rollouts(tmp_path, datasets):
    truth = torch.zeros(1, 4, 2, 2)
    truth[0, 0] = 1  # the prompt frame
    runs = [torch.zeros(1, 4, 2, 2) for _ in range(4)]
    runs[0][0, 1:, 0, 0] = 1
    runs[1][0, 1:, 0, 0] = 1
    runs[2][0, 1:, 0, 0] = 1  # 3 of 4: on
    runs[0][0, 2, 1, 1] = runs[1][0, 2, 1, 1] = 1  # 2 of 4, a tie: not more than half, off
    got = rollouts(ScriptedModel(runs), {"lcd": truth}, prompt=1, temperature=1.0, samples=4)
    want = torch.zeros(1, 4, 2, 2)
    want[0, 0] = 1
    want[0, 1:, 0, 0] = 1
    assert torch.equal(got, want)

    train("frame_transformer", datasets["Bounce"], tmp_path / "ft", steps=3, batch=4, progress=False,
          **TINY["frame_transformer"])
    model = load_model(tmp_path / "ft")[0]
    batch = fixed_batch(datasets["Bounce_test"], n=6)
    gen = torch.Generator().manual_seed(7)
    one_by_one = torch.stack([model.sample(batch, 3, temperature=1.0, generator=gen) for _ in range(5)])
    majority = (one_by_one.sum(0) >= 3).float()
    majority[:, :3] = batch["lcd"][:, :3]
    voted = rollouts(model, batch, 3, temperature=1.0, samples=5, generator=torch.Generator().manual_seed(7))
    assert torch.equal(voted, majority)
    assert torch.equal(voted[:, :3], batch["lcd"][:, :3])
    assert not torch.equal(one_by_one[0], one_by_one[1])  # real samples: the majority has work to do


def test_majority_decoding_in_eval_and_results(tmp_path, datasets, capsys):
    train("frame_transformer", datasets["Bounce"], tmp_path / "ft", steps=3, batch=4, progress=False,
          **TINY["frame_transformer"])
    model = load_model(tmp_path / "ft")[0]
    a = evaluate(model, datasets["Bounce_test"], episodes=4, temperature=1.0, samples=3, seed=5)
    assert (a["decode"], a["samples"]) == ("vote 3 T=1", 3)
    assert evaluate(model, datasets["Bounce_test"], episodes=4, temperature=1.0, samples=3, seed=5) == a
    for bad, why in [(dict(samples=0), "samples must be a whole number >= 1 and <= 1024, got 0"),
                     (dict(samples=2.5, temperature=1.0), "samples must be a whole number >= 1 and <= 1024, got 2.5"),
                     (dict(samples=10**9, temperature=1.0), "samples must be .* <= 1024, got 1000000000"),
                     (dict(samples=4), "a majority over 4 rollouts needs a temperature > 0")]:
        with pytest.raises(ValueError, match=why):
            evaluate(model, datasets["Bounce_test"], episodes=2, **bad)

    rows = results([str(tmp_path / "ft")], {"Bounce": datasets["Bounce_test"]}, tmp_path / "res", episodes=4,
                   samples=(1, 3))
    assert [(r["model"], r["decode"]) for r in rows] == [
        ("marginal", "mode"), ("copy_last", "mode"), ("frame_transformer", "mode"), ("frame_transformer", "vote 3 T=1")]
    assert rows[3]["folder"].endswith("Bounce-frame_transformer-vote3")
    table = (tmp_path / "res" / "results.md").read_text()
    assert "| ft | mode | 3 |" in table and "| ft | vote 3 T=1 | 3 |" in table
    marked = json.loads((tmp_path / "res" / "Bounce-frame_transformer-vote3" / "eval.json").read_text())
    marked["ssim"] = -1.0
    (tmp_path / "res" / "Bounce-frame_transformer-vote3" / "eval.json").write_text(json.dumps(marked))
    again = results([str(tmp_path / "ft")], {"Bounce": datasets["Bounce_test"]}, tmp_path / "res", episodes=4,
                    samples=(3,), reuse=True)
    assert [r["decode"] for r in again] == ["mode", "mode", "vote 3 T=1"] and again[2]["ssim"] == -1.0
    with pytest.raises(ValueError, match=r"samples must be a whole number >= 1 and <= 1024, got 0"):
        results([str(tmp_path / "ft")], {"Bounce": datasets["Bounce_test"]}, tmp_path / "res", samples=(0,))

    assert main(["eval", str(tmp_path / "ft"), "--data", str(datasets["Bounce_test"]), "--episodes", "4",
                 "--samples", "3", "--seed", "5"]) == 0  # temperature 1 unless asked otherwise
    assert "| ft | vote 3 T=1 | 3 |" in capsys.readouterr().out
    assert json.loads((tmp_path / "ft" / "eval.json").read_text())["ssim"] == a["ssim"]
    assert main(["eval", str(tmp_path / "ft"), "--data", str(datasets["Bounce_test"]), "--samples", "3",
                 "--temperature", "0"]) == 2
    assert "needs a temperature > 0" in capsys.readouterr().err


STEPPERS = ["marginal", "copy_last", "constant_velocity", "frame_transformer", "frame_transformer+conv", "frame_transformer+dynamics",
            "frame_transformer+render", "binary_ae", "rssm"]


def stepper(name, spec, **extra):
    torch.manual_seed(0)
    return MODELS[name.split("+")[0]](spec, **TINY[name], **extra).eval()


@pytest.mark.parametrize("temperature", [0.0, 1.0])
@pytest.mark.parametrize("name", STEPPERS)
def test_stepping_one_action_at_a_time_equals_sample(datasets, name, temperature):
    """The step contract by hand (start, then one step per action, rows reset midway) gives
    sample's frames and the model's proprio, for the same generator seed."""
    data = Episodes(datasets["Urchin"])
    model = stepper(name, data_spec(data))
    batch = fixed_batch(datasets["Urchin"], 4)
    if model.closed_form:
        model.fit([batch])
    want = model.sample(batch, 2, temperature=temperature, generator=torch.Generator().manual_seed(3))
    gen = torch.Generator().manual_seed(3)
    state = model.start({"lcd": batch["lcd"][:, :2], "actions": batch["actions"][:, :1],
                         "proprio": batch["proprio"][:, :2]})
    for t in range(2, batch["lcd"].shape[1]):
        frame, proprio, state = model.step(state, batch["actions"][:, t - 1], temperature, gen)
        assert torch.equal(frame, want[:, t]), t
        assert frame.shape == (4, *data.frame_shape) and set(frame.unique().tolist()) <= {0.0, 1.0}
        assert proprio.shape == (4, len(data.manifest["proprio_keys"])) and torch.isfinite(proprio).all()


@pytest.mark.parametrize("name", ["frame_transformer", "frame_transformer+dynamics", "binary_ae", "rssm"])
def test_a_reset_row_steps_as_if_alone(datasets, name):
    """Rows of one state restarted at another time (put_rows of a new start) predict what the
    same prompt predicts alone: what LearnedEnv does when some envs reset."""
    data = Episodes(datasets["Urchin"])
    model = stepper(name, data_spec(data))
    batch = fixed_batch(datasets["Urchin"], 3)
    prompt = lambda rows, t: {"lcd": batch["lcd"][rows, t:t + 2], "actions": batch["actions"][rows, t:t + 1],  # noqa: E731
                              "proprio": batch["proprio"][rows, t:t + 2]}
    state = model.start(prompt([0, 1, 2], 0))
    for t in range(2, 4):
        model.step(state, batch["actions"][:, t - 1])
    put_rows(state, torch.tensor([1]), model.start(prompt([1], 3)))
    alone = model.start(prompt([1], 3))
    for t in range(5, 8):
        frame, proprio, state = model.step(state, batch["actions"][:, t - 1])
        frame1, proprio1, alone = model.step(alone, batch["actions"][1:2, t - 1])
        torch.testing.assert_close(frame[1:2], frame1)
        torch.testing.assert_close(proprio[1:2], proprio1, rtol=1e-4, atol=1e-5)


def test_dynamics_head_predicts_the_change_of_the_vector(datasets):
    """dynamics > 0: the MLP's output is added to the last vector, so an MLP that outputs zero
    predicts no motion, in training (teacher-forced) and in stepping alike; it reads the last
    two vectors and the action, so a change in the one before the last changes the prediction."""
    data = Episodes(datasets["Urchin"])
    model = stepper("frame_transformer+dynamics", data_spec(data))
    batch = fixed_batch(datasets["Urchin"], 4)
    prompt = {"lcd": batch["lcd"][:, :2], "actions": batch["actions"][:, :1], "proprio": batch["proprio"][:, :2]}
    state = model.start(prompt)
    _, moved, _ = model.step(state, batch["actions"][:, 1])
    other = model.start({**prompt, "proprio": torch.stack([batch["proprio"][:, 0] + 0.1, batch["proprio"][:, 1]], 1)})
    _, moved_other, _ = model.step(other, batch["actions"][:, 1])
    assert not torch.allclose(moved, moved_other)
    with torch.no_grad():
        model.dynamics[-1].weight.zero_()
        model.dynamics[-1].bias.zero_()
    _, prop = model._teacher_forced(batch)
    torch.testing.assert_close(prop[:, 1:], batch["proprio"][:, :-1])
    assert torch.equal(prop[:, 0], torch.zeros_like(prop[:, 0]))  # frame 0 has no last vector
    state = model.start(prompt)
    for t in range(2, 5):
        _, proprio, state = model.step(state, batch["actions"][:, t - 1])
        torch.testing.assert_close(proprio, batch["proprio"][:, 1])


def test_render_draws_the_frame_from_the_predicted_vector(datasets):
    """render > 0: with the transformer's pixel readout zeroed, the frame's logits are the
    renderer's of the predicted vector, in training and in stepping, so a different last
    vector draws a different frame; the loss adds the renderer's own loss on the true vectors;
    an env without a vector is refused."""
    data = Episodes(datasets["Urchin"])
    model = stepper("frame_transformer+render", data_spec(data))
    batch = fixed_batch(datasets["Urchin"], 4)
    pixels = model.pixels
    with torch.no_grad():
        model.head.weight[:pixels].zero_()
        model.head.bias[:pixels].zero_()
        logits, prop = model._teacher_forced(batch)
        torch.testing.assert_close(logits, model.render(prop))
        loss, logs = model.loss(batch)
    frames = batch["lcd"].flatten(2)
    drawn = bernoulli_nll(model.render(batch["proprio"]), frames).mean()
    assert logs["render_nll_per_pixel"] == pytest.approx(drawn.item(), rel=1e-6)
    want = bernoulli_nll(logits, frames).mean() + model.config["proprio_weight"] * vector_mse(prop, batch["proprio"]) + drawn
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)
    prompt = {"lcd": batch["lcd"][:, :2], "actions": batch["actions"][:, :1], "proprio": batch["proprio"][:, :2]}
    moved = {**prompt, "proprio": prompt["proprio"] + 0.2}
    with torch.no_grad():
        model.dynamics[-1].weight.zero_()  # the predicted vector is the last one
        model.dynamics[-1].bias.zero_()
    _, vector, _ = model.step(model.start(prompt), batch["actions"][:, 1], temperature=0.0)
    torch.testing.assert_close(vector, batch["proprio"][:, 1])
    a = model.step(model.start(prompt), batch["actions"][:, 1], temperature=0.0)[2]["frame"]
    want = (model.render(batch["proprio"][:, 1]) > 0).float().reshape(a.shape)
    assert torch.equal(a, want)
    b = model.step(model.start(moved), batch["actions"][:, 1], temperature=0.0)[2]["frame"]
    assert torch.equal(b, (model.render(batch["proprio"][:, 1] + 0.2) > 0).float().reshape(b.shape))
    with pytest.raises(ValueError, match="render needs a vector to draw from"):
        stepper("frame_transformer+render", data_spec(Episodes(datasets["Bounce"])))


def test_the_renderer_learns_to_draw_the_robot(tmp_path, datasets):
    """A short run teaches the renderer alone (from the true vectors) to draw the frames better
    than the pixels' marginal does: it reads where the robot is from the vector."""
    out = tmp_path / "run"
    train("frame_transformer", datasets["Urchin"], out, steps=150, batch=8, lr=3e-3, warmup=1, progress=False,
          **TINY["frame_transformer+render"])
    model = load_model(out)[0].eval()
    batch = fixed_batch(datasets["Urchin"])
    on = batch["lcd"].mean()
    marginal = -(on * on.log() + (1 - on) * (1 - on).log()).item()
    with torch.no_grad():
        drawn = model.loss(batch)[1]["render_nll_per_pixel"]
    assert drawn < 0.9 * marginal


def test_bf16_precision_runs_the_blocks_in_bf16_and_steps_in_fp32(datasets):
    """precision=bf16: the teacher-forced pass (training) runs the transformer's blocks in bf16,
    close to but not equal to fp32 on the same weights; stepping stays fp32, equal to fp32's."""
    spec = data_spec(Episodes(datasets["Urchin"]))
    fp32 = stepper("frame_transformer+dynamics", spec)
    bf16 = stepper("frame_transformer+dynamics", spec, precision="bf16")
    bf16.load_state_dict(fp32.state_dict())
    batch = fixed_batch(datasets["Urchin"], 4)
    with torch.no_grad():
        (l32, p32), (l16, p16) = fp32._teacher_forced(batch), bf16._teacher_forced(batch)
    assert l16.dtype == p16.dtype == torch.float32
    assert not torch.equal(l32, l16)
    torch.testing.assert_close(l16, l32, rtol=0.05, atol=0.05)
    torch.testing.assert_close(p16, p32, rtol=0.05, atol=0.02)
    prompt = {"lcd": batch["lcd"][:, :2], "actions": batch["actions"][:, :1], "proprio": batch["proprio"][:, :2]}
    s32, s16 = fp32.start(prompt), bf16.start(prompt)
    for t in range(2, 5):
        f32, q32, s32 = fp32.step(s32, batch["actions"][:, t - 1])
        f16, q16, s16 = bf16.step(s16, batch["actions"][:, t - 1])
        assert torch.equal(f32, f16) and torch.equal(q32, q16)
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16, got 'fp16'"):
        stepper("frame_transformer", spec, precision="fp16")


def test_bf16_warns_on_a_cpu_without_bf16_arithmetic(monkeypatch):
    import warnings

    from boxlcd.models import precision

    monkeypatch.setattr(precision, "cpu_flags", lambda: {"sse2", "avx2"})
    with pytest.warns(RuntimeWarning, match="without AVX512-BF16 or AMX"):
        precision.warn_if_bf16_is_slow("cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        precision.warn_if_bf16_is_slow("cuda")  # a GPU: no CPU check
        monkeypatch.setattr(precision, "cpu_flags", lambda: {"avx2", "avx512_bf16"})
        precision.warn_if_bf16_is_slow("cpu")
        monkeypatch.setattr(precision, "cpu_flags", set)  # nothing to go by
        precision.warn_if_bf16_is_slow("cpu")


def test_input_noise_perturbs_what_the_model_reads_not_what_it_predicts(datasets):
    """input_noise: training reads vectors with seeded Gaussian noise; the targets, and the
    evaluation's frame_nll, stay clean. With the dynamics MLP zeroed the prediction is the
    noisy last vector itself, so the noise is exactly the one drawn."""
    spec = data_spec(Episodes(datasets["Urchin"]))
    clean = stepper("frame_transformer+dynamics", spec)
    noisy = stepper("frame_transformer+dynamics", spec, input_noise=0.1)
    noisy.load_state_dict(clean.state_dict())
    batch = fixed_batch(datasets["Urchin"], 4)
    with torch.no_grad():
        noisy.dynamics[-1].weight.zero_()
        noisy.dynamics[-1].bias.zero_()
        torch.manual_seed(5)
        _, prop = noisy._teacher_forced(batch, 0.1)
        inputs = batch["proprio"][:, :-1]
        torch.manual_seed(5)
        torch.testing.assert_close(prop[:, 1:], inputs + 0.1 * torch.randn_like(inputs))
        torch.manual_seed(5)
        noisy_loss, _ = noisy.loss(batch)
        torch.manual_seed(5)
        torch.testing.assert_close(noisy_loss, noisy.loss(batch)[0])  # seeded
        noisy.load_state_dict(clean.state_dict())
        assert not torch.equal(noisy.loss(batch)[0], clean.loss(batch)[0])
        torch.testing.assert_close(noisy.frame_nll(batch), clean.frame_nll(batch))
    with pytest.raises(ValueError, match="input_noise must be >= 0, got -0.1"):
        stepper("frame_transformer", spec, input_noise=-0.1)


def test_balanced_vector_loss_weighs_each_key_by_how_much_it_moves():
    """balanced: a key's squared error is divided by its step variance, relative to the keys'
    mean (which keeps the loss on plain MSE's scale). So rescaling one key (a cube's x in other
    units) changes the loss only through that mean, where plain MSE loses the key's error."""
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(4, 12, 3, generator=gen).cumsum(1)
    predicted = target + 0.1 * torch.randn(4, 12, 3, generator=gen)
    torch.testing.assert_close(vector_mse(predicted, target), torch.nn.functional.mse_loss(predicted, target))

    def mean_step_var(t):
        return (t[:, 1:] - t[:, :-1]).flatten(0, 1).var(dim=0).mean()

    scale = torch.tensor([1.0, 0.1, 1.0])  # the second key now moves 10x less, its error too
    before = vector_mse(predicted, target, balanced=True) / mean_step_var(target)
    after = vector_mse(predicted * scale, target * scale, balanced=True) / mean_step_var(target * scale)
    torch.testing.assert_close(after, before)
    plain_share = ((predicted - target)[..., 1] ** 2).mean() / ((predicted - target) ** 2).sum(-1).mean()
    plain_share_scaled = (((predicted - target) * scale)[..., 1] ** 2).mean() / (
        ((predicted - target) * scale) ** 2).sum(-1).mean()
    assert plain_share_scaled < plain_share / 50  # in plain MSE the rescaled key all but vanishes
    # a key that never moves gets at most 1000x the mean weight, not a division by zero
    still = target.clone()
    still[..., 1] = 1.0
    assert 0 < vector_mse(still + 0.1, still, balanced=True) <= 0.1 ** 2 * 1000
    # nothing moves in the batch (or one window of two frames): every key weighs 1, as plain MSE
    nothing = torch.ones(1, 2, 3)
    torch.testing.assert_close(vector_mse(nothing + 0.1, nothing, balanced=True), torch.tensor(0.01))


def test_frame_transformer_trains_on_the_balanced_vector_loss(datasets):
    """With balanced_vector_loss the frame transformer's vector loss is the balanced one; its
    logged proprio_mse stays plain MSE, so runs with either loss compare."""
    spec = data_spec(Episodes(datasets["Urchin"]))
    plain = stepper("frame_transformer+dynamics", spec)
    balanced = stepper("frame_transformer+dynamics", spec, balanced_vector_loss=True)
    balanced.load_state_dict(plain.state_dict())
    batch = fixed_batch(datasets["Urchin"], 4)
    with torch.no_grad():
        (loss_p, logs_p), (loss_b, logs_b) = plain.loss(batch), balanced.loss(batch)
        _, prop = plain._teacher_forced(batch)
        nll = logs_p["nll_per_pixel"]
        weight = plain.config["proprio_weight"]
    assert logs_b["proprio_mse"] == pytest.approx(logs_p["proprio_mse"])
    assert loss_p.item() == pytest.approx(nll + weight * logs_p["proprio_mse"], rel=1e-5)
    assert loss_b.item() == pytest.approx(nll + weight * vector_mse(prop, batch["proprio"], True).item(), rel=1e-5)
    assert loss_b.item() != pytest.approx(loss_p.item())


@pytest.mark.parametrize("name", ["frame_transformer", "frame_transformer+dynamics", "binary_ae", "rssm"])
def test_predict_state_learns_and_steps_the_full_state(datasets, name, tmp_path):
    """predict_state=true: the model reads and predicts full_state; its proprio is the robot's
    entries of it, and a trained one predicts the state better than at initialisation."""
    data = Episodes(datasets["Urchin"])
    spec = data_spec(data)
    batch = fixed_batch(datasets["Urchin"], 8)
    out = tmp_path / name
    train(name.split("+")[0], str(datasets["Urchin"]), str(out), steps=1, batch=4, progress=False, predict_state=True,
          **TINY[name])
    before, _ = load_model(out)
    train(name.split("+")[0], str(datasets["Urchin"]), str(out), steps=60, batch=8, lr=3e-3, warmup=1, progress=False,
          predict_state=True, **TINY[name])
    model, _ = load_model(out)
    assert model.vector.key == "full_state" and model.P == len(spec["state_keys"])
    start = {"lcd": batch["lcd"][:, :1], "actions": batch["actions"][:, :0], "proprio": batch["proprio"][:, :1],
             "full_state": batch["full_state"][:, :1]}
    errors = []
    for m in (before, model):
        state = m.start(start)
        _, proprio, state = m.step(state, batch["actions"][:, 0])
        assert state["vector"].shape == (8, len(spec["state_keys"]))
        torch.testing.assert_close(proprio, state["vector"][:, spec["proprio_index"]])
        errors.append(((state["vector"] - batch["full_state"][:, 1]) ** 2).mean().item())
    assert errors[1] < 0.75 * errors[0], errors


def test_vector_fit_sets_the_model_beside_copying_the_last_value(tmp_path, datasets):
    """vector_fit (experiments/vector_fit.py, the per-key one-step errors): its copy-last error
    is the data's own step size; a model whose dynamics MLP outputs zero predicts the last
    vector, so its error equals copying's on every key."""
    from boxlcd.analysis import vector_fit

    out = train("frame_transformer", datasets["Urchin"], tmp_path / "ft", steps=2, batch=4, device="cpu",
                progress=False, **TINY["frame_transformer+dynamics"])
    ckpt = torch.load(out, weights_only=False)
    last = max(k for k in ckpt["model"] if k.startswith("dynamics.") and k.endswith(".weight"))
    ckpt["model"][last].zero_()
    ckpt["model"][last.replace("weight", "bias")].zero_()
    torch.save(ckpt, out)
    keys = vector_fit(tmp_path / "ft", datasets["Urchin"], episodes=5, batch=2)["keys"]
    data = Episodes(datasets["Urchin"])
    proprio = np.stack([data.episode(e)["proprio"] for e in range(len(data) - 5, len(data))])
    steps = np.sqrt(((proprio[:, 1:] - proprio[:, :-1]) ** 2).mean((0, 1)))
    assert list(keys) == list(data.manifest["proprio_keys"])
    for k, step in zip(keys, steps):
        assert keys[k]["copy_last_rmse"] == pytest.approx(step, rel=1e-5, abs=1e-7)
        assert keys[k]["model_rmse"] == pytest.approx(keys[k]["copy_last_rmse"], rel=1e-5, abs=1e-7)


def test_episode_stats_agrees_with_eval(tmp_path, datasets):
    """episode_stats (experiments/episode_stats.py, the standard errors and vote thresholds in
    docs/models.md): its mean over episodes is eval's ssim_original / psnr_original for the same
    rollouts."""
    from boxlcd.analysis import episode_stats

    train("frame_transformer", datasets["Bounce"], tmp_path / "ft", steps=3, batch=4, device="cpu", progress=False,
          **TINY["frame_transformer"])
    rows = episode_stats(tmp_path / "ft", datasets["Bounce_test"], samples=(1, 3), thresholds=(0.3, 0.5),
                         fraction=True, batch=4)["decodings"]
    assert list(rows) == ["mode", "vote 3 >0.3", "vote 3 >0.5", "fraction of 3"]
    model, _ = load_model(tmp_path / "ft")
    for name, samples in (("mode", 1), ("vote 3 >0.5", 3)):
        r = evaluate(model, datasets["Bounce_test"], episodes=0, batch=4, samples=samples,
                     temperature=1.0 if samples > 1 else 0.0)
        assert len(rows[name]["ssim_original"]) == 6
        assert np.mean(rows[name]["ssim_original"]) == pytest.approx(r["ssim_original"], rel=1e-9)
        assert np.mean(rows[name]["psnr_original"]) == pytest.approx(r["psnr_original"], rel=1e-9)


def test_eval_refuses_non_finite_scores_other_physics_and_bad_flags(tmp_path, datasets, capsys):
    train("frame_transformer", datasets["Bounce"], tmp_path / "ft", steps=1, batch=2, progress=False,
          **TINY["frame_transformer"])
    test, out = str(datasets["Bounce_test"]), tmp_path / "e"
    # finite weights whose predictions overflow: bits/dim would be NaN
    ckpt = torch.load(tmp_path / "ft" / "ckpt.pt", weights_only=False)
    ckpt["model"] = {k: v * 1e38 if v.is_floating_point() else v for k, v in ckpt["model"].items()}
    torch.save(ckpt, tmp_path / "huge.pt")
    assert main(["eval", str(tmp_path / "huge.pt"), "--data", test, "--out", str(out), "--episodes", "2"]) == 2
    err = capsys.readouterr().err
    assert "bits_per_dim is nan: the model's predictions are not finite" in err and err.count("\n") == 1
    assert not (out / "eval.json").exists()
    # same env and shapes, other physics
    collect("Bounce", 2, tmp_path / "flat", seed=1000, progress=False, ep_len=10, gravity_y=0.0)
    assert main(["eval", str(tmp_path / "ft"), "--data", str(tmp_path / "flat"), "--out", str(out)]) == 2
    assert "collected with overrides {'ep_len': 10, 'gravity_y': 0.0}: other physics (gravity" in capsys.readouterr().err
    for flag, value, why in (("--samples", "1000000000", "samples must be a whole number >= 1 and <= 1024"),
                             ("--device", "meta", "device must be cpu, cuda or cuda:N, got 'meta'"),
                             ("--device", "cuda:99", "device 'cuda:99'")):
        assert main(["eval", str(tmp_path / "ft"), "--data", test, "--out", str(out), flag, value]) == 2
        assert why in capsys.readouterr().err
    assert not (out / "eval.json").exists()
