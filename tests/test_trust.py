"""Files a user is sent are data: crafted checkpoints and PPO runs, loaded through every entry
point that reads them, run nothing and each give one clear error; non-finite or
self-contradicting ones are refused at load."""
import base64
import builtins
import io
import json
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from boxlcd.cli import main  # noqa: E402
from boxlcd.dataset import collect  # noqa: E402
from boxlcd.learned import LearnedEnv  # noqa: E402
from boxlcd.models.checkpoint import CheckpointError, load_model  # noqa: E402
from boxlcd.models.train import train as train_model  # noqa: E402
from boxlcd.rl.train import RunError, load_policy, read_run  # noqa: E402
from boxlcd.rl.config import RunConfig, TrainOptions  # noqa: E402
from boxlcd.rl.train import train as train_ppo  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY_FT = {"d_model": 16, "layers": 1, "heads": 2}


class Payload:
    """Unpickling this creates the file `marker`: what an attacker's code would do."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.open, (self.marker, "w"))


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A tiny Urchin dataset, a frame transformer trained on it, an arbiter, a PPO run and a
    Dropbox VoE suite."""
    root = tmp_path_factory.mktemp("trust")
    collect("Urchin", 4, root / "data", seed=0, progress=False, ep_len=6)
    train_model("frame_transformer", str(root / "data"), str(root / "ft"), steps=2, batch=2, progress=False,
                prompt=1, **TINY_FT)
    train_model("arbiter", str(root / "data"), str(root / "arbiter"), steps=2, batch=2, progress=False)
    train_ppo(RunConfig(env="Urchin", steps=32, ep_len=6, num_envs=8, n_steps=4, batch_size=32, net=[8]),
              TrainOptions(out=root / "ppo", quiet=True))
    from boxlcd import voe

    voe.make_suite("Dropbox", root / "suite" / "Dropbox", pairs=1, seed=0)
    return root


def evil_checkpoint(good: Path, folder: Path) -> Path:
    """A copy of the good checkpoint whose spec also holds the payload."""
    ckpt = torch.load(good / "ft" / "ckpt.pt", weights_only=True)
    ckpt["spec"] = {**ckpt["spec"], "note": Payload(folder / "RAN")}
    folder.mkdir()
    torch.save(ckpt, folder / "ckpt.pt")
    return folder


def tampered_checkpoint(good: Path, folder: Path, change) -> Path:
    ckpt = torch.load(good / "ft" / "ckpt.pt", weights_only=True)
    change(ckpt)
    folder.mkdir()
    torch.save(ckpt, folder / "ckpt.pt")
    return folder


