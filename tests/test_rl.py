"""RL: the SB3 adapter's autoreset contract, a short PPO run that learns, the rl commands."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from boxlcd.cli import main  # noqa: E402
from boxlcd.dataset import collect  # noqa: E402
from boxlcd.models.train import train as train_model  # noqa: E402
from boxlcd.rl.evaluate import evaluate, first_episodes, summary  # noqa: E402
from boxlcd.rl.sb3 import SB3VecEnv  # noqa: E402
from boxlcd.rl.actor import ppo_policy  # noqa: E402
from boxlcd.rl.config import RunConfig, TrainOptions  # noqa: E402
from boxlcd.rl.train import load_policy, make_env, read_run, the_task  # noqa: E402
from boxlcd.rl.train import train as train_ppo  # noqa: E402
from boxlcd.tasks import make_task  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

def train(env, task, out, threads=None, **settings):
    """rl train, quiet, on torch's current threads: the run's settings as keywords."""
    options = TrainOptions(out=str(out), quiet=True, threads=threads or torch.get_num_threads())
    return train_ppo(RunConfig(env=env, task=task, **settings), options)


SHORT = {"num_envs": 64, "n_steps": 32, "batch_size": 512, "n_epochs": 5, "net": [64, 64]}


def test_adapter_autoreset_and_terminal_observations():
    """An ended env's info has its last observation (the task's final_obs, flattened), the
    returned observation is already the next episode's, and timeouts are marked truncated."""
    vec = SB3VecEnv(make_task("Luxo", "body", num_envs=4, threshold=0.2, ep_len=6))
    vec.seed(0)
    obs = vec.reset()
    assert obs.shape == (4, 32) and obs.dtype == np.float32 and vec.observation_space.contains(obs[0])
    rng = np.random.default_rng(0)
    seen_success = seen_timeout = False
    for _ in range(30):
        actions = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
        vec.step_async(actions)
        task_state = {k: v.copy() for k, v in vec.last_obs.items()}
        obs, reward, dones, infos = vec.step_wait()
        np.testing.assert_array_equal(obs, vec.flat(vec.last_obs))
        for i in np.flatnonzero(dones):
            info = infos[i]
            assert set(info) == {"terminal_observation", "TimeLimit.truncated", "is_success", "episode"}
            assert info["terminal_observation"].shape == (32,)
            assert not np.array_equal(info["terminal_observation"], obs[i])  # new start, new goal
            # the goal half of the terminal observation is the ended episode's goal
            np.testing.assert_array_equal(info["terminal_observation"][16:], task_state["goal:proprio"][i])
            assert info["TimeLimit.truncated"] != info["is_success"]
            assert (reward[i] > 0) == info["is_success"]
            seen_success |= info["is_success"]
            seen_timeout |= info["TimeLimit.truncated"]
        assert not any(infos[i] for i in np.flatnonzero(~dones))
    assert seen_success and seen_timeout
    counts = vec.take_counts()
    assert counts["episodes"] > counts["successes"] > 0 and vec.take_counts()["episodes"] == 0


def test_adapter_history_holds_the_previous_proprio():
    """history=3: the vector is proprio, goal, then the two previous proprio values, newest
    first. A fresh episode repeats its first proprio; a terminal observation keeps the history
    its episode ended with; bad values are refused."""
    vec = SB3VecEnv(make_task("Luxo", "body", num_envs=4, threshold=0.2, ep_len=4), history=3)
    vec.seed(0)
    obs = vec.reset()
    assert obs.shape == (4, 64) and vec.observation_space.shape == (64,)
    seen = [obs[:, :16]]  # proprio per step of the current episode, per env
    starts = np.zeros(4, np.int64)
    rng = np.random.default_rng(1)
    ended = 0
    for t in range(1, 25):
        obs, _, dones, infos = vec.step(rng.uniform(-1, 1, (4, 3)).astype(np.float32))
        for i in range(4):
            if dones[i]:
                ended += 1
                last = infos[i]["terminal_observation"]
                older = [seen[max(t - 1, starts[i])][i], seen[max(t - 2, starts[i])][i]]
                np.testing.assert_array_equal(last[32:], np.concatenate(older))
                np.testing.assert_array_equal(obs[i, 32:], np.tile(obs[i, :16], 2))
                starts[i] = t
            else:
                older = [seen[max(t - 1, starts[i])][i], seen[max(t - 2, starts[i])][i]]
                np.testing.assert_array_equal(obs[i, 32:], np.concatenate(older))
        seen.append(obs[:, :16].copy())
    assert ended >= 8
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="history must be an integer >= 1"):
            SB3VecEnv(make_task("Luxo", "body", num_envs=2), history=bad)


