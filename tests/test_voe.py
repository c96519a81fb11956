"""Violation-of-expectation suites (boxlcd.voe): pairs identical before t* and different after,
the engine itself scores 1.0 and copy-last does not, clear errors for bad input."""
import json
from pathlib import Path

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
    assert main(["voe", "make", "--envs", "Bounce,UrchinCube,Luxo", "--out", str(root), "--pairs", "4"]) == 0
    return root


def unpacked(episodes, k):
    return np.unpackbits(np.asarray(episodes.episode(k)["frames"]), axis=-1)


def types_of(env):
    """The violation types of an env's suite: all, or without an object all but resize and reshape."""
    return [n for n, v in voe.VIOLATIONS.items() if env != "Luxo" or not v.objects_only]


@pytest.mark.parametrize("env", ["Bounce", "UrchinCube", "Luxo"])
def test_pairs_are_identical_before_t_star_and_differ_after(suites, env):
    pairs, clips = voe.load_suite(suites / env)
    assert pairs["env"] == env and len(pairs["pairs"]) == 4 * len(types_of(env))
    assert list(pairs["summary"]) == types_of(env)
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
    assert sum(p["kept"] for p in pairs["pairs"]) >= 3 * len(types_of(env))  # most pairs show


def test_a_robot_without_objects_is_violated_whole(suites, tmp_path):
    """Luxo has no object: its suite's edits move its robot, every body of it, by its root. A
    teleport shifts each body by the same x at t*; vanish hides the whole robot."""
    pairs, clips = voe.load_suite(suites / "Luxo")
    keys = clips["possible"].manifest["state_keys"]
    xs = [i for i, k in enumerate(keys) if k.startswith("luxo0:") and k.endswith(":x:p")]
    assert len(xs) == 4
    for p in pairs["pairs"]:
        if not p["kept"]:
            continue
        k, t = p["pair"], p["t_star"]
        a, b = clips["possible"].episode(k), clips["impossible"].episode(k)
        if p["violation"] == "teleport":
            shift = np.asarray(b["full_state"])[t, xs] - np.asarray(a["full_state"])[t, xs]
            assert abs(shift[0]) >= 0.39 and np.allclose(shift, shift[0], atol=1e-4), shift
        if p["violation"] == "vanish":
            assert not unpacked(clips["impossible"], k)[t:].any()
    with pytest.raises(ValueError, match="resize changes what only an object has; Luxo has no object "
                                         r"\(its suite's subject is the robot luxo0:root\)"):
        voe.make_suite("Luxo", tmp_path / "x", pairs=2, violations=["teleport", "resize"])


def test_the_engine_scores_one_and_copy_last_does_not(suites, tmp_path):
    collect("Bounce", 200, tmp_path / "bounce", seed=5_000_000, progress=False)
    out = tmp_path / "out"
    assert main(["voe", "eval", "--suite", str(suites), "--out", str(out), "--engine", "--untrained",
                 "--fit", f"Bounce={tmp_path / 'bounce'}"]) == 0
    rows = json.loads((out / "voe.json").read_text())
    assert all({"model", "env", "violation", "pairwise_accuracy", "auc", "pairs"} <= set(r) for r in rows)
    engine = [r for r in rows if r["model"].startswith("engine")]
    assert {r["env"] for r in engine} == {"Bounce", "UrchinCube", "Luxo"}
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


# --- Nothing in a suite folder is trusted ---------------------------------------------------

@pytest.fixture
def suite(suites, tmp_path):
    import shutil
    return Path(shutil.copytree(suites / "Bounce", tmp_path / "Bounce"))


def edit_pairs(suite, edit):
    path = suite / voe.PAIRS_FILE
    content = json.loads(path.read_text())
    edit(content)
    path.write_text(json.dumps(content))


def first_kept(content):
    return next(p for p in content["pairs"] if p["kept"])


def drop(key):
    return lambda c: c.pop(key)


def set_pair(key, value, which=first_kept):
    return lambda c: which(c).update({key: value})


def second_pair_says_first(c):
    c["pairs"][1]["pair"] = 0


def summary_off(c):
    c["summary"]["teleport"]["kept"] += 1


def one_pair_less(c):
    c["pairs"].pop()


def recount(edit):
    def edited(c):
        edit(c)
        c["summary"] = {}
        for p in c["pairs"]:
            s = c["summary"].setdefault(p["violation"], {"made": 0, "kept": 0, "dropped_invisible": 0,
                                                         "no_moment": 0})
            s["made"] += 1
            s["kept" if p["kept"] else "dropped_invisible" if p["t_star"] >= 0 else "no_moment"] += 1
    return edited