def one_line_error(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


def checkpoint_entry_points(good: Path, evil: Path, out: Path):
    """Every command that reads a world-model or arbiter checkpoint, given `evil` in its place."""
    data = good / "data"
    return {
        "eval": ["eval", evil, "--data", data, "--out", out / "eval", "--episodes", "2"],
        "eval --arbiter": ["eval", good / "ft", "--data", data, "--out", out / "arb", "--episodes", "2",
                           "--arbiter", evil],
        "results": ["results", evil, "--test", f"Urchin={data}", "--out", out / "results", "--episodes", "2"],
        "train --init": ["train", "frame_transformer", "--data", data, "--out", out / "init", "--init", evil,
                         "--steps", "1", "-q"] + [f"--set={k}={v}" for k, v in TINY_FT.items()],
        "train resuming": ["train", "frame_transformer", "--data", data, "--out", evil, "--steps", "1", "-q"]
                          + [f"--set={k}={v}" for k, v in TINY_FT.items()],
        "rl train --sim": ["rl", "train", "--env", "Urchin", "--sim", evil, "--out", out / "ppo", "--steps", "8",
                           "--num-envs", "2", "-q"],
        "voe eval": ["voe", "eval", evil, "--suite", good / "suite", "--out", out / "voe"],
    }


@pytest.mark.parametrize("entry", ["eval", "eval --arbiter", "results", "train --init", "train resuming",
                                   "rl train --sim", "voe eval"])
def test_a_crafted_checkpoint_runs_nothing_through_any_command(good, tmp_path, capsys, entry):
    evil = evil_checkpoint(good, tmp_path / "evil")
    err = one_line_error(capsys, checkpoint_entry_points(good, evil, tmp_path)[entry])
    assert not (evil / "RAN").exists()
    assert "never runs what a file holds" in err


def test_a_crafted_checkpoint_runs_nothing_in_the_python_api(good, tmp_path):
    import gymnasium

    import boxlcd.registration  # noqa: F401 (registers boxlcd/Learned-v0)

    evil = evil_checkpoint(good, tmp_path / "evil")
    with pytest.raises(CheckpointError, match="never runs what a file holds"):
        LearnedEnv(str(evil), 2)
    with pytest.raises(CheckpointError, match="never runs what a file holds"):
        gymnasium.make_vec("boxlcd/Learned-v0", checkpoint=str(evil), num_envs=2)
    with pytest.raises(CheckpointError, match="never runs what a file holds"):
        load_model(evil)
    assert not (evil / "RAN").exists()
    # the payload does run where a file is unpickled: the test would catch a loader that did
    torch.load(evil / "ckpt.pt", weights_only=False)
    assert (evil / "RAN").exists()


def _nan_weight(ckpt):
    name = next(iter(ckpt["model"]))
    ckpt["model"][name] = torch.full_like(ckpt["model"][name], float("nan"))


def _inf_moment(ckpt):
    state = next(iter(ckpt["optimizer"]["state"].values()))
    state["exp_avg_sq"] = torch.full_like(state["exp_avg_sq"], float("inf"))


@pytest.mark.parametrize("change, message", [
    (_nan_weight, "holds NaN, inf"),
    (_inf_moment, "optimizer.*holds NaN, inf"),
    (lambda c: c["spec"].update(env="../../outside"), "not a built-in env"),
    (lambda c: c["spec"].update(env="Luxo"), "disagrees with Luxo"),
    (lambda c: c["spec"].update(frame_shape=[16, 64]), "disagrees with Urchin in frame_shape"),
    (lambda c: c["spec"].update(state_keys=list(reversed(c["spec"]["state_keys"]))), "in .*state_keys"),
    (lambda c: c["spec"].update(overrides={"gravity_y": "x"}), "not of an env boxlcd makes"),
    (lambda c: c["model_config"].update(d_model=64), "do not fit its frame_transformer settings"),
    (lambda c: c["model_config"].update(d_model=1 << 20), "do not build a frame_transformer"),
    (lambda c: c["model_config"].update(no_such_setting=1), "do not build a frame_transformer"),
    (lambda c: c.update(model_name="os.system"), "unknown model"),
    (lambda c: c.pop("spec"), "no spec"),
    (lambda c: c.update(step=-1), "negative"),
    (lambda c: c["run"].update(prompt=99), "prompt must be"),
])
def test_a_tampered_checkpoint_is_refused_by_name(good, tmp_path, change, message):
    folder = tampered_checkpoint(good, tmp_path / "bad", change)
    with pytest.raises(CheckpointError, match=message) as e:
        load_model(folder)
    assert "\n" not in str(e.value)


def test_truncated_and_foreign_checkpoints_give_one_line(good, tmp_path, capsys):
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "ckpt.pt").write_bytes((good / "ft" / "ckpt.pt").read_bytes()[:3000])
    (tmp_path / "list").mkdir()
    torch.save([1, 2], tmp_path / "list" / "ckpt.pt")
    for folder, message in (("cut", "not a readable boxlcd checkpoint"), ("list", "not a dict")):
        err = one_line_error(capsys, ["eval", tmp_path / folder, "--data", good / "data", "--episodes", "2"])
        assert message in err


def test_training_stops_at_the_first_non_finite_loss(good, tmp_path, capsys):
    """A learning rate that blows the weights up stops training with the step named, a non-zero
    exit, and the last checkpoint (written before it) kept finite."""
    argv = ["train", "frame_transformer", "--data", good / "data", "--out", tmp_path / "run", "--steps", "50",
            "--lr", "1e30", "--warmup", "0", "--ckpt-every", "1", "-q"] + [f"--set={k}={v}" for k, v in TINY_FT.items()]
    err = one_line_error(capsys, argv)
    assert "step " in err and "NaN or inf" in err
    load_model(tmp_path / "run")  # what was saved is finite