def test_pixel_adapter_reads_the_frames_only():
    """obs="pixels": the vector is the frame's bits, the goal frame's, then the previous frame
    (history 2), within the space; a policy fed two states with equal frames and different
    proprio (and goal proprio) acts the same, and frames that differ change its input."""
    from boxlcd.rl.train import new_ppo

    vec = SB3VecEnv(make_task("Luxo", "body", num_envs=4, threshold=0.2, ep_len=4), history=2, obs="pixels")
    vec.seed(0)
    obs = vec.reset()
    assert vec.keys == ("lcd", "goal:lcd") and obs.shape == (4, 3 * 16 * 32)
    assert set(np.unique(obs)) == {0.0, 1.0} and vec.observation_space.contains(obs[0])
    frame = lambda lcd: np.unpackbits(lcd, axis=-1).reshape(len(lcd), -1)  # noqa: E731 (32 columns: whole bytes)
    previous = frame(vec.last_obs["lcd"])
    np.testing.assert_array_equal(obs[:, :512], previous)
    np.testing.assert_array_equal(obs[:, 512:1024], frame(vec.last_obs["goal:lcd"]))
    np.testing.assert_array_equal(obs[:, 1024:], previous)  # a fresh episode repeats its first frame
    rng = np.random.default_rng(0)
    for _ in range(6):
        obs, _, dones, infos = vec.step(rng.uniform(-1, 1, (4, 3)).astype(np.float32))
        for i in range(4):
            shown = infos[i]["terminal_observation"] if dones[i] else obs[i]
            np.testing.assert_array_equal(shown[1024:], previous[i])
        previous = frame(vec.last_obs["lcd"])

    model = new_ppo(RunConfig(env="Luxo", obs="pixels", history=2, net=[32]), vec)
    state = {k: v.copy() for k, v in vec.last_obs.items()}
    other = {**state, "proprio": -state["proprio"] + 0.3, "goal:proprio": state["goal:proprio"][::-1].copy()}
    a, b = vec.flat(state), vec.flat(other)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(model.predict(a, deterministic=True)[0], model.predict(b, deterministic=True)[0])
    moved = {**state, "lcd": np.roll(state["lcd"], 1, axis=1)}
    assert not np.array_equal(vec.flat(moved), a)


def test_a_pixel_policy_trains_evaluates_and_collects(tmp_path, monkeypatch):
    """rl train --obs pixels makes a run whose policy reads frames; rl eval and collect
    --policy ppo:RUN feed it the same vector: the frames of the episode it drives."""
    from boxlcd.dataset import Episodes

    out = train("Luxo", "body", tmp_path / "ppo", obs="pixels", history=2, steps=64, ep_len=10, num_envs=16,
                n_steps=4, batch_size=64, net=[16])
    assert read_run(out).obs == "pixels"
    r = evaluate(str(out), episodes=8)
    assert 0 <= r["success_rate"] <= 1
    recorder = Recorder()
    monkeypatch.setattr("boxlcd.rl.train.load_policy", lambda run_dir, **kw: recorder)
    collect("Luxo", 3, tmp_path / "c", policy=ppo_policy(f"ppo:{out}"), progress=False, ep_len=10)
    frames = np.stack([Episodes(tmp_path / "c").episode(i)["frames"] for i in range(3)])  # (3, 11, 16, 4)
    bits = np.unpackbits(frames, axis=-1).reshape(3, 11, -1).astype(np.float32)
    seen = np.stack(recorder.seen, axis=1)  # (3, 10, frame, goal frame, previous frame)
    assert seen.shape == (3, 10, 3 * 512)
    for t in range(10):
        np.testing.assert_array_equal(seen[:, t, :512], bits[:, t])
        np.testing.assert_array_equal(seen[:, t, 1024:], bits[:, max(t - 1, 0)])


