"""Datasets: round trip, determinism, resume, corruption, Ray, torch windows."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import boxlcd
from boxlcd.dataset import CorruptShardError, DatasetError, Episodes, JoinedEpisodes, collect, open_episodes


def file_digests(root: Path) -> dict:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.npy"))}


def test_round_trip_equals_the_engine(tmp_path):
    collect("Urchin", 7, tmp_path / "d", seed=5, shard_size=3, progress=False, ep_len=20)
    data = Episodes(tmp_path / "d")
    assert len(data) == 7 and data.num_shards == 3 and data.ep_len == 20
    assert data.state_keys == boxlcd.make("Urchin").state_keys
    for e in (0, 4, 6):
        ep = data.episode(e)
        assert ep["seeds"] == 5 + e
        assert ep["frames"].shape == (21, 16, 4) and ep["actions"].shape == (20, 3)
        env = boxlcd.make("Urchin", seed=5 + e, ep_len=20)
        obs = env.reset(seed=5 + e)
        np.testing.assert_array_equal(ep["frames"][0], obs["lcd"][0])
        for t in range(20):
            obs, *_ = env.step(ep["actions"][t][None])
            np.testing.assert_array_equal(ep["frames"][t + 1], obs["lcd"][0])
            np.testing.assert_array_equal(ep["full_state"][t + 1], obs["full_state"][0])
            np.testing.assert_array_equal(ep["proprio"][t + 1], obs["proprio"][0])
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["env"] == "Urchin" and manifest["overrides"] == {"ep_len": 20}
    assert manifest["frame_shape"] == [16, 32] and len(manifest["shards"]) == 3


def test_same_arguments_same_bytes(tmp_path):
    for name in ("a", "b"):
        collect("Bounce2", 10, tmp_path / name, seed=1, shard_size=4, progress=False)
    assert file_digests(tmp_path / "a") == file_digests(tmp_path / "b")
    collect("Bounce2", 10, tmp_path / "c", seed=2, shard_size=4, progress=False)
    assert file_digests(tmp_path / "a") != file_digests(tmp_path / "c")


def test_resume_after_an_interrupted_run(tmp_path):
    calls = {"n": 0}

    def flaky(obs, rng, action_size):
        calls["n"] += 1
        if calls["n"] == 2 * 25 + 3:  # dies during the third shard
            raise KeyboardInterrupt
        return rng.uniform(-1, 1, (len(obs["full_state"]), action_size)).astype(np.float32)

    flaky.__module__, flaky.__qualname__ = "tests", "flaky"
    with pytest.raises(KeyboardInterrupt):
        collect("Dropbox", 10, tmp_path / "d", policy=flaky, shard_size=2, progress=False)
    assert sorted(p.name for p in (tmp_path / "d").iterdir() if p.name.startswith("shard")) == [
        "shard-00000", "shard-00001"]
    with pytest.raises(ValueError, match="incomplete"):
        Episodes(tmp_path / "d")
    with pytest.raises(FileExistsError, match="resume=True"):
        collect("Dropbox", 10, tmp_path / "d", policy=flaky, shard_size=2, progress=False)
    with pytest.raises(ValueError, match="other settings"):
        collect("Dropbox", 12, tmp_path / "d", policy=flaky, shard_size=2, progress=False, resume=True)
    collect("Dropbox", 10, tmp_path / "d", policy=flaky, shard_size=2, progress=False, resume=True)
    collect("Dropbox", 10, tmp_path / "ref", policy=flaky, shard_size=2, progress=False)
    assert file_digests(tmp_path / "d") == file_digests(tmp_path / "ref")
    assert len(Episodes(tmp_path / "d")) == 10


def test_corrupted_or_truncated_shard_is_detected(tmp_path):
    collect("Bounce", 6, tmp_path / "d", shard_size=3, progress=False)
    frames = tmp_path / "d" / "shard-00001" / "frames.npy"
    data = bytearray(frames.read_bytes())
    data[-5] ^= 0xFF
    frames.write_bytes(bytes(data))
    with pytest.raises(CorruptShardError, match="shard-00001/frames.npy does not match its checksum"):
        Episodes(tmp_path / "d")
    frames.write_bytes(bytes(data[:-100]))
    with pytest.raises(CorruptShardError, match="cannot be read"):
        Episodes(tmp_path / "d", verify=False)
    frames.write_bytes(b"")
    with pytest.raises(CorruptShardError, match="frames.npy cannot be read: No data left in file"):
        Episodes(tmp_path / "d", verify=False)


def test_bad_collect_arguments(tmp_path):
    with pytest.raises(ValueError, match="built-in env"):
        collect("Nope", 1, tmp_path / "x")
    with pytest.raises(ValueError, match="episodes must be a positive int"):
        collect("Bounce", 0, tmp_path / "x")
    with pytest.raises(ValueError, match="policy must be"):
        collect("Bounce", 1, tmp_path / "x", policy="greedy")
    with pytest.raises(ValueError, match="cannot be loaded"):
        collect("Bounce", 1, tmp_path / "x", policy="no_such_module:f")
    with pytest.raises(ValueError, match="unknown option"):
        collect("Bounce", 1, tmp_path / "x", eplen=3)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "other.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not an empty folder"):
        collect("Bounce", 1, tmp_path / "full", progress=False)


def huge_policy(obs, rng, action_size):
    a = np.full((len(obs["full_state"]), action_size), 1e30)
    a[:, 0] = -3.0
    a[:, -1] = 0.25
    return a


def nan_policy(obs, rng, action_size):
    a = np.zeros((len(obs["full_state"]), action_size), np.float32)
    a[0, 0] = np.nan
    return a


def test_collect_stores_the_actions_the_engine_applied(tmp_path):
    """The engine clips actions to [-1, 1]: the dataset holds the clipped ones, which replay the
    episode, not the policy's raw output."""
    collect("Urchin", 2, tmp_path / "d", policy=huge_policy, progress=False, ep_len=4)
    ep = Episodes(tmp_path / "d").episode(1)
    np.testing.assert_array_equal(ep["actions"], np.tile(np.float32([-1, 1, 0.25]), (4, 1)))
    env = boxlcd.make("Urchin", seed=1, ep_len=4)
    env.reset(seed=1)
    for t in range(4):
        obs, *_ = env.step(ep["actions"][t][None])
        np.testing.assert_array_equal(obs["full_state"][0], ep["full_state"][t + 1])


