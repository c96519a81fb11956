"""LearnedEnv: a world model behind the Gymnasium vector API, against the real env it learned."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")
gymnasium = pytest.importorskip("gymnasium")

from gymnasium.vector import AutoresetMode  # noqa: E402

import boxlcd  # noqa: E402
from boxlcd.dataset import collect  # noqa: E402
from boxlcd.gym_env import GymVectorEnv  # noqa: E402
from boxlcd.learned import LearnedEnv  # noqa: E402
from boxlcd.models.train import train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_FT = {"d_model": 32, "layers": 1, "heads": 2}
EP_LEN = 6


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny checkpoints: Urchin frame transformers (prompt 1 and 3, one predicting full_state),
    an UrchinCube one predicting full_state, a copy_last, and an oracle of Bounce."""
    root = tmp_path_factory.mktemp("learned")
    collect("Urchin", 8, root / "urchin", seed=0, progress=False, ep_len=EP_LEN)
    collect("UrchinCube", 8, root / "cube", seed=0, progress=False, ep_len=EP_LEN)
    collect("Bounce", 4, root / "bounce", seed=0, progress=False, ep_len=EP_LEN)
    out = {}
    for name, model, data, extra in [
        ("ft", "frame_transformer", "urchin", {"prompt": 1}),
        ("ft_dyn", "frame_transformer", "urchin", {"prompt": 1, "dynamics": 16}),
        ("ft3", "frame_transformer", "urchin", {"prompt": 3}),
        ("ft_state", "frame_transformer", "urchin", {"prompt": 1, "predict_state": True}),
        ("cube_state", "frame_transformer", "cube", {"prompt": 1, "predict_state": True}),
        ("rssm", "rssm", "urchin", {"prompt": 2, "deter": 16, "stoch": 4, "hidden": 32}),
    ]:
        config = {} if model == "rssm" else TINY_FT
        train(model, str(root / data), str(root / name), steps=2, batch=4, progress=False, **config, **extra)
        out[name] = str(root / name)
    for name, model, data in [("copy_last", "copy_last", "urchin"), ("oracle", "oracle", "bounce")]:
        train(model, str(root / data), str(root / name), progress=False)
        out[name] = str(root / name)
    return out


def real_env(num_envs, **kwargs):
    return GymVectorEnv("Urchin", num_envs=num_envs, ep_len=EP_LEN, **kwargs)


def test_spaces_equal_the_real_envs(runs):
    real = real_env(3)
    env = LearnedEnv(runs["ft"], 3)
    assert env.single_action_space == real.single_action_space
    assert env.single_observation_space["lcd"] == real.single_observation_space["lcd"]
    assert env.single_observation_space["proprio"] == real.single_observation_space["proprio"]
    assert "full_state" not in env.single_observation_space.spaces
    with_state = LearnedEnv(runs["ft_state"], 3)
    assert with_state.single_observation_space == real.single_observation_space
    obs, _ = with_state.reset(seed=0)
    obs, *_ = with_state.step(with_state.action_space.sample())
    assert all(with_state.single_observation_space[k].contains(obs[k][0]) for k in obs)


@pytest.mark.parametrize("run", ["ft", "ft3", "rssm"])
def test_reset_observation_equals_the_real_envs(runs, run):
    """Prompted by the engine with the same seeds: the first observation is the real one
    (after the prompt's k - 1 zero-action steps when the checkpoint prompts with k frames)."""
    env = LearnedEnv(runs[run], 4)
    real = real_env(4)
    obs, _ = env.reset(seed=11)
    want, _ = real.reset(seed=11)
    for _ in range(env.prompt - 1):
        want, *_ = real.step(np.zeros((4, 3), np.float32))
    for k in ("lcd", "proprio"):
        np.testing.assert_array_equal(obs[k], want[k])


def test_deterministic_given_the_seed(runs):
    def rollout(seed):
        env = LearnedEnv(runs["ft"], 3, temperature=1.0)
        out = [env.reset(seed=seed)[0]["lcd"]]
        rng = np.random.default_rng(0)
        for _ in range(2 * EP_LEN):
            out.append(env.step(rng.uniform(-1, 1, (3, 3)).astype(np.float32))[0]["lcd"])
        return np.stack(out)

    a, b = rollout(5), rollout(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, rollout(6))