def test_the_conv_encoder_reads_each_frame_as_an_image_both_nets_share(tmp_path):
    """--set encoder=conv: one FrameEncoder reads the pixel vector as a stack of frames (each
    frame one channel), shared by the policy and value nets; a run trains, reloads and is
    evaluated with it; it is refused for state policies and by --init across encoders."""
    from boxlcd.rl.encoder import FrameEncoder
    from boxlcd.rl.train import new_ppo

    with pytest.raises(ValueError, match="encoder conv reads frames: it needs --obs pixels"):
        RunConfig(env="Luxo", encoder="conv").check()
    with pytest.raises(ValueError, match="encoder must be one of mlp, conv, got 'cnn'"):
        RunConfig(env="Luxo", obs="pixels", encoder="cnn").check()
    vec = SB3VecEnv(make_task("Luxo", "body", num_envs=4, threshold=0.2, ep_len=4), history=2, obs="pixels")
    vec.seed(0)
    obs = torch.as_tensor(vec.reset())
    policy = new_ppo(RunConfig(env="Luxo", obs="pixels", history=2, net=[32], encoder="conv"), vec).policy
    encoder = policy.features_extractor
    assert isinstance(encoder, FrameEncoder) and encoder.shape == (3, 16, 32)
    assert policy.pi_features_extractor is policy.vf_features_extractor is encoder
    first = encoder.conv[0]
    with torch.no_grad():
        for channel in range(3):  # only frame `channel`'s weights on: only its bits move the output
            first.weight.zero_()
            first.weight[:, channel].normal_()
            for frame in range(3):
                changed = obs.clone()
                changed[:, frame * 512:(frame + 1) * 512] = 1 - changed[:, frame * 512:(frame + 1) * 512]
                moved = not torch.equal(encoder(changed), encoder(obs))
                assert moved == (frame == channel), (channel, frame)

    tiny = dict(ep_len=10, num_envs=16, n_steps=4, batch_size=64, net=[16], obs="pixels", history=2)
    out = train("Luxo", "body", tmp_path / "conv", steps=64, encoder="conv", **tiny)
    assert read_run(out).encoder == "conv"
    assert isinstance(load_policy(out).policy.features_extractor, FrameEncoder)
    assert 0 <= evaluate(str(out), episodes=8)["success_rate"] <= 1
    with pytest.raises(ValueError, match=r"another encoder than this run.s \(encoder 'conv'; this run: encoder 'mlp'\)"):
        train("Luxo", "body", tmp_path / "mlp", steps=64, init=str(out), **tiny)


def test_init_starts_from_another_run_and_keep_scores_checkpoints(tmp_path, capsys):
    """--init copies a run's policy weights (refused when env, task, obs, history or net
    differ); --keep keeps each checkpoint, and rl eval --checkpoints scores them on the same
    episodes (in the engine only, for a run trained there)."""
    import zipfile

    tiny = dict(ep_len=10, num_envs=16, n_steps=4, batch_size=64, net=[16])
    first = train("Urchin", "body", tmp_path / "a", steps=192, **tiny)
    options = TrainOptions(out=str(tmp_path / "b"), quiet=True, time_limit=1e-9, keep=True, threads=1)
    second = train_ppo(RunConfig(env="Urchin", steps=192, init=str(first), **tiny), options)
    weights = [torch.load(zipfile.ZipFile(p / "model.zip").open("policy.pth"), weights_only=True)
               for p in (first, second)]
    for k, v in weights[0].items():
        torch.testing.assert_close(weights[1][k], v)  # no training: the weights it started from
    assert read_run(second).init == str(first.resolve())
    assert [p.name for p in (second / "checkpoints").iterdir()] == ["0.zip"]
    with pytest.raises(ValueError, match=r"another history, net than this run.s \(history 3, net \[16\]; this run: history 2, net \[8\]\)"):
        train("Urchin", "body", tmp_path / "c", steps=64, init=str(first), history=2, **{**tiny, "net": [8]})
    assert not (tmp_path / "c").exists()

    args = ["rl", "train", "--env", "Urchin", "--out", str(tmp_path / "d"), "--num-envs", "16", "--ep-len", "10",
            "--set", "n_steps=4", "--set", "batch_size=64", "--set", "net=[16]", "--steps", "192", "--keep",
            "--ckpt-every", "0", "-q"]
    assert main(args) == 0
    kept = sorted(int(p.stem) for p in (tmp_path / "d" / "checkpoints").iterdir())
    assert kept == [64, 128, 192]
    capsys.readouterr()
    assert main(["rl", "eval", str(tmp_path / "d"), "--checkpoints", "--episodes", "8"]) == 0
    result = json.loads((tmp_path / "d" / "eval_checkpoints.json").read_text())
    assert [r["env_steps"] for r in result["checkpoints"]] == kept and result["spearman"] is None
    assert all(0 <= r["in_engine"] <= 1 and "in_model" not in r for r in result["checkpoints"])
    assert "192 env steps: success" in capsys.readouterr().out
    assert main(["rl", "eval", str(first), "--checkpoints"]) == 2
    assert "kept no checkpoints: train it with --keep" in capsys.readouterr().err


def test_rank_correlation():
    from boxlcd.rl.evaluate import rank_correlation

    assert rank_correlation([0.1, 0.5, 0.9, 0.7], [0.2, 0.4, 0.95, 0.9]) == pytest.approx(1.0)
    assert rank_correlation([0.1, 0.5, 0.9], [0.9, 0.5, 0.1]) == pytest.approx(-1.0)
    assert rank_correlation([0.1, 0.5], [0.1, 0.5]) is None and rank_correlation([0.3] * 4, [0, 1, 2, 3]) is None


class RandomPolicy:
    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)

    def predict(self, obs, deterministic=False):
        return self.rng.uniform(-1, 1, (len(obs), 3)).astype(np.float32), None


