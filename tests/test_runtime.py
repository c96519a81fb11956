"""Runtime safety: threads, fork, resource limits, close, argument ranges, import order.

Every probe that could crash or hang runs in a subprocess with a timeout, so a crash or a hang
fails its test instead of taking pytest down. The timeouts only bound a hang: no test checks
how long anything takes.
"""
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import boxlcd
from conftest import PROBE_TIMEOUT, run_python


def probe(code: str, timeout: int = PROBE_TIMEOUT) -> str:
    """Runs code in a fresh interpreter; fails unless it exits 0. Returns its stdout."""
    try:
        done = run_python(code, timeout)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"probe hung (killed after {timeout} s); output so far:\n{e.stdout}\n{e.stderr}")
    assert done.returncode == 0, f"probe exited {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


# ---- threads ---------------------------------------------------------------------------------

def test_steps_from_several_threads_serialise():
    out = probe("""
        import threading
        import numpy as np
        import boxlcd
        env = boxlcd.make("Bounce2", num_envs=64, num_threads=2, seed=5)
        zero = np.zeros((64, env.action_size), np.float32)
        def work():
            for _ in range(25):
                env.step(zero)
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
        # Each step is whole: 4 x 25 steps from threads equal 100 steps in one.
        ref = boxlcd.make("Bounce2", num_envs=64, num_threads=1, seed=5)
        for _ in range(100):
            ref.step(zero)
        assert np.array_equal(env.batch.full_state, ref.batch.full_state)
        assert np.array_equal(env.batch.frames, ref.batch.frames)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_every_call_at_once_from_threads():
    # Calls that conflict raise ValueError naming the conflict; nothing crashes or hangs.
    out = probe("""
        import threading
        import numpy as np
        import boxlcd
        env = boxlcd.make("Urchin", num_envs=16, num_threads=2, seed=1, autoreset_mode="same_step")
        b = env.batch
        acts = np.zeros((16, env.action_size), np.float32)
        errors, unexpected = [], []
        def loop(fn):
            for k in range(40):
                try:
                    fn(k)
                except ValueError as e:
                    msg = str(e)
                    if "asynchronously" in msg or "already stepping" in msg or "is stepping" in msg:
                        errors.append(msg)
                    else:
                        unexpected.append(repr(e))
                except Exception as e:
                    unexpected.append(repr(e))
        def sendrecv(k):
            try:
                b.send(acts[:4], np.arange(4) + 4 * (k % 4))
            finally:
                b.recv(2); b.recv()
        calls = [
            lambda k: env.step(acts),
            lambda k: env.reset(seed=k),
            lambda k: env.reset(mask=np.arange(16) % 2 == 0),
            lambda k: b.reset_to_state(np.array(b.full_state), None),
            lambda k: env.render_rgb(k % 16, 64, 96),
            lambda k: setattr(b, "frames_enabled", k % 2 == 0),
            lambda k: (b.in_flight, b.frames_enabled, b.frames.sum(), b.closed),
            sendrecv, sendrecv,
        ]
        threads = [threading.Thread(target=loop, args=(fn,)) for fn in calls]
        for t in threads: t.start()
        for t in threads: t.join()
        assert not unexpected, unexpected
        b.recv()
        assert b.in_flight == 0
        env.step(acts)  # still usable
        print("ok", len(errors))
    """)
    assert out.startswith("ok")


def test_send_recv_from_two_threads():
    out = probe("""
        import threading
        import numpy as np
        import boxlcd
        env = boxlcd.make("Bounce", num_envs=32, num_threads=2, seed=3)
        b = env.batch
        acts = np.zeros((32, 1), np.float32)
        got = []
        lock = threading.Lock()
        def worker():
            for _ in range(50):
                try:
                    b.send(acts)
                except ValueError as e:
                    assert "already stepping" in str(e), e
                ids = b.recv(7)
                with lock:
                    got.extend(ids.tolist())
                ids = b.recv()
                with lock:
                    got.extend(ids.tolist())
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads: t.start()
        for t in threads: t.join()
        got.extend(b.recv().tolist())
        # Every env sent was received exactly once per send: counts per env are equal.
        counts = np.bincount(got, minlength=32)
        assert (counts == counts[0]).all() and counts[0] >= 50, counts
        assert b.in_flight == 0
        # Two threads receiving one send: all 32 ids come back once between them (both used
        # to wait for all 32, and one waited forever).
        for _ in range(100):
            b.send(acts)
            halves = [None, None]
            def take(k): halves[k] = b.recv()
            threads = [threading.Thread(target=take, args=(k,)) for k in range(2)]
            for t in threads: t.start()
            for t in threads: t.join()
            assert sorted(np.concatenate(halves).tolist()) == list(range(32))
        print("ok")
    """)
    assert out.strip() == "ok"


def test_step_while_another_thread_has_envs_in_flight():
    out = probe("""
        import threading
        import numpy as np
        import boxlcd
        env = boxlcd.make("Urchin", num_envs=8, num_threads=2, seed=2)
        acts = np.zeros((8, env.action_size), np.float32)
        env.send(acts)
        caught = []
        def other():
            for call in (lambda: env.step(acts), lambda: env.reset(), lambda: env.batch.reset_to_state(np.zeros((8, 16), np.float32), None)):
                try:
                    call()
                except ValueError as e:
                    caught.append(str(e))
        t = threading.Thread(target=other); t.start(); t.join()
        assert len(caught) == 3 and all("recv them first" in m for m in caught), caught
        assert sorted(env.recv()[4]["env_id"].tolist()) == list(range(8))
        env.step(acts)
        print("ok")
    """)
    assert out.strip() == "ok"


def test_separate_batches_in_separate_threads():
    import threading

    def run(seed, out):
        env = boxlcd.make("UrchinCube", num_envs=8, num_threads=2, seed=seed)
        acts = np.random.default_rng(seed).uniform(-1, 1, (30, 8, env.action_size)).astype(np.float32)
        for a in acts:
            env.step(a)
        out[seed] = env.batch.full_state.copy()

    parallel, serial = {}, {}
    threads = [threading.Thread(target=run, args=(s, parallel)) for s in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in range(4):
        run(s, serial)
        np.testing.assert_array_equal(parallel[s], serial[s])


# ---- fork ------------------------------------------------------------------------------------

FORK_SETUP = """
    import os, sys, threading
    import numpy as np
    import boxlcd
    def rollout(env, steps, seed=0):
        acts = np.random.default_rng(seed).uniform(-1, 1, (steps, env.num_envs, env.action_size)).astype(np.float32)
        for a in acts:
            env.step(a)
        return env.batch.full_state.tobytes() + env.batch.frames.tobytes()
    def in_child(fn):
        # Runs fn in a forked child; returns what it wrote (the child exits 0 only if fn returned).
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            try:
                data = fn()
                os.write(w, data)
                code = 0
            except BaseException as e:
                os.write(w, repr(e).encode())
                code = 1
            os.close(w)
            os._exit(code)
        os.close(w)
        chunks = []
        while True:
            c = os.read(r, 1 << 16)
            if not c: break
            chunks.append(c)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, (status, b"".join(chunks)[:500])
        return b"".join(chunks)
"""


def test_fork_child_steps_the_parents_batch():
    out = probe(FORK_SETUP + """
    env = boxlcd.make("Urchin", num_envs=16, num_threads=2, seed=4)
    rollout(env, 5)
    child = in_child(lambda: rollout(env, 20, seed=1))
    assert child == rollout(env, 20, seed=1)   # the child's steps equal the parent's
    # A child that forks again (a grandchild) works too.
    grandchild = in_child(lambda: in_child(lambda: rollout(env, 3, seed=2)))
    assert grandchild == rollout(env, 3, seed=2)
    print("ok")
    """)
    assert out.strip() == "ok"


def test_fork_child_that_exits_normally_does_not_hang():
    # The child's interpreter finalises and destroys the batch, whose threads it does not have.
    out = probe("""
        import os, sys
        import boxlcd
        env = boxlcd.make("Bounce", num_envs=8, num_threads=2)
        env2 = boxlcd.make("Bounce", num_envs=8, num_threads=2)
        env2.batch.close()
        pid = os.fork()
        if pid == 0:
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        pid = os.fork()
        if pid == 0:
            env.close()  # closing in the child: the parent's threads are not joined
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        env.step([[0.0]] * 8)  # the parent's batch is untouched
        print("ok")
    """)
    assert out.strip() == "ok"


def test_fork_with_envs_in_flight_and_a_stepping_thread():
    out = probe(FORK_SETUP + """
    env = boxlcd.make("UrchinCube", num_envs=12, num_threads=2, seed=6)
    acts = np.random.default_rng(0).uniform(-1, 1, (12, env.action_size)).astype(np.float32)
    env.send(acts)
    # The fork waits for no one; in the child the envs in flight finish and recv returns them.
    def child_recv():
        ids = np.sort(env.recv()[4]["env_id"])
        return ids.tobytes() + env.batch.full_state.tobytes()
    child = in_child(child_recv)
    ids = np.sort(env.recv()[4]["env_id"])
    assert child == ids.tobytes() + env.batch.full_state.tobytes()
    # Forks while another thread steps: each child finds a whole batch and can step it.
    other = boxlcd.make("Bounce2", num_envs=32, num_threads=2, seed=1)
    stop = threading.Event()
    def stepper():
        z = np.zeros((32, 1), np.float32)
        while not stop.is_set():
            other.step(z)
    t = threading.Thread(target=stepper); t.start()
    for k in range(5):
        in_child(lambda: rollout(other, 3))
    stop.set(); t.join()
    print("ok")
    """)
    assert out.strip() == "ok"


def test_multiprocessing_fork_pool():
    out = probe("""
        import multiprocessing as mp
        import numpy as np
        import boxlcd
        env = boxlcd.make("LuxoCube", num_envs=8, num_threads=2, seed=0)
        env.step(np.zeros((8, env.action_size), np.float32))
        def episode(seed):
            env.reset(seed=seed)
            for _ in range(10):
                env.step(np.full((8, env.action_size), 0.5, np.float32))
            return env.batch.full_state.copy()
        if __name__ == "__main__":
            with mp.get_context("fork").Pool(2) as pool:
                got = pool.map(episode, range(4))
            for seed, state in enumerate(got):
                assert np.array_equal(state, episode(seed)), seed
            print("ok")
    """)
    assert out.strip() == "ok"


def test_torch_dataloader_workers():
    pytest.importorskip("torch")
    out = probe("""
        import numpy as np
        import torch
        import boxlcd
        class Episodes(torch.utils.data.Dataset):
            def __init__(self):
                self.env = boxlcd.make("Urchin", num_envs=4, num_threads=2, seed=0)
                self.env.step(np.zeros((4, 3), np.float32))  # the parent's threads have run
            def __len__(self):
                return 6
            def __getitem__(self, i):
                self.env.reset(seed=100 * i)
                for _ in range(8):
                    self.env.step(np.full((4, 3), 0.3, np.float32))
                return torch.from_numpy(self.env.batch.full_state.copy())
        data = Episodes()
        loader = torch.utils.data.DataLoader(data, batch_size=None, num_workers=2, multiprocessing_context="fork")
        got = [x for x in loader]
        for i, x in enumerate(got):
            assert torch.equal(x, data[i]), i
        print("ok")
    """)
    assert out.strip() == "ok"


# ---- resource failures -----------------------------------------------------------------------

LIMIT_SETUP = """
    import resource
    import numpy as np
    import boxlcd
    def limit_address_space(extra_mib):
        # This process's address space now, plus extra_mib: what is left for what follows.
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * resource.getpagesize()
        limit = size + (extra_mib << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
"""


def test_memory_limit_raises_memory_error():
    out = probe(LIMIT_SETUP + """
    limit_address_space(200)
    for name, n in (("Urchin", 20000), ("Crab", 4000), ("Bounce", 100000)):
        try:
            boxlcd.make(name, num_envs=n)
        except MemoryError as e:
            assert "num_envs" in str(e) and "address space" in str(e), e
        else:
            raise AssertionError(f"{name} x {n} fit in 200 MiB")
    # Nothing half-built is left: a batch that fits still works.
    env = boxlcd.make("Urchin", num_envs=64, num_threads=1)
    env.step(np.zeros((64, 3), np.float32))
    print("ok")
    """)
    assert out.strip() == "ok"


def test_memory_limit_near_the_edge():
    # Batches just below and above what fits: each either works (steps included) or raises
    # MemoryError; none crashes inside Box2D.
    out = probe(LIMIT_SETUP + """
    limit_address_space(96)
    made = []
    for n in (50, 100, 200, 300, 400, 600, 800):
        try:
            env = boxlcd.make("UrchinCube", num_envs=n, autoreset_mode="same_step", ep_len=20)
        except MemoryError:
            continue
        acts = np.random.default_rng(0).uniform(-1, 1, (n, env.action_size)).astype(np.float32)
        for _ in range(45):
            env.step(acts)
        made.append(n)
        env.close()
    assert made and made[-1] < 800, made
    print("ok", made)
    """)
    assert out.startswith("ok")


def test_thread_that_cannot_start_raises_runtime_error():
    # Each thread maps a stack (8 MiB by default): 64 of them do not fit in 64 MiB more.
    out = probe(LIMIT_SETUP + """
    pre = boxlcd.make("Bounce", num_envs=64, num_threads=2)  # its threads start before the limit
    limit_address_space(64)
    try:
        boxlcd.make("Bounce", num_envs=64, num_threads=64)
    except RuntimeError as e:
        assert "could not start worker thread" in str(e) and "fewer threads" in str(e), e
    else:
        raise AssertionError("64 threads started in 64 MiB")
    # send() starts its threads on first use: failing leaves the batch as it was.
    big = boxlcd.make("Bounce", num_envs=64, num_threads=1)
    try:
        pre.send(np.zeros((64, 1), np.float32))
        pre.recv()
    except RuntimeError as e:
        assert "could not start asynchronous stepping thread" in str(e), e
        assert pre.batch.in_flight == 0
    pre.step(np.zeros((64, 1), np.float32))
    big.step(np.zeros((64, 1), np.float32))
    print("ok")
    """)
    assert out.strip() == "ok"


def test_absurd_thread_count_is_refused():
    with pytest.raises(ValueError, match=r"num_threads must be in \[0, 1024\]"):
        boxlcd.make("Bounce", num_envs=5000, num_threads=100000)


# ---- close -----------------------------------------------------------------------------------

def test_close_releases_and_later_use_raises():
    env = boxlcd.make("Urchin", num_envs=4, num_threads=2, seed=1)
    obs, *_ = env.step(np.zeros((4, 3), np.float32))
    kept = obs["lcd"]  # a view of the batch's buffer: it stays valid after close
    before = kept.copy()
    b = env.batch
    env.close()
    env.close()  # idempotent
    assert env.closed and b.closed
    np.testing.assert_array_equal(kept, before)
    calls = {
        "step": lambda: env.step(np.zeros((4, 3), np.float32)),
        "reset": lambda: env.reset(seed=1),
        "reset_to_state": lambda: env.reset(full_state=np.zeros((4, 16), np.float32)),
        "send": lambda: env.send(np.zeros((4, 3), np.float32)),
        "recv": lambda: env.recv(),
        "render_rgb": lambda: env.render_rgb(0),
        "unpacked_frames": lambda: env.unpacked_frames(),
        "frames": lambda: b.frames,
        "final_full_state": lambda: b.final_full_state,
        "in_flight": lambda: b.in_flight,
        "frames_enabled": lambda: b.frames_enabled,
        "set frames_enabled": lambda: setattr(b, "frames_enabled", False),
    }
    for name, call in calls.items():
        with pytest.raises(RuntimeError, match="closed"):
            call()
    assert b.num_envs == 4 and env.frame_shape == (16, 32)  # sizes stay readable


def test_close_while_other_threads_use_the_batch():
    out = probe("""
        import threading
        import numpy as np
        import boxlcd
        env = boxlcd.make("Bounce2", num_envs=64, num_threads=2)
        env.send(np.zeros((32, 1), np.float32), np.arange(32))
        results = []
        def stepper():
            try:
                while True:
                    env.batch.render_rgb(40, 32, 32)
                    env.batch.recv(1)
            except RuntimeError as e:
                results.append(str(e))
        threads = [threading.Thread(target=stepper) for _ in range(3)]
        for t in threads: t.start()
        env.close()
        for t in threads: t.join()
        assert len(results) == 3 and all("closed" in r for r in results), results
        print("ok")
    """)
    assert out.strip() == "ok"


def test_gym_envs_close_release_the_batch():
    gymnasium = pytest.importorskip("gymnasium")
    envs = gymnasium.make_vec("boxlcd/Bounce-v0", num_envs=3, num_threads=2)
    envs.reset(seed=0)
    batch = envs.unwrapped.batch
    envs.close()
    assert batch.closed
    with pytest.raises(RuntimeError, match="closed"):
        batch.step(np.zeros((3, 1), np.float32))
    env = gymnasium.make("boxlcd/Bounce-v0")
    env.reset(seed=0)
    batch = env.unwrapped._env.batch
    env.close()
    assert batch.closed


# ---- argument checks -------------------------------------------------------------------------

def test_render_and_recv_arguments_are_checked_before_use():
    env = boxlcd.make("Bounce", num_envs=2)
    for rows, cols in ((10**6, 10**6), (16385, 1), (0, 10), (10, -1)):
        with pytest.raises(ValueError, match="render size must be in"):
            env.render_rgb(0, rows, cols)
    with pytest.raises(ValueError, match=r"rows must be in \[-2147483648, 2147483647\], got 1000000000000"):
        env.render_rgb(0, 10**12, 5)
    with pytest.raises(ValueError, match="env index 7 is outside"):
        env.render_rgb(7, 8, 8)
    assert env.render_rgb(np.int64(1), np.int32(8), np.uint8(8)).shape == (8, 8, 3)
    for bad in (10**12, 2**31, 0, -1):
        with pytest.raises(ValueError, match=r"batch_size must be in \[1, 2147483647\]"):
            env.recv(bad)
    for bad in (True, 1.5, "2"):
        with pytest.raises(ValueError, match="batch_size must be an int"):
            env.recv(bad)
    env.send(np.zeros((2, 1), np.float32))
    assert sorted(env.recv(np.int64(5))[4]["env_id"]) == [0, 1]


@pytest.mark.parametrize("seed", [np.int64(3), np.uint32(3), np.int8(3), np.uint64(3)])
def test_numpy_integer_seeds_everywhere(seed):
    ref = boxlcd.make("Urchin", num_envs=2, seed=3)
    env = boxlcd.make("Urchin", num_envs=2, seed=seed)
    np.testing.assert_array_equal(env.batch.full_state, ref.batch.full_state)
    np.testing.assert_array_equal(env.reset(seed=seed)["full_state"], ref.reset(seed=3)["full_state"])
    gymnasium = pytest.importorskip("gymnasium")
    single = gymnasium.make("boxlcd/Urchin-v0")
    a, _ = single.reset(seed=seed)
    b, _ = single.reset(seed=3)
    np.testing.assert_array_equal(a["full_state"], b["full_state"])
    vec = gymnasium.make_vec("boxlcd/Urchin-v0", num_envs=2)
    a, _ = vec.reset(seed=seed)
    b, _ = vec.reset(seed=3)
    c, _ = vec.reset(seed=[seed, np.int16(4)])
    np.testing.assert_array_equal(a["full_state"], b["full_state"])
    np.testing.assert_array_equal(c["full_state"], b["full_state"])


def test_largest_seed_and_bad_seeds():
    boxlcd.make("Bounce", seed=np.uint64(2**64 - 1)).reset(seed=2**64 - 1)
    gymnasium = pytest.importorskip("gymnasium")
    single = gymnasium.make("boxlcd/Bounce-v0")
    vec = gymnasium.make_vec("boxlcd/Bounce-v0", num_envs=2)
    bad = {True: "must be an int", np.bool_(True): "must be an int", 1.0: "must be an int",
           np.float64(2): "must be an int", "3": "must be an int", -1: r"(>= 0|\[0, 2\*\*64\))",
           np.int64(-1): r"(>= 0|\[0, 2\*\*64\))", 2**64: r"(below 2\*\*64|\[0, 2\*\*64\))"}
    for seed, message in bad.items():
        for call in (lambda: boxlcd.make("Bounce", seed=seed), lambda: boxlcd.make("Bounce").reset(seed=seed),
                     lambda: single.reset(seed=seed), lambda: vec.reset(seed=seed),
                     lambda: vec.reset(seed=[0, seed])):
            with pytest.raises(ValueError, match=message):
                call()


# ---- import order ----------------------------------------------------------------------------

EXERCISE = """
    import numpy as np
    env = boxlcd.make("Urchin", num_envs=4, num_threads=2)
    env.step(np.zeros((4, 3), np.float32))
    from boxlcd import tensors
    t = tensors.views(env)["full_state"]
    assert float((torch.ones(3) @ torch.ones(3)).item()) == 3.0
    assert torch.equal(t, torch.from_numpy(env.batch.full_state))
    print("ok")
"""


@pytest.mark.parametrize("order", ["import boxlcd, torch", "import torch, boxlcd"])
def test_import_order(order):
    pytest.importorskip("torch")
    assert probe(order + "\n" + textwrap.dedent(EXERCISE)).strip() == "ok"


def test_module_exports_only_its_init():
    # A symbol the module exported could interpose on another library's (a std:: template
    # instance, a Box2D function) once anything is loaded RTLD_GLOBAL.
    nm = shutil.which("nm")
    if nm is None or not sys.platform.startswith("linux"):
        pytest.skip("needs nm on Linux")
    path = boxlcd._core.__file__
    out = subprocess.run([nm, "-D", "--defined-only", path], capture_output=True, text=True, check=True).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert names == ["PyInit__core"], names


# Running out of memory inside a step: Box2D's allocations go through boxlcd's b2Alloc, which
# throws, so the step raises MemoryError, that batch refuses every call but close() and other
# batches keep working; never a signal.
PILE_UNDER_A_LIMIT = LIMIT_SETUP + """
    import dataclasses
    from boxlcd.worlds import Body, World, WorldObject

    other = boxlcd.make("Bounce", num_envs=4, num_threads=1)
    still = np.zeros((4, other.action_size), np.float32)
    for _ in range(5):
        other.step(still)
    # 40 boxes in a small room: a new world has no contacts; its first step makes some 50, so
    # 400 worlds need several MiB more than the limit leaves.
    box = WorldObject(Body(shape="box", half_extents=(0.15, 0.15), restitution=0.1), rand_angle=True)
    pile = boxlcd.make(dataclasses.replace(World.builtin("Bounce"), name="Pile", objects=[box] * 40),
                       num_envs=400, num_threads=THREADS, frames=False)
    actions = np.zeros((400, pile.action_size), np.float32)
    limit_address_space(1)
    try:
        pile.step(actions)
    except MemoryError as e:
        assert "step: out of memory" in str(e) and "unusable" in str(e), e
    else:
        raise AssertionError("400 piles stepped in 1 MiB more")
    for call in (lambda: pile.step(actions), lambda: pile.reset(seed=1)):
        try:
            call()
        except RuntimeError as e:
            assert "ran out of memory in an earlier call" in str(e) and "close it" in str(e), e
        else:
            raise AssertionError("an unusable batch stepped")
    # Still under the limit: closing the pile gives its memory back, and the other batch steps on.
    pile.close()
    for _ in range(3):
        obs, *_ = other.step(still)
    assert np.isfinite(other.batch.full_state).all()
    print("ok")
"""


@pytest.mark.parametrize("threads", [1, 2])
def test_step_out_of_memory_raises_and_spares_other_batches(threads):
    assert probe(PILE_UNDER_A_LIMIT.replace("THREADS", str(threads))).strip() == "ok"