def test_noise_strays_the_predicted_motion(runs):
    """noise adds seeded Gaussian draws to the predicted proprio; the frame transformer's
    dynamics MLP adds its motion to the last (noisy) proprio, so the draws accumulate."""
    sigma, n = 0.01, 3
    actions = np.random.default_rng(0).uniform(-1, 1, (2, n, 3)).astype(np.float32)

    def two_steps(noise):
        env = LearnedEnv(runs["ft_dyn"], n, noise=noise)
        env.reset(seed=4)
        return np.stack([env.step(a)[0]["proprio"] for a in actions])

    clean, noisy = two_steps(0.0), two_steps(sigma)
    np.testing.assert_array_equal(noisy, two_steps(sigma))
    g = torch.Generator().manual_seed(4)  # reset's seed seeds the env's generator
    draws = [sigma * torch.randn((n, clean.shape[-1]), generator=g).numpy() for _ in range(2)]
    space = LearnedEnv(runs["ft_dyn"], n).single_observation_space["proprio"]
    inside = [(space.low < v) & (v < space.high) for v in (clean, noisy)]  # unclipped observations
    inside = inside[0] & inside[1]
    assert inside.mean() > 0.5
    first, drift = (noisy - clean)[0][inside[0]], (noisy - clean)[1][inside[1]]
    np.testing.assert_allclose(first, draws[0][inside[0]], atol=1e-6)  # temperature 0 draws nothing else
    assert np.abs(drift - draws[1][inside[1]]).mean() > 0.5 * np.abs(draws[0]).mean()  # the first draw stayed
    assert np.abs(drift - (draws[0] + draws[1])[inside[1]]).max() < 0.5 * sigma         # and was moved on from


def test_an_ensemble_steps_each_block_of_envs_with_its_own_model(runs):
    """Several checkpoints: model k owns block k of the envs (np.array_split's) through steps,
    autoresets and masked resets, and gives there exactly what it gives alone."""
    n, seed = 5, 11
    actions = np.random.default_rng(1).uniform(-1, 1, (2 * EP_LEN + 2, n, 3)).astype(np.float32)
    mask = np.zeros(n, bool)
    mask[[1, 3]] = True

    def run(checkpoint):
        env = LearnedEnv(checkpoint, n, seed=seed)
        out = [env.reset()[0]]
        for t, a in enumerate(actions):
            out.append(env.step(a)[0])
            if t == 1:
                out.append(env.reset(options={"reset_mask": mask})[0])
        return {k: np.stack([o[k] for o in out]) for k in out[0]}

    ensemble, alone = run([runs["ft"], runs["ft_dyn"]]), {name: run(runs[name]) for name in ("ft", "ft_dyn")}
    assert not np.array_equal(alone["ft"]["proprio"], alone["ft_dyn"]["proprio"])
    np.testing.assert_array_equal(ensemble["lcd"][:, :3], alone["ft"]["lcd"][:, :3])
    np.testing.assert_array_equal(ensemble["lcd"][:, 3:], alone["ft_dyn"]["lcd"][:, 3:])
    # a smaller batch rounds its matrix products otherwise: equal to float32's last digits
    np.testing.assert_allclose(ensemble["proprio"][:, :3], alone["ft"]["proprio"][:, :3], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ensemble["proprio"][:, 3:], alone["ft_dyn"]["proprio"][:, 3:], rtol=1e-4, atol=1e-5)
    joined = run(f"{runs['ft']},{runs['ft_dyn']}")  # the form --sim takes
    np.testing.assert_array_equal(joined["proprio"], ensemble["proprio"])


def test_an_ensembles_models_must_agree(runs):
    with pytest.raises(ValueError, match=r"must agree: .* in \['env', 'frame_shape', 'state_keys'\]"):
        LearnedEnv([runs["ft_state"], runs["cube_state"]], 2)
    with pytest.raises(ValueError, match=r"must agree: .* in \['prompt'\]"):
        LearnedEnv([runs["ft"], runs["ft3"]], 2)
    with pytest.raises(ValueError, match=r"must agree: .* in \['predict_state'\]"):
        LearnedEnv([runs["ft"], runs["ft_state"]], 2)
    with pytest.raises(ValueError, match=r"1 to num_envs \(2\) checkpoints, got 3"):
        LearnedEnv([runs["ft"]] * 3, 2)