@pytest.mark.parametrize("setting", ["grad_clip=NaN", "weight_decay=Infinity", "weight_decay=1e300", "stop_after=-1"])
def test_training_settings_that_would_go_non_finite_are_refused(good, tmp_path, capsys, setting):
    argv = ["train", "frame_transformer", "--data", good / "data", "--out", tmp_path / "run", "--steps", "1",
            "-q", f"--set={setting}"] + [f"--set={k}={v}" for k, v in TINY_FT.items()]
    assert setting.split("=")[0] in one_line_error(capsys, argv)
    assert not (tmp_path / "run").exists()


def test_an_update_that_overflows_the_weights_is_not_saved(good, tmp_path, monkeypatch):
    """The last step's update itself can overflow (the loss before it was finite): the
    checkpoint is not written with it."""
    from boxlcd.models.train import TrainingDiverged

    monkeypatch.setattr(torch.optim.AdamW, "step", lambda self, *a, **k: [
        p.data.fill_(float("inf")) for g in self.param_groups for p in g["params"]])
    with pytest.raises(TrainingDiverged, match="step 1: the update made .* NaN or inf"):
        train_model("frame_transformer", str(good / "data"), str(tmp_path / "run"), steps=1, batch=2, progress=False,
                    prompt=1, **TINY_FT)
    assert not (tmp_path / "run" / "ckpt.pt").exists()


def _moments(change):
    def tamper(ckpt):
        for state in ckpt["optimizer"]["state"].values():
            change(state)
    return tamper


@pytest.mark.parametrize("change, message", [
    (lambda c: c["optimizer"]["param_groups"][0].update(betas=(1.0, 1.0)), None),  # the run's own betas are kept
    (_moments(lambda s: s.update(exp_avg_sq=-s["exp_avg_sq"] - 1)), "exp_avg_sq is negative"),
    (_moments(lambda s: s.update(exp_avg=torch.zeros(3))), "exp_avg does not fit"),
    (_moments(lambda s: s.update(step=torch.tensor(-5.0))), "step -5.0 is not a count"),
    (lambda c: c["model"].update({k: v.to(torch.complex64) for k, v in list(c["model"].items())[:1]}),
     "complex numbers"),
    (lambda c: c["model"].update({k: v.double() for k, v in list(c["model"].items())[:1]}), "do not fit"),
])
def test_resuming_takes_moments_not_settings_from_the_file(good, tmp_path, capsys, change, message):
    """A resumed run keeps its own optimizer settings (lr, betas, eps: betas of 1 divided by
    zero) and refuses moments that cannot be, and weights of another dtype than the model's."""
    run = tampered_checkpoint(good, tmp_path / "run", change)
    argv = ["train", "frame_transformer", "--data", good / "data", "--out", run, "--steps", "4", "-q",
            "--set=prompt=1"] + [f"--set={k}={v}" for k, v in TINY_FT.items()]
    argv = [a for a in argv if a != "--set=prompt=1"] + ["--prompt", "1"]
    if message is None:
        assert main([str(a) for a in argv]) == 0, capsys.readouterr().err
    else:
        assert message in one_line_error(capsys, argv)


def test_bytes_that_are_no_checkpoint_give_one_line_and_no_warnings(good, tmp_path, capsys):
    for name, content in (("text", b"hello world"), ("pickle", pickle.dumps({"a": [1, 2]}, protocol=4))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "ckpt.pt").write_bytes(content)
        err = one_line_error(capsys, ["eval", tmp_path / name, "--data", good / "data", "--episodes", "2"])
        assert "not a readable boxlcd checkpoint" in err or "not a dict" in err


def test_a_learned_env_refuses_a_huge_batch_before_allocating(good):
    with pytest.raises((ValueError, MemoryError), match="num_envs|MiB|memory"):
        LearnedEnv(str(good / "ft"), num_envs=10**9)


# -- PPO runs ---------------------------------------------------------------------------------

def rewrite_zip(path: Path, replace: dict[str, bytes]) -> None:
    entries = {}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            entries[name] = replace.get(name, z.read(name))
    with zipfile.ZipFile(path, "w") as z:
        for name, content in entries.items():
            z.writestr(name, content)


