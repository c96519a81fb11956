"""send/recv: stepping in the background; same results per env as step()."""
import numpy as np
import pytest

import boxlcd
from conftest import random_actions, rollout


@pytest.mark.parametrize("threads", [1, 2])
def test_send_all_recv_all_equals_step(threads):
    sync = boxlcd.make("Urchin", num_envs=6, num_threads=threads, seed=9)
    asyn = boxlcd.make("Urchin", num_envs=6, num_threads=threads, seed=9)
    actions = random_actions(sync, 110)  # crosses an autoreset at step 100
    for a in actions:
        obs, reward, term, trunc, info = sync.step(a)
        asyn.send(a)
        aobs, areward, aterm, atrunc, ainfo = asyn.recv()
        order = np.argsort(ainfo["env_id"])
        assert sorted(ainfo["env_id"]) == list(range(6))
        np.testing.assert_array_equal(aobs["full_state"][order], obs["full_state"])
        np.testing.assert_array_equal(aobs["lcd"][order], obs["lcd"])
        np.testing.assert_array_equal(atrunc[order], trunc)
        np.testing.assert_array_equal(ainfo["episode_step"][order], info["episode_step"])


def test_batch_size_smaller_than_num_envs_keeps_each_env_trajectory():
    n, steps, half = 8, 30, 4
    env = boxlcd.make("LuxoCube", num_envs=n, num_threads=2, seed=21)
    actions = random_actions(env, steps + 1, seed=3)  # actions[k, i]: env i's k-th action
    done = np.zeros(n, int)
    seen = [[] for _ in range(n)]
    env.send(actions[0])
    while done.min() < steps:
        obs, _, _, _, info = env.recv(half)
        assert 1 <= len(info["env_id"]) <= half
        ids = info["env_id"]
        for row, i in enumerate(ids):
            seen[i].append(obs["full_state"][row].copy())
            done[i] += 1
        again = ids[done[ids] < steps]
        if len(again):
            env.send(actions[done[again], again], env_ids=again)
    assert env.batch.in_flight == 0
    reference = boxlcd.make("LuxoCube", num_envs=n, num_threads=1, seed=21)
    _, states = rollout(reference, actions[:steps])
    for i in range(n):
        np.testing.assert_array_equal(np.stack(seen[i]), states[:, i])


def test_async_misuse_is_refused():
    env = boxlcd.make("Bounce", num_envs=4, num_threads=2)
    a = np.zeros((4, 1), np.float32)
    env.send(a[:2], env_ids=np.array([0, 1]))
    with pytest.raises(ValueError, match="env 1 is already stepping"):
        env.send(a[:1], env_ids=np.array([1]))
    with pytest.raises(ValueError, match="still stepping asynchronously"):
        env.step(a)
    with pytest.raises(ValueError, match="still stepping asynchronously"):
        env.reset()
    with pytest.raises(ValueError, match="env id 7 is outside"):
        env.send(a[:1], env_ids=np.array([7]))
    with pytest.raises(ValueError, match=r"actions must have shape \(1, 1\)"):
        env.send(a, env_ids=np.array([2]))
    ids = env.recv()[4]["env_id"]
    assert sorted(ids) == [0, 1]
    assert len(env.recv()[4]["env_id"]) == 0  # nothing in flight: returns at once
    env.step(a)  # idle again
