"""Running out of memory inside a step: Box2D's allocations go through boxlcd's b2Alloc, which
throws, so the step raises MemoryError, that batch refuses every call but close() and other
batches keep working. Under RLIMIT_AS, in a subprocess; never a signal."""
import pytest

from conftest import PROBE_TIMEOUT, run_python

PILE_UNDER_A_LIMIT = """
    import dataclasses, resource
    import numpy as np
    import boxlcd
    from boxlcd.worlds import Body, World, WorldObject

    def limit_address_space(extra_mib):
        with open("/proc/self/statm") as f:
            size = int(f.read().split()[0]) * resource.getpagesize()
        limit = size + (extra_mib << 20)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

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
    done = run_python(PILE_UNDER_A_LIMIT.replace("THREADS", str(threads)), PROBE_TIMEOUT)
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.stdout.strip() == "ok"