def copy_run(good: Path, folder: Path) -> Path:
    shutil.copytree(good / "ppo", folder)
    return folder


def ppo_entry_points(run: Path, out: Path):
    return {
        "rl eval": ["rl", "eval", run, "--episodes", "2"],
        "collect --policy ppo:RUN": ["collect", "Urchin", "--episodes", "2", "--out", out / "data",
                                     "--policy", f"ppo:{run}", "--set", "ep_len=6", "-q"],
        "rl train resuming": ["rl", "train", "--env", "Urchin", "--out", run, "--steps", "64", "--num-envs", "8",
                              "--ep-len", "6", "--set", "n_steps=4", "--set", "batch_size=32", "--set", "net=[8]",
                              "-q"],
    }


@pytest.mark.parametrize("entry", ["rl eval", "collect --policy ppo:RUN", "rl train resuming"])
def test_a_ppo_run_never_unpickles_model_zip(good, tmp_path, capsys, entry):
    """SB3 writes cloudpickled entries into model.zip's data: boxlcd never reads them (a payload
    there is inert and the run still loads), and a payload in the weights is refused."""
    inert = copy_run(good, tmp_path / "inert")
    data = json.loads(zipfile.ZipFile(inert / "model.zip").read("data"))
    payload = base64.b64encode(pickle.dumps(Payload(tmp_path / "RAN"))).decode()
    data["policy_class"] = {":type:": "<class 'type'>", ":serialized:": payload}
    rewrite_zip(inert / "model.zip", {"data": json.dumps(data).encode()})
    argv = ppo_entry_points(inert, tmp_path / "a")[entry]
    assert main([str(a) for a in argv]) == 0, capsys.readouterr().err
    assert not (tmp_path / "RAN").exists()

    evil = copy_run(good, tmp_path / "evil")
    rewrite_zip(evil / "model.zip", {"policy.pth": pickle.dumps(Payload(tmp_path / "RAN"))})
    err = one_line_error(capsys, ppo_entry_points(evil, tmp_path / "b")[entry])
    assert "never runs what a file holds" in err or "not a readable policy" in err
    assert not (tmp_path / "RAN").exists()


def _nan_policy(path: Path) -> None:
    weights = torch.load(io.BytesIO(zipfile.ZipFile(path).read("policy.pth")), weights_only=True)
    name = next(k for k, v in weights.items() if v.is_floating_point())
    weights[name] = torch.full_like(weights[name], float("nan"))
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    rewrite_zip(path, {"policy.pth": buffer.getvalue()})


@pytest.mark.parametrize("tamper, message", [
    (lambda run: (run / "run.json").write_text("{}"), "run.json: no env"),
    (lambda run: (run / "run.json").write_text("[1]"), "not an object"),
    (lambda run: (run / "run.json").write_text("{"), "not JSON"),
    (lambda run: (run / "model.zip").write_bytes((run / "model.zip").read_bytes()[:200]), "not a readable policy"),
    (lambda run: _nan_policy(run / "model.zip"), "holds NaN, inf"),
    (lambda run: _set(run, net=[1 << 30]), "net must be"),
    (lambda run: _set(run, net=[16, 16]), "do not fit its policy"),
    (lambda run: _set(run, env="../../x"), "not a built-in env"),
    (lambda run: _set(run, gamma=float("nan")), "gamma"),
    (lambda run: _set(run, task="os.system"), "not a task"),
    (lambda run: _set(run, ep_len=10**9), "ep_len must be"),
    (lambda run: _set(run, history=10**8), "history must be"),
    (lambda run: _set(run, threshold=1e308), "threshold must be"),
    (lambda run: _set(run, num_envs=10**9), "num_envs must be"),
    (lambda run: _link(run, "run.json"), "link leading outside the run folder"),
    (lambda run: _link(run, "model.zip"), "link leading outside the run folder"),
])
def test_a_tampered_ppo_run_is_refused_by_name(good, tmp_path, capsys, tamper, message):
    run = copy_run(good, tmp_path / "run")
    tamper(run)
    err = one_line_error(capsys, ["rl", "eval", run, "--episodes", "2"])
    assert message in err
    with pytest.raises((RunError, FileNotFoundError)):
        load_policy(run)