def test_a_short_ppo_run_beats_a_random_policy(tmp_path):
    """60k steps of PPO on a loose Luxo body goal: its success in 300 fresh real episodes is
    clearly above a random policy's on the same episodes, and so is its return (a fixed step
    count, not timed; about 0.52 against 0.36 here)."""
    out = train("Luxo", "body", str(tmp_path / "ppo"), steps=60_000, threshold=0.1, ep_len=30,
                **SHORT, lr=1e-3)
    run = read_run(out)
    from boxlcd.rl.train import load_policy

    policy = load_policy(out)
    trained = summary(first_episodes(policy, make_env(run, num_envs=300, seed_offset=10**6), False))
    random = summary(first_episodes(RandomPolicy(0), make_env(run, num_envs=300, seed_offset=10**6), False))
    assert trained["success_rate"] > random["success_rate"] + 0.08, (trained, random)
    assert trained["mean_return"] > random["mean_return"] + 1.0, (trained, random)


def test_training_aids_are_kept_but_not_evaluated(tmp_path):
    """A run keeps its curriculum and shaping in run.json (a resume trains on), while rl eval
    measures the task itself: no near starts, no shaping in the returns."""
    out = train("LuxoCube", "cube", str(tmp_path / "ppo"), steps=64, ep_len=10, start_near=1.0,
                near_spread=0.3, near_ahead=0.5, reach=5.0, num_envs=16, n_steps=4, batch_size=64, net=[16])
    run = read_run(out)
    assert (run.start_near, run.near_spread, run.reach) == (1.0, 0.3, 5.0)
    trained = make_env(run, num_envs=4).task
    assert (trained.start_near, trained.near_spread, trained.near_ahead, trained.reach) == (1.0, 0.3, 0.5, 5.0)
    measured = make_env(the_task(run), num_envs=4).task
    assert (measured.start_near, measured.near_spread, measured.near_ahead, measured.reach) == (0, 0, 0, 0)
    assert measured.reach_behind == 0
    from boxlcd.rl.evaluate import EVAL_SEED_OFFSET
    from boxlcd.rl.train import load_policy

    result = evaluate(str(out), episodes=8)
    policy = load_policy(out)
    plain, aided = (summary(first_episodes(policy, make_env(r, num_envs=8, seed_offset=EVAL_SEED_OFFSET), True))
                    for r in (the_task(run), run))
    assert result["mean_return_deterministic"] == pytest.approx(plain["mean_return"])
    assert result["mean_return_deterministic"] != pytest.approx(aided["mean_return"])


def test_lr_end_decays_the_learning_rate_linearly_over_the_steps(tmp_path):
    from boxlcd.rl.train import load_policy

    tiny = {"num_envs": 16, "n_steps": 8, "batch_size": 64, "n_epochs": 1, "net": [16], "lr": 1e-3}
    lrs = {}
    for lr_end in (1.0, 0.1):
        out = train("Urchin", "body", str(tmp_path / str(lr_end)), steps=512, ep_len=10,
                    lr_end=lr_end, **tiny)
        policy = load_policy(out)
        lrs[lr_end] = policy.policy.optimizer.param_groups[0]["lr"], policy.lr_schedule(0.5)
    assert lrs[1.0] == (1e-3, 1e-3)
    # SB3 sets the lr after each rollout from the share of --steps left: 0 before the last update
    assert lrs[0.1][0] == pytest.approx(1e-4) and lrs[0.1][1] == pytest.approx(1e-3 - 0.9e-3 / 2)


def test_bf16_precision_keeps_the_heads_and_first_layer_fp32(tmp_path):
    """precision=bf16: the same weights give the fp32 policy's values to within bf16's rounding
    of the hidden layers; latents, log-probabilities and values are fp32; a run saves, loads
    (the policy class with it) and resumes."""
    from boxlcd.rl.precision import MixedPrecisionPolicy
    from boxlcd.rl.train import load_policy

    tiny = {"num_envs": 16, "n_steps": 8, "batch_size": 64, "n_epochs": 1, "net": [64, 64, 64]}
    runs = {p: train("Urchin", "body", str(tmp_path / p), steps=128, ep_len=10, precision=p, **tiny)
            for p in ("fp32", "bf16")}
    fp32, bf16 = load_policy(runs["fp32"]).policy, load_policy(runs["bf16"]).policy
    assert isinstance(bf16, MixedPrecisionPolicy) and not isinstance(fp32, MixedPrecisionPolicy)
    bf16.load_state_dict(fp32.state_dict())
    obs = torch.as_tensor(make_env(read_run(runs["fp32"]), num_envs=32).reset())
    actions = torch.zeros(32, 3)
    (v32, lp32, _), (v16, lp16, _) = fp32.evaluate_actions(obs, actions), bf16.evaluate_actions(obs, actions)
    assert v16.dtype == lp16.dtype == torch.float32
    assert bf16.mlp_extractor.forward_actor(obs).dtype == torch.float32
    assert not torch.equal(v16, v32)  # the hidden layers did run in bf16
    torch.testing.assert_close(v16, v32, atol=0.05, rtol=0.05)
    torch.testing.assert_close(lp16, lp32, atol=0.05, rtol=0.01)
    first = bf16.mlp_extractor.policy_net[:2](obs)
    assert torch.equal(first, fp32.mlp_extractor.policy_net[:2](obs)) and first.dtype == torch.float32
    train("Urchin", "body", str(tmp_path / "bf16"), steps=256, ep_len=10, precision="bf16", **tiny)
    assert json.loads((tmp_path / "bf16" / "state.json").read_text())["env_steps"] >= 256


