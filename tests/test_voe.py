"""Violation-of-expectation suites (boxlcd.voe): pairs identical before t* and different after,
the engine itself scores 1.0 and copy-last does not, clear errors for bad input."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("scipy")

import boxlcd  # noqa: E402
from boxlcd import voe  # noqa: E402
from boxlcd.cli import main  # noqa: E402
from boxlcd.dataset import collect  # noqa: E402
from boxlcd.models.constant_velocity import guess  # noqa: E402
from boxlcd.models.train import train  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def suites(tmp_path_factory):
    root = tmp_path_factory.mktemp("voe")
    assert main(["voe", "make", "--envs", "Bounce,UrchinCube", "--out", str(root), "--pairs", "4"]) == 0
    return root


def unpacked(episodes, k):
    return np.unpackbits(np.asarray(episodes.episode(k)["frames"]), axis=-1)


@pytest.mark.parametrize("env", ["Bounce", "UrchinCube"])
def test_pairs_are_identical_before_t_star_and_differ_after(suites, env):
    pairs, clips = voe.load_suite(suites / env)
    assert pairs["env"] == env and len(pairs["pairs"]) == 4 * len(voe.VIOLATIONS)
    for name, s in pairs["summary"].items():
        assert s["made"] == 4 and s["kept"] + s["dropped_invisible"] + s["no_moment"] == 4, name
        assert s["kept"] == sum(p["kept"] for p in pairs["pairs"] if p["violation"] == name)
    for p in pairs["pairs"]:
        k, t = p["pair"], p["t_star"]
        a, b = clips["possible"].episode(k), clips["impossible"].episode(k)
        assert int(a["seeds"]) == int(b["seeds"]) == k  # episode k of both is pair k, from seed k
        np.testing.assert_array_equal(a["actions"], b["actions"])
        if t < 0:
            assert not p["kept"]
            continue
        np.testing.assert_array_equal(a["frames"][:t], b["frames"][:t])
        after = (unpacked(clips["possible"], k)[t:] != unpacked(clips["impossible"], k)[t:]).any()
        assert after == p["kept"], p
    assert sum(p["kept"] for p in pairs["pairs"]) >= 3 * len(voe.VIOLATIONS)  # most pairs show


def test_the_engine_scores_one_and_copy_last_does_not(suites, tmp_path):
    collect("Bounce", 200, tmp_path / "bounce", seed=5_000_000, progress=False)
    out = tmp_path / "out"
    assert main(["voe", "eval", "--suite", str(suites), "--out", str(out), "--engine", "--untrained",
                 "--fit", f"Bounce={tmp_path / 'bounce'}"]) == 0
    rows = json.loads((out / "voe.json").read_text())
    assert all({"model", "env", "violation", "pairwise_accuracy", "auc", "pairs"} <= set(r) for r in rows)
    engine = [r for r in rows if r["model"].startswith("engine")]
    assert {r["env"] for r in engine} == {"Bounce", "UrchinCube"}
    assert all(r["pairwise_accuracy"] == 1.0 and r["auc"] == 1.0 for r in engine)
    copy_last = next(r for r in rows if r["model"] == "copy_last" and r["env"] == "Bounce" and r["violation"] == "all")
    assert 0.0 < copy_last["pairwise_accuracy"] < 1.0 and copy_last["pairs"] == next(
        r["pairs"] for r in engine if r["env"] == "Bounce" and r["violation"] == "all")
    assert {r["model"] for r in rows if r["env"] == "Bounce"} >= {"marginal", "copy_last", "constant_velocity",
                                                                   "untrained frame_transformer"}
    assert (out / "voe.md").read_text().startswith("| env | model |") and (out / "voe.png").stat().st_size > 0


def test_constant_velocity_guess_moves_the_picture_on():
    frames = torch.zeros(1, 3, 8, 8)
    for t in range(3):
        frames[0, t, 2:4, 1 + 2 * t:3 + 2 * t] = 1  # a square stepping two columns right
    torch.testing.assert_close(guess(frames[:, 0], frames[:, 1]), frames[:, 2])


def test_bad_input_is_refused(suites, tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown violation type 'float'; types: teleport"):
        voe.make_suite("Bounce", tmp_path / "x", pairs=2, violations=["float"])
    with pytest.raises(ValueError, match="Urchin has no object to violate"):
        voe.make_suite("Urchin", tmp_path / "y", pairs=2)
    with pytest.raises(FileExistsError, match="already holds a dataset"):
        voe.make_suite("Bounce", suites / "Bounce", pairs=2)
    with pytest.raises(ValueError, match="is not a violation-of-expectation suite"):
        voe.load_suite(tmp_path)
    # a model of another env, and a model without a likelihood
    collect("Dropbox", 8, tmp_path / "dropbox", seed=0, progress=False, ep_len=6)
    train("marginal", str(tmp_path / "dropbox"), str(tmp_path / "dropbox-marginal"), progress=False)
    assert main(["voe", "eval", str(tmp_path / "dropbox-marginal"), "--suite", str(suites), "--out",
                 str(tmp_path / "o")]) == 2
    assert "a model of Dropbox, but the suite" in capsys.readouterr().err
    collect("Bounce", 8, tmp_path / "bounce", seed=0, progress=False)
    train("oracle", str(tmp_path / "bounce"), str(tmp_path / "oracle"), progress=False, prior_samples=64, chunk=64)
    assert main(["voe", "eval", str(tmp_path / "oracle"), "--suite", str(suites / "Bounce"), "--out",
                 str(tmp_path / "o")]) == 2
    assert "gives no likelihood of frames" in capsys.readouterr().err
    assert main(["voe", "eval", "--suite", str(suites), "--out", str(tmp_path / "o")]) == 2
    assert "nothing to score" in capsys.readouterr().err
    assert main(["voe", "make", "--envs", "Bounce,Nope", "--out", str(tmp_path / "z")]) == 2
    assert "unknown env 'Nope'" in capsys.readouterr().err
    assert boxlcd.envs()  # the package still answers after the errors