def _link(run: Path, name: str) -> None:
    """Moves the run's file outside its folder and leaves a link to it."""
    outside = run.parent / f"outside-{name}"
    (run / name).rename(outside)
    (run / name).symlink_to(outside)


def _set(run: Path, **values) -> None:
    settings = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**settings, **values}))


def test_a_runs_sim_path_stays_inside_its_folder(good, tmp_path, capsys):
    """run.json's sim names folders in the run's sim/: one leading elsewhere is refused."""
    for sim in ("../../ft", str(good / "ft"), "sim/../../ft"):
        run = copy_run(good, tmp_path / f"run{len(list(tmp_path.iterdir()))}")
        _set(run, sim=sim)
        err = one_line_error(capsys, ["rl", "eval", run, "--episodes", "2", "--sim", "learned"])
        assert "is not a folder in the run's sim/" in err
    assert read_run(good / "ppo").sim == "real"


def test_a_learned_sims_checkpoint_that_links_outside_is_refused(good, tmp_path, capsys):
    run = copy_run(good, tmp_path / "run")
    (run / "sim" / "0").mkdir(parents=True)
    (run / "sim" / "0" / "ckpt.pt").symlink_to(good / "ft" / "ckpt.pt")
    _set(run, sim="sim/0")
    err = one_line_error(capsys, ["rl", "eval", run, "--episodes", "2", "--sim", "learned"])
    assert "is not a folder in the run's sim/" in err


@pytest.mark.parametrize("name", ["eval.gif", "eval.json", "log.csv", "state.json", "model.zip"])
def test_writers_never_follow_a_link_out_of_a_run_folder(good, tmp_path, capsys, name):
    """A link placed in a run folder a user was sent is replaced (whole files) or refused
    (log.csv, which grows), never written through: the file it points at is untouched."""
    run = copy_run(good, tmp_path / "run")
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (run / name).unlink(missing_ok=True)
    (run / name).symlink_to(victim)
    if name in ("eval.gif", "eval.json"):
        assert main(["rl", "eval", str(run), "--episodes", "2"]) == 0
        assert not (run / name).is_symlink()
    else:
        (run / "state.json").unlink(missing_ok=True)
        shutil.copy(good / "ppo" / "state.json", run / "state.json") if name != "state.json" else None
        main(["rl", "train", "--env", "Urchin", "--out", str(run), "--steps", "64", "--num-envs", "8", "--ep-len", "6",
              "--set", "n_steps=4", "--set", "batch_size=32", "--set", "net=[8]", "-q"])
        capsys.readouterr()
    assert victim.read_text() == "keep me"