def test_autoreset_as_the_real_env(runs):
    """Truncation at ep_len; NEXT_STEP resets on the following step (to what a real batch with
    the same generators resets to); SAME_STEP puts the last observation in info."""
    actions = np.zeros((2, 3), np.float32)
    env, real = LearnedEnv(runs["ft"], 2), real_env(2)
    env.reset(seed=3)
    real.reset(seed=3)
    for t in range(EP_LEN):
        _, reward, terminated, truncated, _ = env.step(actions)
        real.step(actions)
        assert truncated.all() == (t == EP_LEN - 1) and not terminated.any() and not reward.any()
    obs, _, _, truncated, _ = env.step(actions)
    want, *_ = real.step(actions)  # the real env's NEXT_STEP reset
    assert not truncated.any()
    np.testing.assert_array_equal(obs["lcd"], want["lcd"])
    np.testing.assert_array_equal(obs["proprio"], want["proprio"])

    same = LearnedEnv(runs["ft"], 2, autoreset_mode="same_step")
    same.reset(seed=3)
    for _ in range(EP_LEN - 1):
        last, *_ = same.step(actions)
    obs, _, _, truncated, info = same.step(actions)
    assert truncated.all() and info["_final_obs"].all()
    np.testing.assert_array_equal(obs["lcd"], want["lcd"])  # already the next episode's start
    assert info["final_obs"][0]["lcd"].shape == obs["lcd"][0].shape


def test_reset_mask_resets_only_those_envs(runs):
    env = LearnedEnv(runs["ft"], 3, autoreset_mode=AutoresetMode.DISABLED)
    env.reset(seed=0)
    for _ in range(2):
        before, *_ = env.step(np.ones((3, 3), np.float32))
    obs, _ = env.reset(options={"reset_mask": np.array([False, True, False])})
    np.testing.assert_array_equal(obs["lcd"][[0, 2]], before["lcd"][[0, 2]])
    np.testing.assert_array_equal(obs["proprio"][1], env.real._obs["proprio"][1])
    for _ in range(EP_LEN - 2):
        env.step(np.zeros((3, 3), np.float32))
    with pytest.raises(RuntimeError, match=r"envs \[0, 2\] ended their episodes"):
        env.step(np.zeros((3, 3), np.float32))


def test_the_curriculum_starts_a_learned_sim_as_the_engine(runs):
    """start_near in a learned sim: the engine is placed near the cube and prompts the model,
    so the task's observations after reset and after a near restart equal the real task's."""
    from boxlcd.tasks import make_task

    near = {"start_near": 0.5, "near_ahead": 0.5, "threshold": 1e-9}  # no success: all time out together
    learned = make_task("UrchinCube", "cube", num_envs=6, sim=runs["cube_state"], **near)
    real = make_task("UrchinCube", "cube", num_envs=6, ep_len=EP_LEN, **near)
    got, _ = learned.reset(seed=5)
    want, _ = real.reset(seed=5)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
    far, _ = make_task("UrchinCube", "cube", num_envs=6, ep_len=EP_LEN).reset(seed=5)
    moved = (far["proprio"] != want["proprio"]).any(1)
    assert 0 < moved.sum() < 6  # some envs started near, some as the task's own reset
    zeros = np.zeros((6, learned.single_action_space.shape[0]), np.float32)
    for _ in range(EP_LEN):  # every episode times out and restarts, near or not
        got, *_, got_info = learned.step(zeros)
        want, *_, want_info = real.step(zeros)
    assert got_info["_final_obs"].all() and want_info["_final_obs"].all()
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


def test_reset_places_the_engine_at_a_given_full_state(runs):
    env = LearnedEnv(runs["cube_state"], 2, autoreset_mode=AutoresetMode.DISABLED)
    obs, _ = env.reset(seed=0)
    pose = obs["full_state"].copy()
    pose[1] = env.real._obs["full_state"][0]  # env 1 placed as env 0 is
    obs, _ = env.reset(options={"reset_mask": np.array([False, True]), "full_state": pose})
    np.testing.assert_array_equal(obs["lcd"][1], obs["lcd"][0])
    np.testing.assert_allclose(obs["full_state"][1], obs["full_state"][0], atol=1e-5)