PAIRS_EDITS = [
    ("no env", drop("env"), "pairs.json: env is missing"),
    ("env of another suite", lambda c: c.update(env="Dropbox"),
     r"pairs.json: env is 'Dropbox', but .*possible/manifest.json says 'Bounce'"),
    ("env as a path", lambda c: c.update(env="../Bounce"), "env is '../Bounce', not a built-in env"),
    ("seed", lambda c: c.update(seed=7), "seed is 7, but .*manifest.json says 0"),
    ("pairs not a list", lambda c: c.update(pairs={}), "pairs is {}, expected a list of pairs"),
    ("t_star past the clips", set_pair("t_star", 999), r"pairs\[\d+\].t_star is 999, outside its clips' frames 0..50"),
    ("t_star negative", set_pair("t_star", -7), r"pairs\[\d+\].t_star is -7, expected an int >= -1"),
    ("t_star a float", set_pair("t_star", 5.5), r"t_star is 5.5, expected an int >= -1"),
    ("kept without t_star", set_pair("t_star", -1), r"pairs\[\d+\] is kept but has no t_star \(-1\)"),
    ("unknown violation", set_pair("violation", "float"), r"violation is 'float', expected a violation type"),
    ("kept not a bool", set_pair("kept", 1), r"kept is 1, expected true or false"),
    ("pair out of place", second_pair_says_first, r"pairs\[1\].pair is 0, expected 1"),
    ("summary disagrees", summary_off, r"summary.teleport is \{.*\}, but the pairs count \{"),
    ("a pair less", recount(one_pair_less), r"pairs.json lists 35 pairs, but .*possible holds 36 episodes"),
]


@pytest.mark.parametrize("edit, message", [e[1:] for e in PAIRS_EDITS], ids=[e[0] for e in PAIRS_EDITS])
def test_edited_pairs_are_refused_naming_the_field(suite, edit, message):
    edit_pairs(suite, edit)
    with pytest.raises(voe.SuiteError, match=message) as e:
        voe.load_suite(suite)
    assert str(suite) in str(e.value) and "\n" not in str(e.value)


def test_a_suite_without_env_is_one_line_from_the_command(suite, tmp_path, capsys):
    edit_pairs(suite, drop("env"))
    assert main(["voe", "eval", "--suite", str(suite), "--out", str(tmp_path / "o"), "--engine"]) == 2
    err = capsys.readouterr().err
    assert "pairs.json: env is missing" in err and len(err.strip().splitlines()) == 1
    (suite / voe.PAIRS_FILE).write_text('{"env": "Bounce", "seed": NaN}')
    with pytest.raises(voe.SuiteError, match="pairs.json is not valid JSON: NaN is not a JSON number"):
        voe.load_suite(suite)


def test_datasets_of_other_physics_are_refused(suite):
    """Both clips edited alike and self-consistent (gravity up in the overrides and the
    definition): the engine oracle would replay other physics than the frames show."""
    from boxlcd.dataset import Episodes

    for clip in voe.CLIPS:
        path = suite / clip / "manifest.json"
        m = json.loads(path.read_text())
        m["overrides"], m["definition"]["gravity"] = {"gravity_y": 5}, [0.0, 5.0]
        path.write_text(json.dumps(m))
        Episodes(suite / clip)  # a consistent dataset on its own
    with pytest.raises(voe.SuiteError, match=r"possible/manifest.json: overrides is \{'gravity_y': 5\}, but"):
        voe.load_suite(suite)


def test_clips_that_do_not_share_their_actions_are_refused(suite):
    import hashlib

    path = suite / "impossible" / "shard-00000" / "actions.npy"
    actions = np.load(path)
    actions[3, 2, 0] = -actions[3, 2, 0]
    np.save(path, actions)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    for json_path in (suite / "impossible" / "manifest.json", path.parent / "shard.json"):
        m = json.loads(json_path.read_text())
        (m["shards"][0] if "shards" in m else m)["files"]["actions"]["sha256"] = digest
        json_path.write_text(json.dumps(m))
    with pytest.raises(voe.SuiteError, match="differ in the actions of shard 0"):
        voe.load_suite(suite)


def test_suite_folders_stay_inside(suite, tmp_path):
    import shutil

    outside = tmp_path / "elsewhere"
    shutil.move(suite / "possible", outside)
    (suite / "possible").symlink_to(outside, target_is_directory=True)
    with pytest.raises(voe.SuiteError, match="possible leads to .*elsewhere, outside the suite"):
        voe.load_suite(suite)
    (suite / "possible").unlink()
    shutil.move(outside, suite / "possible")
    # Two suites of one env in a folder of suites: which one to score is not clear.
    shutil.copytree(suite, tmp_path / "Bounce-copy")
    with pytest.raises(voe.SuiteError, match="are both suites of Bounce"):
        voe.env_suites(tmp_path)
    shutil.rmtree(tmp_path / "Bounce-copy")
    (tmp_path / "far").mkdir()
    (tmp_path / "far" / "Bounce").symlink_to(suite, target_is_directory=True)
    with pytest.raises(voe.SuiteError, match="Bounce leads to .*, outside the folder"):
        voe.env_suites(tmp_path / "far")


def test_a_suite_keeping_no_pair_is_refused_without_warnings(suite, tmp_path, capsys):
    """Every pair dropped (the summary agrees): accuracy and AUC over no pairs are not numbers,
    so voe eval says there is nothing to score, in one line and with no numpy warnings."""
    edit_pairs(suite, recount(lambda c: [p.update(kept=False) for p in c["pairs"]]))
    voe.read_pairs(suite)  # consistent as a suite
    assert main(["voe", "eval", "--suite", str(suite), "--out", str(tmp_path / "o"), "--engine"]) == 2
    err = capsys.readouterr().err
    assert "none of its 36 pairs is kept, so there is nothing to score" in err and err.count("\n") == 1
    assert not (tmp_path / "o").exists()