def test_a_policy_returning_nan_or_the_wrong_shape_is_named(tmp_path):
    with pytest.raises(ValueError, match="policy test_dataset:nan_policy returned nan among its actions"):
        collect("Urchin", 2, tmp_path / "a", policy=nan_policy, progress=False, ep_len=4)
    with pytest.raises(ValueError, match=r"policy test_dataset:.*<lambda> returned shape \(2,\), expected \(2, 3\)"):
        collect("Urchin", 2, tmp_path / "b", policy=lambda obs, rng, n: np.zeros(2), progress=False, ep_len=4)
    with pytest.raises(ValueError, match="policy test_dataset:.*<lambda> returned no array of numbers"):
        collect("Urchin", 2, tmp_path / "c", policy=lambda obs, rng, n: "fast", progress=False, ep_len=4)


@pytest.mark.parametrize("option", [{"frames": False}, {"autoreset_mode": "same_step"}, {"num_envs": 3}])
def test_collect_takes_world_settings_only(tmp_path, option):
    with pytest.raises(ValueError, match=f"unknown option '{next(iter(option))}'; options: ep_len"):
        collect("Bounce", 1, tmp_path / "x", progress=False, **option)
    assert not (tmp_path / "x").exists()


def test_unwritable_folder_gives_a_clear_error(tmp_path):
    import os
    if os.geteuid() == 0:
        locked = Path("/proc/boxlcd-dataset")  # not writable even for root
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    with pytest.raises(OSError, match="boxlcd-dataset|locked"):
        collect("Bounce", 1, locked / "d" if locked.name == "locked" else locked, progress=False)


def test_train_test_split_by_episode(tmp_path):
    collect("Bounce", 20, tmp_path / "d", shard_size=7, progress=False, ep_len=5)
    train, test = Episodes(tmp_path / "d").split(0.25, seed=3)
    assert len(test) == 5 and len(train) == 15 and not set(train) & set(test)
    assert sorted(set(train) | set(test)) == list(range(20))