def test_make_vec_and_steps(runs):
    env = gymnasium.make_vec("boxlcd/Learned-v0", checkpoint=runs["ft"], num_envs=2)
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(env.action_space.sample())
    assert obs["lcd"].shape == (2, 16, 4) and obs["lcd"].dtype == np.uint8
    assert env.observation_space.contains(obs)


def test_bad_input(runs, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint there"):
        LearnedEnv(str(tmp_path / "nothing"), 2)
    with pytest.raises(ValueError, match="is not here"):
        LearnedEnv(runs["ft"], 2, device="cuda:7")
    with pytest.raises(ValueError, match="not a torch device"):
        LearnedEnv(runs["ft"], 2, device="gpu-please")
    with pytest.raises(ValueError, match="cannot be stepped"):
        LearnedEnv(runs["oracle"], 2)
    with pytest.raises(ValueError, match="num_envs"):
        LearnedEnv(runs["ft"], 0)
    with pytest.raises(ValueError, match=r"full_state.* must have shape \(2, "):
        LearnedEnv(runs["ft"], 2).reset(seed=0, options={"full_state": np.zeros((2, 3), np.float32)})
    for noise in (-0.1, float("nan"), "0.1", 1e300, True):
        with pytest.raises(ValueError, match="noise"):
            LearnedEnv(runs["ft"], 2, noise=noise)
    for temperature in (-1.0, float("inf"), 1e300):
        with pytest.raises(ValueError, match="temperature"):
            LearnedEnv(runs["ft"], 2, temperature=temperature)
    env = LearnedEnv(runs["ft"], 2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros((2, 3), np.float32))
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="finite"):
        env.step(np.full((2, 3), np.nan, np.float32))
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "ckpt.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable boxlcd checkpoint"):
        LearnedEnv(str(tmp_path / "junk"), 2)


def test_a_goal_task_times_out_with_a_prompt_of_three(runs):
    """A model prompted with 3 frames has ep_len - 2 steps an episode: a goal task over it
    times out there (it crashed at the first timeout), and asks for no more than that."""
    from boxlcd.tasks import make_task

    env = LearnedEnv(runs["ft3"], 2)
    assert env.prompt == 3 and env.episode_steps == EP_LEN - 2
    task = make_task("Urchin", "body", num_envs=2, sim=runs["ft3"], threshold=1e-9)
    assert task.ep_len == EP_LEN - 2
    task.reset(seed=0)
    ended = 0
    for _ in range(3 * EP_LEN):
        _, _, terminated, truncated, _ = task.step(np.zeros((2, 3), np.float32))
        ended += int(truncated.sum())
    assert ended == 2 * (3 * EP_LEN // (EP_LEN - 2))
    with pytest.raises(ValueError, match=rf"ep_len must be a whole number in \[1, {EP_LEN - 2}\]"):
        make_task("Urchin", "body", num_envs=2, sim=runs["ft3"], ep_len=EP_LEN)


def test_close_releases_the_env_and_later_calls_raise(runs):
    env = LearnedEnv(runs["ft"], 2)
    env.reset(seed=0)
    env.close()
    assert env.models == [] and env.real.closed
    for call in (lambda: env.reset(seed=0), lambda: env.step(np.zeros((2, 3), np.float32))):
        with pytest.raises(RuntimeError, match="closed"):
            call()
    env.close()  # twice is harmless


def test_threads_sharing_an_env_take_turns(runs):
    """Steps from two threads are serialised: the env ends where one thread's as many steps
    would have taken it (they are all the same action), never in a mix of half-steps."""
    import threading

    def final_obs(threads):
        env = LearnedEnv(runs["ft_state"], 4, temperature=1.0)
        env.reset(seed=3)
        zeros = np.zeros((4, 3), np.float32)

        def work():
            for _ in range(EP_LEN // threads):
                env.step(zeros)
        pool = [threading.Thread(target=work) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        return env._copy_obs()

    alone = final_obs(1)
    for _ in range(3):
        shared = final_obs(2)
        for k in alone:
            np.testing.assert_array_equal(shared[k], alone[k])


def test_a_model_step_that_goes_non_finite_raises(runs):
    env = LearnedEnv(runs["ft_state"], 2)
    env.reset(seed=0)
    with torch.no_grad():
        for p in env.model.parameters():
            p.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        env.step(np.zeros((2, 3), np.float32))
