"""Datasets: round trip, determinism, resume, corruption, Ray, torch windows."""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import boxlcd
from boxlcd.dataset import CorruptShardError, Episodes, collect


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