def test_ray_path_equals_local_path(tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        collect("Bounce", 9, tmp_path / "ray", seed=4, shard_size=2, progress=False, ray=True)
    finally:
        ray.shutdown()
    collect("Bounce", 9, tmp_path / "local", seed=4, shard_size=2, progress=False)
    assert file_digests(tmp_path / "ray") == file_digests(tmp_path / "local")


def test_windows_shapes_and_alignment(tmp_path):
    torch = pytest.importorskip("torch")
    from boxlcd.dataset.windows import Windows

    collect("Urchin", 5, tmp_path / "d", seed=2, shard_size=2, progress=False, ep_len=12)
    data = Episodes(tmp_path / "d")
    w = Windows(data, window=4, episodes=[1, 3, 4], dtype=torch.float32)
    assert len(w) == 3 * (13 - 4 + 1)
    item = w[11]  # episode 3, start 1
    assert int(item["episode"]) == 3 and int(item["start"]) == 1
    assert item["lcd"].shape == (4, 16, 32) and item["lcd"].dtype == torch.float32
    assert item["actions"].shape == (3, 3) and item["full_state"].shape == (4, 16)
    ep = data.episode(3)
    np.testing.assert_array_equal(item["lcd"].numpy(), np.unpackbits(ep["frames"][1:5], axis=-1))
    np.testing.assert_array_equal(item["actions"].numpy(), ep["actions"][1:4])
    # Action t leads from frame t to t + 1: replaying them from the episode's seed agrees.
    env = boxlcd.make("Urchin", seed=int(ep["seeds"]), ep_len=12)
    env.reset(seed=int(ep["seeds"]))
    env.step(ep["actions"][0][None])
    np.testing.assert_array_equal(env.batch.full_state[0], item["full_state"][0].numpy())
    obs, *_ = env.step(item["actions"][0].numpy()[None])
    np.testing.assert_array_equal(obs["full_state"][0], item["full_state"][1].numpy())
    batches = list(w.loader(batch_size=8, shuffle=True, num_workers=2,
                            generator=torch.Generator().manual_seed(0)))
    assert sum(len(b["lcd"]) for b in batches) == len(w)
    seen = sorted(zip(torch.cat([b["episode"] for b in batches]).tolist(),
                      torch.cat([b["start"] for b in batches]).tolist()))
    assert seen == sorted((e, s) for e in (1, 3, 4) for s in range(10))
    with pytest.raises(ValueError, match="window must be"):
        Windows(data, window=14)


# --- Nothing in a dataset folder is trusted -------------------------------------------------

@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """7 Urchin episodes in shards of 3, 3 and 1; tests tamper with copies."""
    path = tmp_path_factory.mktemp("pristine") / "d"
    collect("Urchin", 7, path, seed=5, shard_size=3, progress=False, ep_len=6)
    return path


@pytest.fixture
def dataset(pristine, tmp_path):
    import shutil
    return Path(shutil.copytree(pristine, tmp_path / "d"))


def edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def drop_last_shard(m):
    m["shards"].pop()


def drop_last_shard_and_its_episodes(m):
    m["shards"].pop()
    m["episodes"] = 6


def drop_first_shard_and_its_episodes(m):
    m["shards"].pop(0)
    m["episodes"] = 4


def drop_last_proprio_key(m):
    m["proprio_keys"].pop()


def set_key(key, value, *path):
    def edit(m):
        for p in path:
            m = m[p]
        m[key] = value
    edit.__name__ = f"{'.'.join(map(str, path + (key,)))}={value!r}"
    return edit


def delete_key(key, *path):
    def edit(m):
        for p in path:
            m = m[p]
        del m[key]
    edit.__name__ = f"del {'.'.join(map(str, path + (key,)))}"
    return edit


MANIFEST_EDITS = [
    (drop_last_shard, "lists 2 shards, but 7 episodes in shards of 3 make 3"),
    (drop_last_shard_and_its_episodes, "holds shard-00002, which .*manifest.json does not list"),
    (drop_first_shard_and_its_episodes, r"shards\[0\].name is 'shard-00001', expected 'shard-00000'"),
    (set_key("name", "../elsewhere", "shards", 1), r"shards\[1\].name is '../elsewhere', expected 'shard-00001'"),
    (set_key("name", "/etc", "shards", 1), r"shards\[1\].name is '/etc'"),
    (set_key("episodes", 2, "shards", 1), r"shards\[1\].episodes is 2, but shard 1 .* holds 3"),
    (set_key("episodes", 8), r"shards\[2\].episodes is 1, but shard 2 of 8 episodes in shards of 3 holds 2"),
    (set_key("ep_len", 5), "ep_len is 5 but definition.ep_len is 6"),
    (set_key("frame_shape", [16, 30]), r"frame_shape is \[16, 30\] but the definition's lcd_base 16 and wh_ratio "
                                       r"2.0 make \[16, 32\]"),
    (set_key("frame_shape", [8, 16]), r"frame_shape is \[8, 16\] but"),
    (set_key("frame_row_bytes", 3), "frame_row_bytes is 3 but frames 32 pixels wide pack into 4"),
    (set_key("shape", [3, 6, 2], "shards", 0, "files", "actions"),
     r"files.actions is \[3, 6, 2\] float32, but ep_len, frame_shape and the key names make \[3, 6, 3\] float32"),
    (set_key("dtype", "float64", "shards", 0, "files", "actions"), r"files.actions is \[3, 6, 3\] float64"),
    (set_key("sha256", "abc", "shards", 0, "files", "frames"), "sha256 is 'abc', expected a sha256 hex digest"),
    (delete_key("seeds", "shards", 0, "files"), r"shards\[0\].files are .*, expected"),
    (delete_key("ep_len"), "ep_len is missing"),
    (set_key("ep_len", "6"), "ep_len is '6', expected an int >= 1"),
    (set_key("ep_len", True), "ep_len is True, expected an int >= 1"),
    (set_key("seed", 2**64), r"seed is 18446744073709551616, expected an int in \[0, 2\*\*62\)"),
    (set_key("frame_shape", "16x32"), "frame_shape is '16x32', expected"),
    (set_key("shards", {"0": 1}), "shards is .*, expected a list"),
    (set_key(1, "shard-00001", "shards"), r"shards\[1\] must be a JSON object, not str"),
    (set_key("definition", None), "definition is None, expected an object"),
    (set_key("format_version", 2), "format_version is 2, expected 1"),
    (set_key("complete", False), "is an incomplete collection; continue it with collect"),
    # The manifest must describe what the engine builds for its env and overrides.
    (set_key("env", "Dropbox"), r"definition.name is 'Urchin', but Dropbox with overrides \{'ep_len': 6\} builds "
                                "'Dropbox'"),
    (set_key("env", "../Urchin"), r"env is '../Urchin', not a built-in env \(Dropbox, "),
    (set_key("gravity_y", 5, "overrides"), r"definition.gravity is \[0.0, -9.81\], but Urchin with overrides "
                                           r"\{'ep_len': 6, 'gravity_y': 5\} builds \[0.0, 5.0\]"),
    (set_key("gravity", [0.0, 5.0], "definition"), r"definition.gravity is \[0.0, 5.0\], but Urchin"),
    (set_key("walls", 1, "definition"), r"definition.walls is 1, but Urchin .* builds True"),
    (set_key("bodies", [], "definition"), "definition.bodies is not a field of a world definition"),
    (delete_key("substeps", "definition"), r"definition.substeps is missing \(Urchin with overrides"),
    (set_key("num_envs", 2, "overrides"), "overrides has 'num_envs', not a setting"),
    (set_key("ep_len", "long", "overrides"), r"overrides \{'ep_len': 'long'\} do not build Urchin"),
    (set_key("gravity_y", float("nan"), "overrides"), "is not valid JSON: NaN is not a JSON number"),
    (set_key("action_keys", ["a", "b", "c"]), r"action_keys\[0\] is 'a', but Urchin with overrides .* builds "
                                              "'urchin0:aleg:speed'"),
    (set_key("state_keys", ["urchin0:root:x:p"] * 16), r"state_keys\[0\] is 'urchin0:root:x:p', but .* builds "
                                                       "'urchin0:aleg:cos'"),
    (set_key("proprio_keys", ["zero"]), r"proprio_keys\[0\] is 'zero', but Urchin with overrides .* builds "
                                        "'urchin0:aleg:cos'"),
    (drop_last_proprio_key, r"proprio_keys has 15 names, but Urchin with overrides .* builds 16"),
]


@pytest.mark.parametrize("edit, message", MANIFEST_EDITS, ids=[e.__name__ for e, _ in MANIFEST_EDITS])
def test_edited_manifest_is_refused_naming_what_disagrees(dataset, edit, message):

    edit_json(dataset / "manifest.json", edit)
    with pytest.raises(DatasetError, match=message) as e:
        Episodes(dataset, verify=False)
    assert str(dataset) in str(e.value)


@pytest.mark.parametrize("text", ["{not json", "\xff\xfe", "[1, 2]", '"boxlcd-dataset"', "null",
                                  '{"format": "something-else"}'])
def test_malformed_manifest_is_a_dataset_error(dataset, text):

    (dataset / "manifest.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(DatasetError, match=f"{dataset / 'manifest.json'} is not (valid JSON|a boxlcd-dataset manifest)"):
        Episodes(dataset)


def test_shards_that_lead_out_of_the_dataset_are_refused(dataset, tmp_path):
    import shutil

    outside = tmp_path / "outside"
    shutil.move(dataset / "shard-00001", outside)
    (dataset / "shard-00001").symlink_to(outside, target_is_directory=True)
    with pytest.raises(DatasetError, match="shard-00001 leads to .*outside, outside the dataset"):
        Episodes(dataset)
    (dataset / "shard-00001").unlink()
    (dataset / "shard-00001").mkdir()
    for f in outside.iterdir():
        (dataset / "shard-00001" / f.name).symlink_to(f)
    with pytest.raises(DatasetError, match="shard-00001/(shard.json|frames.npy) leads to .*outside"):
        Episodes(dataset)
    (tmp_path / "manifest.json").write_bytes((dataset / "manifest.json").read_bytes())
    (dataset / "manifest.json").unlink()
    (dataset / "manifest.json").symlink_to(tmp_path / "manifest.json")
    with pytest.raises(DatasetError, match="manifest.json leads to .*, outside the dataset"):
        Episodes(dataset)
    (dataset / "manifest.json").unlink()
    (tmp_path / "manifest.json").rename(dataset / "manifest.json")
    # A dataset folder that is itself a link is fine: only what lies below it is checked.
    shutil.rmtree(dataset / "shard-00001")
    shutil.move(outside, dataset / "shard-00001")
    (tmp_path / "link").symlink_to(dataset, target_is_directory=True)
    assert len(Episodes(tmp_path / "link")) == 7


def test_manifest_shard_json_and_arrays_must_agree(dataset):
    """Edits that keep the manifest consistent with itself still disagree with the files."""

    def shorter(m):  # ep_len 5 everywhere in the manifest
        m["ep_len"] = m["definition"]["ep_len"] = m["overrides"]["ep_len"] = 5
        for entry in m["shards"]:
            for name, info in entry["files"].items():
                if name != "seeds":
                    info["shape"][1] -= 1

    edit_json(dataset / "manifest.json", shorter)
    with pytest.raises(DatasetError, match="shard-00000/shard.json disagrees with .*manifest.json about this "
                                           r"shard \(files\)"):
        Episodes(dataset, verify=False)
    for i in range(3):
        entry = json.loads((dataset / "manifest.json").read_text())["shards"][i]
        (dataset / f"shard-{i:05d}" / "shard.json").write_text(json.dumps(entry))
    with pytest.raises(CorruptShardError, match=r"shard-00000/frames.npy is \[3, 7, 16, 4\] uint8, but "
                                                r".*manifest.json says \[3, 6, 16, 4\] uint8"):
        Episodes(dataset, verify=False)


def rewrite_array(dataset: Path, shard: int, name: str, edit) -> None:
    """Edits one array of a shard and writes its new checksum into shard.json and the manifest,
    as a tamperer would: the checksums then say nothing about the values."""
    path = dataset / f"shard-{shard:05d}" / f"{name}.npy"
    array = np.load(path)
    edit(array)
    np.save(path, array)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    edit_json(dataset / "manifest.json", set_key("sha256", digest, "shards", shard, "files", name))
    edit_json(path.parent / "shard.json", set_key("sha256", digest, "files", name))


def set_value(index, value):
    def edit(array):
        array[index] = value
    return edit


def proprio_off(array):
    array[0, 2, 5] += 0.5


VALUE_EDITS = [  # shard 1 holds episodes 3, 4, 5
    ("actions", set_value((1, 2, 0), np.nan), r"shard-00001/actions.npy holds a number that is not finite at "
                                              r"episode 4, step 2 \(urchin0:aleg:speed\): nan"),
    ("actions", set_value((0, 0, 2), 1e30), r"actions.npy holds an action outside \[-1, 1\] at episode 3, step 0"),
    ("full_state", set_value((2, 6, 3), np.inf), r"full_state.npy holds a number that is not finite at episode 5, "
                                                 r"step 6 \(urchin0:aleg:y:p\): inf"),
    ("full_state", set_value((0, 1, 1), -1.5), r"full_state.npy holds a cos or sin outside \[-1, 1\] at episode 3, "
                                               r"step 1 \(urchin0:aleg:sin\)"),
    ("proprio", set_value((0, 3, 0), -np.inf), "proprio.npy holds a number that is not finite at episode 3, step 3"),
    ("proprio", proprio_off, r"proprio.npy differs from its full_state entry at episode 3, step 2 "
                             r"\(urchin0:bleg:sin\)"),
]


@pytest.mark.parametrize("name, edit, message", VALUE_EDITS, ids=[f"{n}-{m[:30]}" for n, _, m in VALUE_EDITS])
def test_values_no_engine_writes_are_refused_whatever_the_checksums(dataset, name, edit, message):
    rewrite_array(dataset, 1, name, edit)
    for verify in (True, False):  # values are checked without verify too
        with pytest.raises(DatasetError, match=message):
            Episodes(dataset, verify=verify)


def test_positions_may_leave_the_world(dataset):
    """Positions have no bound a dataset can be held to (walls=False, pass_through): a body
    below the floor is data, not an error."""
    rewrite_array(dataset, 0, "full_state", set_value((0, 1, 3), -1.5))
    rewrite_array(dataset, 0, "proprio", set_value((0, 1, 3), -1.5))
    assert len(Episodes(dataset)) == 7


def test_garbage_after_an_array_breaks_its_checksum(dataset):
    """The checksum pass reads the array memory-mapped; bytes after it count too."""
    with open(dataset / "shard-00002" / "seeds.npy", "ab") as f:
        f.write(b"x")
    Episodes(dataset, verify=False)
    with pytest.raises(CorruptShardError, match="shard-00002/seeds.npy does not match its checksum"):
        Episodes(dataset)


def test_an_array_in_fortran_order_is_refused(dataset):
    path = dataset / "shard-00000" / "full_state.npy"
    array = np.load(path)
    np.save(path, np.asfortranarray(array))
    with pytest.raises(CorruptShardError, match="full_state.npy is stored in Fortran order"):
        Episodes(dataset, verify=False)


def test_swapped_shards_are_found_by_their_seeds(dataset):

    # Swap the contents of shards 0 and 1 (both 3 episodes) and make every listing agree.
    (dataset / "shard-00000").rename(dataset / "tmp")
    (dataset / "shard-00001").rename(dataset / "shard-00000")
    (dataset / "tmp").rename(dataset / "shard-00001")
    m = json.loads((dataset / "manifest.json").read_text())
    m["shards"][0]["files"], m["shards"][1]["files"] = m["shards"][1]["files"], m["shards"][0]["files"]
    (dataset / "manifest.json").write_text(json.dumps(m))
    for i in (0, 1):
        (dataset / f"shard-{i:05d}" / "shard.json").write_text(json.dumps(m["shards"][i]))
    with pytest.raises(DatasetError, match=r"shard-00000/seeds.npy holds seeds 8.., but .*manifest.json places "
                                           r"this shard at episodes 0.. \(seeds 5..\)"):
        Episodes(dataset)


def test_missing_shard_json_is_reported(dataset):
    (dataset / "shard-00002" / "shard.json").unlink()
    with pytest.raises(CorruptShardError, match="shard-00002/shard.json is missing"):
        Episodes(dataset)


# --- Resume and concurrent collections -----------------------------------------------------

def test_resume_redoes_unfinished_shard_folders(tmp_path):
    """A shard folder without a valid shard.json (a crash, an old version, a hand edit) is
    collected again; a link in its place is removed, never followed."""
    collect("Bounce", 9, tmp_path / "ref", shard_size=2, progress=False, ep_len=4)
    d = tmp_path / "d"
    collect("Bounce", 9, d, shard_size=2, progress=False, ep_len=4)
    edit_json(d / "manifest.json", set_key("complete", False))
    (d / "shard-00001" / "shard.json").unlink()
    (d / "shard-00002" / "shard.json").write_text("{trunc")
    (d / "shard-00003" / "shard.json").write_text(json.dumps({"name": "shard-00000"}))
    import shutil
    shutil.rmtree(d / "shard-00004")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("not the dataset's")
    (d / "shard-00004").symlink_to(outside, target_is_directory=True)
    collect("Bounce", 9, d, shard_size=2, progress=False, ep_len=4, resume=True)
    assert file_digests(d) == file_digests(tmp_path / "ref")
    assert (outside / "keep.txt").read_text() == "not the dataset's"
    assert not (d / "shard-00004").is_symlink() and len(Episodes(d)) == 9
    assert sorted(p.name for p in d.iterdir() if not p.name.startswith(".")) == [
        "manifest.json", *(f"shard-{i:05d}" for i in range(5))]


BLOCKING_COLLECT = """
import sys
from boxlcd.dataset import collect

def policy(obs, rng, action_size):
    print("collecting", flush=True)
    sys.stdin.readline()  # holds the collection open until the test says
    return rng.uniform(-1, 1, (len(obs["full_state"]), action_size)).astype("float32")

policy.__module__, policy.__qualname__ = "tests", "blocking"
collect("Dropbox", 4, sys.argv[1], policy=policy, shard_size=2, progress=False, ep_len=3)
print("done", flush=True)
"""


def blocking_policy(obs, rng, action_size):
    return rng.uniform(-1, 1, (len(obs["full_state"]), action_size)).astype(np.float32)


blocking_policy.__module__, blocking_policy.__qualname__ = "tests", "blocking"


def test_second_collector_on_a_folder_in_use_fails_and_a_crash_releases_it(tmp_path):
    import subprocess
    import sys

    collect("Dropbox", 4, tmp_path / "ref", policy=blocking_policy, shard_size=2, progress=False, ep_len=3)
    d = tmp_path / "d"
    for finish in ("kill", "exit"):
        first = subprocess.Popen([sys.executable, "-c", BLOCKING_COLLECT, str(d)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        assert first.stdout.readline() == "collecting\n"  # it holds the lock now
        with pytest.raises(DatasetError, match=f"{d} is in use by another collection .*{d / '.collect.lock'}"):
            collect("Dropbox", 4, d, policy=blocking_policy, shard_size=2, progress=False, ep_len=3, resume=True)
        if finish == "kill":  # a crash: the kernel drops the lock with the process
            first.kill()
            first.communicate()
            collect("Dropbox", 4, d, policy=blocking_policy, shard_size=2, progress=False, ep_len=3, resume=True)
            assert file_digests(d) == file_digests(tmp_path / "ref")
            import shutil
            shutil.rmtree(d)
        else:
            out, _ = first.communicate("\n" * 20)
            assert first.returncode == 0 and out.endswith("done\n")
            # Released on exit: the folder can be collected into (resumed) again.
            collect("Dropbox", 4, d, policy=blocking_policy, shard_size=2, progress=False, ep_len=3, resume=True)
            assert file_digests(d) == file_digests(tmp_path / "ref")


def test_resume_advice_names_the_python_flag(tmp_path):
    collect("Bounce", 2, tmp_path / "d", progress=False, ep_len=3)
    with pytest.raises(FileExistsError, match=r"continue it with collect\(..., resume=True\)"):
        collect("Bounce", 2, tmp_path / "d", progress=False, ep_len=3)


def test_frames_wider_than_the_manifest_says_are_found(dataset):
    """frame_shape and wh_ratio edited together agree with each other and with the packed row
    bytes, but shard 0's robot lights columns 25 and 26, beyond the claimed width. (Narrowing
    by columns that no frame lights changes no pixel a reader sees, and cannot be found.)"""
    def narrower(m):
        m["frame_shape"], m["definition"]["wh_ratio"] = [16, 25], 25 / 16
        m["overrides"]["wh_ratio"] = 25 / 16

    edit_json(dataset / "manifest.json", narrower)
    Episodes(dataset, verify=False)  # the check reads every frame, so it comes with verify
    with pytest.raises(DatasetError, match=r"shard-00000/frames.npy has lit pixels right of column 25: the frames "
                                           r"are wider than .*manifest.json's frame_shape \[16, 25\]"):
        Episodes(dataset)


def test_joined_datasets_read_as_one(tmp_path):
    """Episodes of A, then B's, through every reader (episode, windows); open_episodes takes
    a list or folders joined by ','."""
    torch = pytest.importorskip("torch")
    from boxlcd.dataset.windows import Windows

    collect("Urchin", 5, tmp_path / "a", seed=0, shard_size=2, progress=False, ep_len=6)
    collect("Urchin", 3, tmp_path / "b", seed=100, policy="zero", progress=False, ep_len=6)
    a, b = Episodes(tmp_path / "a"), Episodes(tmp_path / "b")
    joined = open_episodes(f"{tmp_path / 'a'},{tmp_path / 'b'}")
    assert isinstance(joined, JoinedEpisodes) and len(joined) == 8 and joined.num_shards == 4
    assert joined.manifest["episodes"] == 8 and joined.manifest["parts"] == [str(tmp_path / "a"), str(tmp_path / "b")]
    for i in range(8):
        want = a.episode(i) if i < 5 else b.episode(i - 5)
        got = joined.episode(i)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k])
    windows = Windows(joined, window=3, dtype=torch.uint8)
    batch = windows.__getitems__([0, 5 * 5 + 2, 7 * 5 + 4])  # episode 0, then B's first and last
    np.testing.assert_array_equal(batch["actions"][1].numpy(), b.episode(0)["actions"][2:4])
    assert not batch["actions"][2].any()  # B's policy was zero
    assert len(open_episodes([tmp_path / "a", tmp_path / "b"])) == 8
    assert type(open_episodes(tmp_path / "a")) is Episodes


def test_datasets_that_differ_cannot_be_joined(tmp_path):
    collect("Urchin", 2, tmp_path / "urchin", seed=0, progress=False, ep_len=6)
    collect("Urchin", 2, tmp_path / "longer", seed=0, progress=False, ep_len=8)
    collect("Luxo", 2, tmp_path / "luxo", seed=0, progress=False, ep_len=6)
    with pytest.raises(DatasetError, match="differ in overrides, ep_len"):
        open_episodes(f"{tmp_path / 'urchin'},{tmp_path / 'longer'}")
    with pytest.raises(DatasetError, match="differ in env, "):
        JoinedEpisodes([tmp_path / "urchin", tmp_path / "luxo"])
    with pytest.raises(FileNotFoundError, match="not a boxlcd dataset"):
        open_episodes(f"{tmp_path / 'urchin'},{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="two or more"):
        JoinedEpisodes([tmp_path / "urchin"])


def test_importing_the_dataset_package_loads_no_learning_code():
    """boxlcd.dataset stands below rl and models: importing it loads neither, nor torch."""
    import subprocess
    import sys

    code = ("import sys, boxlcd.dataset; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch' or "
            "m.startswith(('boxlcd.rl', 'boxlcd.models'))))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_a_ppo_policy_name_is_refused_without_rl(tmp_path):
    with pytest.raises(ValueError, match=r"is a PPO run's: pass boxlcd.rl.actor.ppo_policy\('ppo:run'\)"):
        collect("Bounce", 1, tmp_path / "x", policy="ppo:run")
    assert not (tmp_path / "x").exists()