def test_collection_runs_on_one_torch_thread_and_the_update_on_all(tmp_path, monkeypatch):
    """torch's idle threads spin against the env's pool between the policy's small forward
    passes, so rl train collects on one thread and updates on the threads it was given."""
    from stable_baselines3 import PPO

    seen = {"collect": set(), "update": set()}
    step_wait, ppo_train = SB3VecEnv.step_wait, PPO.train

    def stepping(self):
        seen["collect"].add(torch.get_num_threads())
        return step_wait(self)

    def updating(self):
        seen["update"].add(torch.get_num_threads())
        return ppo_train(self)

    monkeypatch.setattr(SB3VecEnv, "step_wait", stepping)
    monkeypatch.setattr(PPO, "train", updating)
    torch.set_num_threads(2)  # the one_torch_thread fixture restores the suite's own afterwards
    train("Urchin", "body", str(tmp_path / "run"), steps=256, ep_len=10, num_envs=16, n_steps=8,
          batch_size=64, n_epochs=1, net=[16])
    assert seen == {"collect": {1}, "update": {2}}
    assert torch.get_num_threads() == 2


def test_rl_commands_train_resume_eval_plot(tmp_path):
    out = tmp_path / "run"
    args = ["rl", "train", "--env", "Urchin", "--task", "body", "--out", str(out), "--num-envs", "16",
            "--ep-len", "10", "--set", "n_steps=8", "--set", "batch_size=64", "--set", "net=[16]", "-q"]
    assert main(args + ["--steps", "128"]) == 0
    first = json.loads((out / "state.json").read_text())["env_steps"]
    assert first == 128 and (out / "model.zip").is_file()
    assert main(args + ["--steps", "256"]) == 0  # resumes to the new total
    assert json.loads((out / "state.json").read_text())["env_steps"] == 256
    lines = (out / "log.csv").read_text().splitlines()
    assert lines[0] == "env_steps,elapsed_s,episodes,success_rate,mean_return,mean_length" and len(lines) == 3
    assert main(args + ["--steps", "256", "--set", "n_epochs=3"]) == 2  # other settings: refused

    assert main(["rl", "eval", str(out), "--episodes", "20"]) == 0
    result = json.loads((out / "eval.json").read_text())
    assert result["episodes"] == 20 and result["evaluated_in"] == "real"
    for key in ("success_rate", "success_rate_deterministic"):
        assert 0 <= result[key] <= 1
    assert (out / "eval.gif").stat().st_size > 0
    assert main(["rl", "plot", str(out), "--out", str(tmp_path / "curves.png")]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"


def test_seed_spread_of_the_runs_evaluations(tmp_path):
    """seed_spread (experiments/rl_seeds.py, the seed-to-seed spread): per run, what `rl eval`
    and the run wrote; over the runs, mean and sample standard deviation; a run never evaluated
    is refused by name."""
    from boxlcd.analysis import seed_spread

    rates = {"a": (0.99, 0.98, 0.996), "b": (0.96, 0.95, None), "c": (0.93, 0.90, 0.99)}
    for name, (sampled, mean_action, inside) in rates.items():
        run = tmp_path / name
        run.mkdir()
        (run / "run.json").write_text(json.dumps({"seed": ord(name)}))
        (run / "state.json").write_text(json.dumps({"env_steps": 9_000_000, "elapsed_s": 2400.0}))
        (run / "eval.json").write_text(json.dumps({"episodes": 1000, "success_rate": sampled, "success_rate_se": 0.005,
                                                   "success_rate_deterministic": mean_action}))
        if inside is not None:
            (run / "eval_learned.json").write_text(json.dumps({"success_rate": inside}))
    result = seed_spread([tmp_path / n for n in rates])
    assert [r["seed"] for r in result["runs"]] == [ord(n) for n in rates]
    assert result["runs"][0]["minutes"] == 40.0 and result["runs"][1]["inside_success_rate"] is None
    assert result["success_rate"] == {"mean": 0.96, "sd": 0.03, "min": 0.93, "max": 0.99}
    assert result["success_rate_deterministic"]["mean"] == pytest.approx(0.9433, abs=1e-4)
    assert result["inside_success_rate"]["mean"] == pytest.approx(0.993)  # over the two that have it
    (tmp_path / "never").mkdir()
    with pytest.raises(ValueError, match="never: no eval.json"):
        seed_spread([tmp_path / "never"])


def test_ppo_in_a_learned_env_and_its_evaluation_in_both(tmp_path):
    """The whole loop on tiny pieces: a world model of Urchin, PPO inside it, success in the
    real env (eval.json) and inside the learned one (eval_learned.json)."""
    collect("Urchin", 6, tmp_path / "data", seed=0, progress=False, ep_len=10)
    train_model("frame_transformer", str(tmp_path / "data"), str(tmp_path / "ft"), steps=2, batch=4, progress=False,
                prompt=1, d_model=16, layers=1, heads=2)
    out = train("Urchin", "body", str(tmp_path / "ppo"), sim=str(tmp_path / "ft"), steps=128, ep_len=10,
                num_envs=16, n_steps=8, batch_size=64, net=[16], sim_noise=0.02)
    # the run keeps its sim's weights: it evaluates in its sim wherever the folder goes
    assert read_run(out).sim == "sim/0" and read_run(out).sim_from == str((tmp_path / "ft").resolve())
    assert (out / "sim" / "0" / "ckpt.pt").is_file()
    assert read_run(out).sim_noise == 0.02  # training's alone: evaluations measure the model as it is
    moved = tmp_path / "elsewhere" / "ppo"
    shutil.copytree(out, moved)
    shutil.rmtree(tmp_path / "ft")
    real = evaluate(str(moved), episodes=8)
    learned = evaluate(str(moved), episodes=8, sim="learned")
    assert real["evaluated_in"] == "real" and learned["evaluated_in"] == str((moved / "sim" / "0").resolve())
    assert learned["trained_in"] == str((tmp_path / "ft").resolve())
    assert (moved / "eval.json").is_file() and (moved / "eval_learned.json").is_file()
    # resuming trains on in the kept models, though their source is gone
    train("Urchin", "body", str(out), sim=str(tmp_path / "ft"), steps=256, ep_len=10, num_envs=16,
          n_steps=8, batch_size=64, net=[16], sim_noise=0.02)
    assert json.loads((out / "state.json").read_text())["env_steps"] == 256
    train_model("frame_transformer", str(tmp_path / "data"), str(tmp_path / "ft"), steps=2, batch=4, progress=False,
                prompt=1, d_model=16, layers=1, heads=2)
    # an ensemble of two models (--sim A,B): both paths resolved, evaluated inside the ensemble
    train_model("frame_transformer", str(tmp_path / "data"), str(tmp_path / "ft2"), steps=2, batch=4, seed=1,
                progress=False, prompt=1, d_model=16, layers=1, heads=2)
    both = train("Urchin", "body", str(tmp_path / "ppo2"), sim=f"{tmp_path / 'ft'},{tmp_path / 'ft2'}", steps=128,
                 ep_len=10, num_envs=16, n_steps=8, batch_size=64, net=[16])
    assert read_run(both).sim == "sim/0,sim/1"
    assert read_run(both).sim_from == f"{(tmp_path / 'ft').resolve()},{(tmp_path / 'ft2').resolve()}"
    inside = evaluate(str(both), episodes=8, sim="learned")["evaluated_in"]
    assert inside == f"{(both / 'sim' / '0').resolve()},{(both / 'sim' / '1').resolve()}"


class Recorder:
    """A stand-in policy that keeps every input vector and acts with zeros."""

    def __init__(self):
        self.seen = []

    def predict(self, obs, deterministic=False):
        self.seen.append(obs.copy())
        return np.zeros((len(obs), 3), np.float32), None


def test_collect_with_a_ppo_policy(tmp_path, monkeypatch):
    """collect --policy ppo:RUN: the same call gives the same bytes (also with the policy sent
    through pickle, as Ray sends it), the policy reads what it read in training (proprio, the
    goal's, its history newest first; the object's place for the cube task), a reached goal is
    replaced, and a run of another env is refused."""
    from boxlcd.dataset import Episodes

    tiny = dict(steps=64, ep_len=10, num_envs=16, n_steps=4, batch_size=64, net=[16])
    out = train("Urchin", "body", str(tmp_path / "ppo"), **tiny)
    import pickle

    policy = ppo_policy(f"ppo:{out}")
    shipped = pickle.loads(pickle.dumps(policy))  # as Ray sends it to a worker: reloaded from the run
    for name, p in (("a", policy), ("b", shipped)):
        collect("Urchin", 4, tmp_path / name, policy=p, seed=5, shard_size=2, progress=False, ep_len=10)
    a, b = Episodes(tmp_path / "a"), Episodes(tmp_path / "b")
    for i in range(4):
        for k, v in a.episode(i).items():
            np.testing.assert_array_equal(v, b.episode(i)[k])
    assert a.manifest["policy"] == f"ppo:{out}" and np.abs(a.episode(0)["actions"]).max() <= 1

    recorder = Recorder()
    monkeypatch.setattr("boxlcd.rl.train.load_policy", lambda run_dir, **kw: recorder)
    collect("Urchin", 3, tmp_path / "c", policy=ppo_policy(f"ppo:{out}"), progress=False, ep_len=10)
    proprio = np.stack([Episodes(tmp_path / "c").episode(i)["proprio"] for i in range(3)])  # (3, 11, 16)
    seen = np.stack(recorder.seen, axis=1)  # (3, 10 steps, 16 x (proprio, goal, 2 before))
    assert seen.shape == (3, 10, 64)
    for t in range(10):
        np.testing.assert_array_equal(seen[:, t, :16], proprio[:, t])
        np.testing.assert_array_equal(seen[:, t, 32:48], proprio[:, max(t - 1, 0)])
        np.testing.assert_array_equal(seen[:, t, 48:], proprio[:, max(t - 2, 0)])
    goals = seen[:, :, 16:32]
    assert (goals == goals[:, :1]).all() and not np.allclose(goals[:, 0], proprio[:, 0])  # far, never reached
    run = read_run(out)
    (out / "run.json").write_text(json.dumps({**run.to_json(), "threshold": 2.0}))  # every goal reached at once
    recorder.seen.clear()
    collect("Urchin", 3, tmp_path / "d", policy=ppo_policy(f"ppo:{out}"), progress=False, ep_len=10)
    goals = np.stack(recorder.seen, axis=1)[:, :, 16:32]
    assert all(not np.allclose(goals[:, t], goals[:, t + 1]) for t in range(9))  # a new goal each step

    cube = train("LuxoCube", "cube", str(tmp_path / "cube"), **tiny)
    recorder.seen.clear()
    collect("LuxoCube", 2, tmp_path / "e", policy=ppo_policy(f"ppo:{cube}"), progress=False, ep_len=10)
    data = Episodes(tmp_path / "e")
    obj = [data.state_keys.index(k) for k in ("object0:x:p", "object0:y:p")]
    seen = np.stack(recorder.seen, axis=1)  # proprio, object, goal:object, then (proprio, object) x 2
    for t in range(10):
        np.testing.assert_array_equal(seen[:, t, 16:18], np.stack([data.episode(i)["full_state"][t, obj] for i in range(2)]))

    with pytest.raises(ValueError, match="trained on Urchin, not on Luxo"):
        collect("Luxo", 2, tmp_path / "f", policy=ppo_policy(f"ppo:{out}"), progress=False)
    with pytest.raises(FileNotFoundError, match="not a PPO run folder"):
        ppo_policy(f"ppo:{tmp_path / 'none'}")
    assert not (tmp_path / "f").exists() and not (tmp_path / "g").exists()


def test_bad_input(tmp_path):
    collect("Bounce", 4, tmp_path / "bounce", seed=0, progress=False, ep_len=10)
    train_model("frame_transformer", str(tmp_path / "bounce"), str(tmp_path / "ft_bounce"), steps=1, batch=2,
                progress=False, d_model=16, layers=1, heads=2)
    collect("Urchin", 4, tmp_path / "urchin", seed=0, progress=False, ep_len=10)
    train_model("copy_last", str(tmp_path / "urchin"), str(tmp_path / "copy"), progress=False)
    base = ["rl", "train", "--env", "Urchin", "--steps", "64", "-q"]
    assert main(base + ["--out", str(tmp_path / "a"), "--sim", str(tmp_path / "ft_bounce")]) == 2
    assert main(base + ["--out", str(tmp_path / "b"), "--sim", str(tmp_path / "copy")]) == 2
    assert main(base + ["--out", str(tmp_path / "c"), "--sim", str(tmp_path / "missing")]) == 2
    assert main(base + ["--out", str(tmp_path / "d"), "--device", "cuda:9"]) == 2
    assert main(base + ["--out", str(tmp_path / "e"), "--env", "Bounce"]) == 2
    assert main(base + ["--out", str(tmp_path / "f"), "--set", "learning_speed=3"]) == 2
    assert main(base + ["--out", str(tmp_path / "g"), "--sim-noise", "0.01"]) == 2  # the engine takes no noise
    assert main(base + ["--out", str(tmp_path / "i"), "--set", "precision=fp8"]) == 2
    assert main(base + ["--out", str(tmp_path / "j"), "--start-near", "0.5"]) == 2  # a body task: no object
    assert main(base + ["--out", str(tmp_path / "k"), "--near-spread", "0.2"]) == 2  # no start_near to spread
    for letter, bad in zip("lmnopqr", (["--steps", "-5"], ["--time-limit", "-1"], ["--num-envs", "0"],
                                         ["--set", "n_steps=0"], ["--set", "batch_size=2.5"], ["--set", "gamma=1.5"],
                                         ["--set", "lr=0"])):
        assert main(base + ["--out", str(tmp_path / letter)] + bad) == 2, bad
    assert not any((tmp_path / d).exists() for d in "abcdefgijklmnopqr")  # a refused run leaves no folder
    with pytest.raises(SystemExit):
        main(base + ["--out", str(tmp_path / "h"), "--task", "walk"])
    assert main(["rl", "eval", str(tmp_path / "nothing")]) == 2
    with pytest.raises(ValueError, match="episodes must be >= 1, got 0"):  # not the run's num_envs in its place
        evaluate(str(tmp_path / "nothing"), episodes=0)
    with pytest.raises(ValueError, match="of Bounce, not of Urchin"):
        make_task("Urchin", "body", sim=str(tmp_path / "ft_bounce"))
    with pytest.raises(ValueError, match="does not predict it"):
        make_task("Urchin", "body", sim=str(tmp_path / "copy"))


def test_rl_plot_refuses_non_finite_log_rows_and_smooth_out_of_range(tmp_path, capsys):
    from boxlcd.rl.plot import curve

    head = "env_steps,elapsed_s,episodes,success_rate,mean_return,mean_length\n"
    (tmp_path / "log.csv").write_text(head + "8,1,0,0,0,0\n16,2,2,0.5,1,5\n24,3,2,1.0,1,5\n32,4,1,0,1,5\n")
    c = curve(str(tmp_path), 2)  # the first rollout ended no episode: no point
    np.testing.assert_allclose(c["success"], [0.5, 0.75, 2 / 3])  # successes over episodes, last 2 rollouts
    np.testing.assert_allclose(curve(str(tmp_path), 10_000)["success"], [0.5, 0.75, 0.6])
    for bad, row in (("nan", 3), ("inf", 3), ("", 3)):
        (tmp_path / "log.csv").write_text(head + f"8,1,0,0,0,0\n16,2,2,{bad},1,5\n")
        with pytest.raises(ValueError, match=rf"log.csv: row {row}: success_rate is '{bad}', not a finite number"):
            curve(str(tmp_path), 5)
    for smooth in ("1000000000000", "-5", "0"):
        assert main(["rl", "plot", str(tmp_path), "--smooth", smooth, "--out", str(tmp_path / "c.png")]) == 2
        assert f"smooth must be >= 1 and <= 10000, got {smooth}" in capsys.readouterr().err
    assert not (tmp_path / "c.png").exists()


def test_run_json_is_the_settings_dict_and_old_files_read_as_they_meant():
    """run.json round-trips through RunConfig; a file written before a setting existed reads
    with the value the setting had then; unknown and missing settings are refused by name."""
    config = RunConfig(env="LuxoCube", task="cube", steps=64, reach=2.0, net=[16], precision="bf16")
    assert RunConfig.from_json(json.loads(json.dumps(config.to_json()))) == config
    old = {k: v for k, v in config.to_json().items()
           if k not in ("history", "lr_end", "precision", "reach", "reach_behind", "start_near", "near_spread",
                        "near_ahead", "sim_noise", "sim_from")}
    before = RunConfig.from_json(old)
    assert (before.history, before.lr_end, before.precision, before.reach, before.sim_from) == (1, 1.0, "fp32", 0, None)
    assert config.the_task().reach == 0 and config.the_task().net == [16]
    with pytest.raises(ValueError, match="unknown settings learning_speed"):
        RunConfig.from_json({**config.to_json(), "learning_speed": 3})
    with pytest.raises(ValueError, match="^no env, num_envs$"):
        RunConfig.from_json({k: v for k, v in config.to_json().items() if k not in ("env", "num_envs")})
    for bad, message in (({"ep_len": 0}, "ep_len must be >= 1"), ({"device": 3}, "device must be a string"),
                         ({"net": []}, "net must be a list"), ({"lr": 2.0}, "lr must be > 0.0 and <= 1.0")):
        with pytest.raises(ValueError, match=message):
            RunConfig.from_json({**config.to_json(), **bad})


def test_rl_train_options_come_from_the_settings(capsys):
    """Every setting is a flag or a --set key, and --help shows each default."""
    import dataclasses

    with pytest.raises(SystemExit):
        main(["rl", "train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in dataclasses.fields(RunConfig) + dataclasses.fields(TrainOptions):
        option = f.metadata["option"]
        assert option is None or (f"--{f.name.replace('_', '-')}" if option == "flag" else f"{f.name}:") in text
    assert "--steps STEPS env steps in all (default 5_000_000)" in text
    assert "net: hidden layer widths" in text and "(default [256, 256, 256])" in text
    assert main(["rl", "train", "--env", "Urchin", "--out", "unused", "--set", "steps=5", "-q"]) == 2
    assert "unknown PPO setting 'steps'; settings: n_steps" in capsys.readouterr().err
