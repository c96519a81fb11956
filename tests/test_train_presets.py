"""boxlcd train's settings: TrainConfig, presets, --help, the progress bar's ETA, and data that
does not fit a model."""
import json
from dataclasses import fields

import pytest

pytest.importorskip("torch")
pytest.importorskip("ignite")

from boxlcd.cli import main  # noqa: E402
from boxlcd.dataset import collect  # noqa: E402
from boxlcd.models.evaluate import evaluate_checkpoint  # noqa: E402
from boxlcd.models.presets import PRESETS  # noqa: E402
from boxlcd.models.train import TRAIN_RANGES, TrainConfig, bar_position, resolve, train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--set", "d_model=16", "--set", "layers=1", "--set", "heads=2"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    collect("Bounce", 6, root / "bounce", seed=0, progress=False, ep_len=8)
    collect("Urchin", 4, root / "urchin", seed=0, progress=False, ep_len=8)
    return root


def one_line_error(capsys, argv) -> str:
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err


def test_a_preset_gives_its_recipe_and_explicit_options_override_it():
    sim = resolve("frame_transformer", {"preset": "learned-sim"}, robot=True)
    assert (sim.batch, sim.steps, sim.prompt, sim.lr) == (32, 100_000, 1, 1e-3)
    assert sim.settings == {"d_model": 128, "layers": 2, "proprio_weight": 10, "dynamics": 256,
                            "balanced_vector_loss": True}
    mine = resolve("frame_transformer", {"preset": "learned-sim", "batch": 8, "settings": {"layers": 3}}, robot=True)
    assert mine.batch == 8 and mine.steps == 100_000 and mine.settings["layers"] == 3 and mine.settings["d_model"] == 128
    table1 = {robot: resolve("frame_transformer", {"preset": "table1"}, robot) for robot in (False, True)}
    assert (table1[False].batch, table1[True].batch) == (32, 16)
    assert table1[True].threads == 1 and table1[True].settings == {"d_model": 128}
    assert resolve("frame_transformer", {"preset": "table1", "batch": 4}, robot=True).batch == 4
    plain = resolve("rssm", {}, robot=False)
    assert plain.preset is None and plain.steps == TrainConfig().steps and plain.settings == {}


def test_an_unknown_preset_or_another_models_is_one_line(capsys, tmp_path):
    with pytest.raises(ValueError, match="unknown preset 'fast'; presets: learned-sim, table1"):
        resolve("frame_transformer", {"preset": "fast"}, robot=False)
    err = one_line_error(capsys, ["train", "rssm", "--preset", "learned-sim", "--data", tmp_path / "none"])
    assert "preset learned-sim is for frame_transformer, not rssm" in err
    err = one_line_error(capsys, ["train", "frame_transformer", "--preset", "fast", "--data", tmp_path / "none"])
    assert "invalid choice: 'fast'" in err


def test_a_run_records_the_preset_and_its_resolved_settings(data, tmp_path):
    out = tmp_path / "ft"
    assert main(["train", "frame_transformer", "--preset", "learned-sim", "--data", str(data / "bounce"),
                 "--out", str(out), "--steps", "2", "--batch", "2", "--set", "dynamics=8", *TINY, "-q"]) == 0
    config = json.loads((out / "config.json").read_text())
    run = config["run"]
    assert run["preset"] == "learned-sim" and run["quiet"] is True
    assert (run["steps"], run["batch"], run["prompt"], run["lr"]) == (2, 2, 1, 1e-3)
    assert run["settings"] == {"d_model": 16, "layers": 1, "proprio_weight": 10, "dynamics": 8,
                               "balanced_vector_loss": True, "heads": 2}
    assert {f.name for f in fields(TrainConfig)} | {"processes"} == set(run)
    model = config["model_config"]
    assert (model["d_model"], model["dynamics"], model["proprio_weight"], model["balanced_vector_loss"]) == (16, 8, 10, True)
    result = evaluate_checkpoint(out, str(data / "bounce"), episodes=2, device="cpu")
    assert result["prompt"] == 1  # the run's own prompt, not the env's default of 3


def test_ranges_come_from_the_config_and_refuse_by_name(data, tmp_path):
    assert TRAIN_RANGES["batch"] == (1, None, True) and TRAIN_RANGES["weight_decay"] == (0.0, 1.0, True)
    assert set(TRAIN_RANGES) == {f.name for f in fields(TrainConfig) if f.metadata["range"]}
    with pytest.raises(ValueError, match="batch must be >= 1, got 0"):
        train("frame_transformer", data / "bounce", tmp_path / "r", batch=0)
    assert not (tmp_path / "r").exists()


def test_help_shows_every_default_the_model_settings_and_the_presets(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for f in fields(TrainConfig):
        if f.default is not None and not (f.metadata.get("required") or f.metadata.get("positional")) \
                and not isinstance(f.default, bool):
            assert f"(default: {f.default})" in text, f.name
    assert "frame_transformer: d_model=128 layers=4" in text and "rssm: deter=256" in text
    assert all(f"{name}:" in text for name in PRESETS) and "24 minutes" in text
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "the run's own" in " ".join(capsys.readouterr().out.split())


def test_the_bar_counts_toward_the_time_limit_when_it_comes_first():
    # 10 of 10,000 steps in 1 s with a 120 s limit: the limit ends the run, so seconds count
    assert bar_position(10, 10_000, 1.0, 120.0, 0, 0.0) == (1.0, 120.0, 0.0, "s")
    assert bar_position(10, 20, 1.0, 120.0, 0, 0.0) == (10, 20, 0, "step")  # the steps end it first
    assert bar_position(10, 10_000, 1.0, 0.0, 0, 0.0) == (10, 10_000, 0, "step")  # no limit
    assert bar_position(0, 10_000, 0.0, 60.0, 0, 0.0).unit == "s"  # no pace yet: the limit bounds it
    # resumed at step 1000 after 100 s, 10 steps/s since: 990 more steps need 99 s, past 120 s
    assert bar_position(1010, 2000, 101.0, 120.0, 1000, 100.0) == (101.0, 120.0, 100.0, "s")
    assert bar_position(1190, 1200, 119.0, 120.0, 1000, 100.0).unit == "step"


def test_data_of_another_env_is_one_line_naming_both(data, tmp_path, capsys):
    bounce = tmp_path / "bounce"
    train("frame_transformer", data / "bounce", bounce, steps=1, batch=2, progress=False,
          d_model=16, layers=1, heads=2)
    err = one_line_error(capsys, ["eval", bounce, "--data", data / "urchin", "--episodes", "2"])
    assert "the model is of Bounce but the data" in err and "is of Urchin" in err and "frame_shape" in err
    err = one_line_error(capsys, ["train", "frame_transformer", "--data", data / "urchin", "--out", tmp_path / "i",
                                  "--init", bounce, "--steps", "1", *TINY, "-q"])
    assert "is of Bounce but the data" in err and "is of Urchin" in err and "start from a run" in err
    err = one_line_error(capsys, ["results", bounce, "--test", f"Bounce={data / 'urchin'}", "--out", tmp_path / "res",
                                  "--episodes", "2"])
    assert "the model is of Bounce but the data" in err and "is of Urchin" in err