def test_model_run_writers_never_follow_a_link(good, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(good / "ft", run)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    for name in ("config.json", "eval.md"):
        (run / name).unlink(missing_ok=True)
        (run / name).symlink_to(victim)
    assert main(["eval", str(run), "--data", str(good / "data"), "--episodes", "2"]) == 0
    with pytest.raises(Exception):  # resuming appends to log.csv: a link there is refused
        (run / "log.csv").unlink(missing_ok=True)
        (run / "log.csv").symlink_to(victim)
        train_model("frame_transformer", str(good / "data"), str(run), steps=3, batch=2, progress=False, prompt=1,
                    **TINY_FT)
    assert victim.read_text() == "keep me"


def test_a_checkpoint_of_shared_lists_is_checked_once_per_list(good, tmp_path):
    """A few KB of pickle can share one list 2**60 times over: each is visited once."""
    def nest(ckpt):
        x = [1.0]
        for _ in range(60):
            x = [x, x]
        ckpt["optimizer"] = {"state": {}, "param_groups": [], "bomb": x}
    folder = tampered_checkpoint(good, tmp_path / "bomb", nest)
    load_model(folder)  # quick: the optimizer is only read on resume


def test_weights_stretched_over_a_tiny_storage_are_refused(good, tmp_path):
    """Stride-0 tensors let a small file claim a model of any size: refused before building it."""
    def stretch(ckpt):
        ckpt["model"] = {k: torch.zeros(1, dtype=v.dtype).expand(*v.shape) if v.dim() else v
                         for k, v in ckpt["model"].items()}
    with pytest.raises(CheckpointError, match="stretched over storage"):
        load_model(tampered_checkpoint(good, tmp_path / "big", stretch))


def test_moments_of_parameters_no_group_lists_are_refused(good, tmp_path, capsys):
    def shift(ckpt):
        ckpt["optimizer"]["state"] = {k + 1000: v for k, v in ckpt["optimizer"]["state"].items()}
    run = tampered_checkpoint(good, tmp_path / "run", shift)
    argv = ["train", "frame_transformer", "--data", good / "data", "--out", run, "--steps", "4", "-q", "--prompt", "1"]
    assert "no group lists" in one_line_error(capsys, argv + [f"--set={k}={v}" for k, v in TINY_FT.items()])


def test_fifos_and_hard_links_in_a_folder_neither_hang_nor_leak(good, tmp_path, capsys):
    import os

    run = copy_run(good, tmp_path / "run")
    (run / "state.json").unlink()
    os.mkfifo(run / "state.json")
    argv = ["rl", "train", "--env", "Urchin", "--out", run, "--steps", "64", "--num-envs", "8", "--ep-len", "6",
            "--set", "n_steps=4", "--set", "batch_size=32", "--set", "net=[8]", "-q"]
    assert "not a regular file" in one_line_error(capsys, argv)
    data = tmp_path / "data"
    shutil.copytree(good / "data", data)
    (data / "manifest.json").unlink()
    os.mkfifo(data / "manifest.json")
    assert "not a regular file" in one_line_error(capsys, ["dataset", "info", data])
    model = tmp_path / "ft"
    shutil.copytree(good / "ft", model)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    (model / "log.csv").unlink(missing_ok=True)
    os.link(victim, model / "log.csv")
    with pytest.raises(OSError, match="hard link"):
        train_model("frame_transformer", str(good / "data"), str(model), steps=3, batch=2, progress=False,
                    prompt=1, **TINY_FT)
    assert victim.read_text() == "keep me"


def test_a_sim_folder_that_links_elsewhere_is_not_written_through(good, tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run = tmp_path / "run"
    run.mkdir()
    (run / "sim").symlink_to(elsewhere)
    argv = ["rl", "train", "--env", "Urchin", "--sim", good / "ft", "--out", run, "--steps", "8", "--num-envs", "2",
            "--ep-len", "4", "-q"]
    assert "is a link" in one_line_error(capsys, argv)
    assert not list(elsewhere.iterdir())


@pytest.mark.parametrize("entry, value", [("policy.pth", "action_net.weight"), ("policy.optimizer.pth", None)])
def test_float64_values_that_overflow_float32_are_refused(good, tmp_path, capsys, entry, value):
    run = copy_run(good, tmp_path / "run")
    weights = torch.load(io.BytesIO(zipfile.ZipFile(run / "model.zip").read(entry)), weights_only=True)
    if value:
        weights[value] = torch.full(weights[value].shape, 1e300, dtype=torch.float64)
    else:
        state = next(iter(weights["state"].values()))
        state["exp_avg"] = torch.full(state["exp_avg"].shape, 1e300, dtype=torch.float64)
    buffer = io.BytesIO()
    torch.save(weights, buffer)
    rewrite_zip(run / "model.zip", {entry: buffer.getvalue()})
    argv = ["rl", "train", "--env", "Urchin", "--out", run, "--steps", "64", "--num-envs", "8", "--ep-len", "6",
            "--set", "n_steps=4", "--set", "batch_size=32", "--set", "net=[8]", "-q"]
    err = one_line_error(capsys, argv)
    assert "do not fit" in err or "NaN or inf" in err


def test_a_link_in_place_of_the_collection_lock_opens_nothing(good, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(good / "data", data)
    (data / ".collect.lock").unlink(missing_ok=True)
    (data / ".collect.lock").symlink_to(tmp_path / "victim")
    err = one_line_error(capsys, ["collect", "Urchin", "--episodes", "4", "--out", data, "--set", "ep_len=6",
                                  "--resume", "-q"])
    assert "cannot lock" in err and not (tmp_path / "victim").exists()
