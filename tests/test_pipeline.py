"""`boxlcd rl pipeline`: two rounds end to end, resuming, and the arguments it refuses."""
import fcntl
import json
import math
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("stable_baselines3")

from boxlcd.cli import main  # noqa: E402

# Seconds per stage, a few episodes: the stages' plumbing, not their results.
TINY = ["--budget", "0.3", "--episodes", "8", "--policy-episodes", "8", "--test-episodes", "4",
        "--eval-episodes", "4", "-q"]


def pipeline_argv(out, *extra):
    return ["rl", "pipeline", "Luxo", "--task", "body", "--out", str(out), *TINY, *extra]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    out = tmp_path_factory.mktemp("pipeline") / "luxo"
    assert main(pipeline_argv(out)) == 0
    return out


def numbers(value, where=""):
    """Every leaf of a JSON value with its path, for the finiteness check."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from numbers(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from numbers(v, f"{where}[{i}]")
    else:
        yield where, value


def test_two_rounds_write_every_figure(finished):
    summary = json.loads((finished / "summary.json").read_text())
    assert (summary["env"], summary["task"], summary["obs"], summary["rounds_planned"]) == ("Luxo", "body", "state", 2)
    assert summary["budget_s"] == pytest.approx(18.0)
    names = [s["name"] for s in summary["stages"]]
    assert names == ["random-data", "test-data", "model-1", "model-1-eval", "ppo-1", "ppo-1-engine", "ppo-1-model",
                     "ppo-1-checkpoints", "policy-data-2", "model-2", "model-2-eval", "ppo-2", "ppo-2-engine",
                     "ppo-2-model", "ppo-2-checkpoints"]
    assert all(s["status"] == "finished" and s["seconds"] > 0 for s in summary["stages"])
    timed = {s["name"]: s["limit_s"] for s in summary["stages"] if s["limit_s"] is not None}
    # 85% of 18 s over weights 4 (model) + 2 (fine-tune) + 2 + 2 (PPO runs)
    assert timed == pytest.approx({"model-1": 6.12, "ppo-1": 3.06, "model-2": 3.06, "ppo-2": 3.06})
    assert [r["trained_on"] for r in summary["rounds"]] == [["data/random"], ["data/random", "data/policy-2"]]
    for r in summary["rounds"]:
        assert set(r["model_scores"]) >= {"bits_per_dim", "pixel_error", "iou", "ssim", "proprio_mse_train",
                                          "test_episodes", "model_steps"}
        assert r["model_scores"]["test_episodes"] == 4 and r["model_scores"]["model_steps"] >= 1
        assert r["ppo_env_steps"] > 0
        for where in ("success_in_model", "success_in_engine"):
            assert set(r[where]) == {"sampled", "sampled_se", "mean_action", "mean_action_se", "episodes"}
            assert r[where]["episodes"] == 4 and 0 <= r[where]["sampled"] <= 1
        # PPO kept checkpoints along its run, each scored in the engine and in the model
        assert len(r["checkpoints"]) >= 2
        steps = [c["env_steps"] for c in r["checkpoints"]]
        assert steps == sorted(steps) and steps[-1] == r["ppo_env_steps"]
        assert all(0 <= c[k] <= 1 for c in r["checkpoints"] for k in ("in_engine", "in_model"))
    ranks = summary["rank_correlation"]
    assert ranks["checkpoints"] == sum(len(r["checkpoints"]) for r in summary["rounds"]) and ranks["episodes"] == 4
    assert ranks["spearman"] is None or -1 <= ranks["spearman"] <= 1
    for where, value in numbers(summary["rounds"]):
        assert value is not None, f"rounds{where} is null"
        if isinstance(value, float):
            assert math.isfinite(value), f"rounds{where} is {value}"
    # Round 2's PPO went on from round 1's policy, in round 2's model.
    ppo2 = json.loads((finished / "ppo-2" / "run.json").read_text())
    assert ppo2["init"] == str((finished / "ppo-1").resolve()) and ppo2["obs"] == "state"
    # The policy's episodes in the engine were collected by round 1's policy.
    manifest = json.loads((finished / "data" / "policy-2" / "manifest.json").read_text())
    assert manifest["policy"] == f"ppo:{(finished / 'ppo-1').resolve()}" and manifest["complete"]


def test_resume_runs_only_what_did_not_finish(finished):
    """An interrupted stage runs again; the finished ones are left as they are."""
    record_path = finished / "pipeline.json"
    record = json.loads(record_path.read_text())
    record["stages"]["ppo-2-model"]["status"] = "stopped"
    record_path.write_text(json.dumps(record))
    kept = [finished / "data" / "random" / "manifest.json", finished / "model-1" / "ckpt.pt",
            finished / "model-2" / "eval.json", finished / "ppo-1" / "model.zip", finished / "ppo-2" / "model.zip",
            finished / "ppo-2" / "eval.json"]
    before = {p: p.stat().st_mtime_ns for p in kept}
    redone = finished / "ppo-2" / "eval_learned.json"
    redone_before = redone.stat().st_mtime_ns
    assert main(pipeline_argv(finished)) == 0
    assert {p: p.stat().st_mtime_ns for p in kept} == before
    assert redone.stat().st_mtime_ns > redone_before
    stages = json.loads(record_path.read_text())["stages"]
    assert all(s["status"] == "finished" for s in stages.values())
    assert stages["ppo-1"] == record["stages"]["ppo-1"]  # its seconds too: it did not run again


def test_other_arguments_and_a_second_pipeline_are_refused(finished, capsys):
    capsys.readouterr()
    assert main(pipeline_argv(finished, "--rounds", "3")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "other arguments (rounds 2 -> 3)" in err and "--out" in err
    with open(finished / ".pipeline.lock") as held:  # a pipeline running in the folder
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(pipeline_argv(finished)) == 2
    assert "is in use by another pipeline" in capsys.readouterr().err


def test_wrong_tasks_are_refused(tmp_path, capsys):
    for extra, message in ((["--task", "cube"], "the cube task needs a robot and an object"),
                           (["--rounds", "0"], "--rounds must be in [1, 100]"),
                           (["--set", "contxt=16"], "--set contxt: the frame transformer has no such setting"),
                           (["--ppo-set", "nett=1"], "--ppo-set nett: rl train has no such --set setting"),
                           (["--ppo-set", "encoder=conv"], "encoder conv reads frames: it needs --obs pixels"),
                           (["--split", "4,2"], "--split: three weights in (0, 1000] as MODEL,FINETUNE,PPO"),
                           (["--budget", "nan"], "--budget must be in (0, 100000]")):
        assert main(pipeline_argv(tmp_path / "p", *extra)) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "p").exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert main(pipeline_argv(tmp_path / "other")) == 2
    assert "holds no pipeline.json" in capsys.readouterr().err


def keys(value):
    """A JSON value's shape: its dicts' keys, nested; lists of objects by their first item."""
    if isinstance(value, dict):
        return {k: keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [keys(value[0])] if value and isinstance(value[0], (dict, list)) else []
    return None


def test_a_killed_pixel_pipeline_resumes_to_the_same_summary(finished, tmp_path):
    """--obs pixels end to end, killed (SIGKILL) while its first PPO trains and run again: it
    completes, its policies read frames only, and its summary has the keys of a state pipeline
    that ran straight through. Its --set, --ppo-set and --split reach every round."""
    out = tmp_path / "pixels"
    extra = ["--obs", "pixels", "--set", "context=8", "--ppo-set", "encoder=conv", "--ppo-set", "net=[32]",
             "--split", "3,1,3"]
    argv = [sys.executable, "-m", "boxlcd", *pipeline_argv(out, *extra)]
    argv[argv.index("0.3")] = "0.6"  # PPO long enough to be killed inside it
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    record = out / "pipeline.json"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and child.poll() is None:
        stages = json.loads(record.read_text())["stages"] if record.exists() else {}
        if stages.get("ppo-1", {}).get("status") == "started" and (out / "ppo-1" / "log.csv").exists():
            break
        time.sleep(0.2)
    assert child.poll() is None, "the pipeline ended before its first PPO ran"
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert json.loads(record.read_text())["stages"]["ppo-1"]["status"] == "started"
    argv = pipeline_argv(out, *extra)
    argv[argv.index("0.3")] = "0.6"
    assert main(argv) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["obs"] == "pixels" and all(s["status"] == "finished" for s in summary["stages"])
    assert summary["model_set"] == ["context=8"] and summary["ppo_set"] == ['encoder="conv"', "net=[32]"]
    # 85% of 36 s over weights 3 (model) + 1 (fine-tune) + 3 + 3 (PPO runs)
    timed = {s["name"]: s["limit_s"] for s in summary["stages"] if s["limit_s"] is not None}
    assert timed == pytest.approx({"model-1": 9.18, "ppo-1": 9.18, "model-2": 3.06, "ppo-2": 9.18})
    for k in (1, 2):  # the --set reached every round's model
        assert json.loads((out / f"model-{k}" / "config.json").read_text())["model_config"]["context"] == 8
    assert keys(summary) == keys(json.loads((finished / "summary.json").read_text()))
    for k in (1, 2):
        run = json.loads((out / f"ppo-{k}" / "run.json").read_text())
        assert (run["obs"], run["encoder"], run["net"]) == ("pixels", "conv", [32])
    manifest = json.loads((out / "data" / "policy-2" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["policy"].startswith("ppo:")
