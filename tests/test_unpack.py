"""boxlcd.unpack (numpy in C++, torch on the tensor's device), torch views, pinned buffers,
and importing boxlcd without torch."""
import subprocess
import sys

import numpy as np
import pytest

import boxlcd


def packed_frames(shape, cols, seed=0):
    bits = np.random.default_rng(seed).integers(0, 2, (*shape, cols), dtype=np.uint8)
    return np.packbits(bits, axis=-1), bits


@pytest.mark.parametrize("cols", [1, 7, 8, 13, 24, 64])
@pytest.mark.parametrize("dtype", [np.uint8, np.bool_, np.float32])
def test_numpy_round_trip(cols, dtype):
    packed, bits = packed_frames((3, 5, 16), cols)
    out = boxlcd.unpack(packed, dtype=dtype, cols=cols)
    assert out.dtype == dtype and out.shape == (3, 5, 16, cols)
    np.testing.assert_array_equal(out, bits.astype(dtype))
    np.testing.assert_array_equal(np.packbits(out.astype(np.uint8), axis=-1), packed)


def test_numpy_defaults_out_and_non_contiguous_input():
    env = boxlcd.make("Urchin", num_envs=3, seed=1)
    lcd = env.reset()["lcd"]
    np.testing.assert_array_equal(boxlcd.unpack(lcd), np.unpackbits(lcd, axis=-1))
    out = np.zeros((3, 16, 32), np.float32)
    assert boxlcd.unpack(lcd, out=out) is out
    np.testing.assert_array_equal(out, np.unpackbits(lcd, axis=-1))
    strided = lcd[::2]
    np.testing.assert_array_equal(boxlcd.unpack(strided), np.unpackbits(strided, axis=-1))
    np.testing.assert_array_equal(env.unpacked_frames(), np.unpackbits(lcd, axis=-1))
    assert boxlcd.unpack(np.zeros((0, 16, 4), np.uint8)).shape == (0, 16, 32)


def test_unpack_bad_input():
    frames = np.zeros((2, 16, 3), np.uint8)
    with pytest.raises(TypeError, match="frames must be uint8"):
        boxlcd.unpack(frames.astype(np.int32))
    with pytest.raises(TypeError, match="numpy array or a torch tensor"):
        boxlcd.unpack([[1, 2]])
    with pytest.raises(TypeError, match="dtype must be uint8, bool or float32"):
        boxlcd.unpack(frames, dtype=np.float64)
    with pytest.raises(ValueError, match=r"cols must be in \[17, 24\]"):
        boxlcd.unpack(frames, cols=25)
    with pytest.raises(ValueError, match=r"cols must be in \[17, 24\]"):
        boxlcd.unpack(frames, cols=16)
    with pytest.raises(TypeError, match="cols must be an int"):
        boxlcd.unpack(frames, cols=20.0)
    with pytest.raises(ValueError, match=r"out must have shape \(2, 16, 24\)"):
        boxlcd.unpack(frames, out=np.zeros((2, 16, 23), np.uint8))
    with pytest.raises(TypeError, match="out must be uint8, bool or float32"):
        boxlcd.unpack(frames, out=np.zeros((2, 16, 24), np.int64))
    with pytest.raises(ValueError, match="C-contiguous"):
        boxlcd.unpack(frames, out=np.zeros((2, 16, 48), np.uint8)[..., ::2])
    with pytest.raises(ValueError, match="last axis"):
        boxlcd.unpack(np.zeros((2, 0), np.uint8))


def test_unpack_releases_the_gil():
    import threading

    frames = np.full((4096, 32, 8), 0xA5, np.uint8)  # about 0.1 s of unpacking to float32
    out = np.empty((4096, 32, 64), np.float32)
    started, done = threading.Event(), threading.Event()

    def work():
        started.set()
        for _ in range(5):
            boxlcd.unpack(frames, out=out)
        done.set()

    worker = threading.Thread(target=work)
    worker.start()
    started.wait()
    counted = 0
    while not done.is_set():
        counted += 1
    worker.join()
    assert counted > 10000, counted
    assert out[0, 0, :8].tolist() == [1, 0, 1, 0, 0, 1, 0, 1]


def test_import_without_torch():
    code = (
        "import sys\n"
        "sys.modules['torch'] = None  # makes `import torch` fail\n"
        "import numpy as np, boxlcd\n"
        "from boxlcd import gym_env, render\n"
        "env = boxlcd.make('Bounce', num_envs=2)\n"
        "assert boxlcd.unpack(env.reset()['lcd']).shape == (2, 16, 16)\n"
        "try:\n"
        "    import boxlcd.tensors\n"
        "except ImportError as e:\n"
        "    assert \"pip install 'boxlcd[torch]'\" in str(e), e\n"
        "else:\n"
        "    raise SystemExit('boxlcd.tensors imported without torch')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


torch = pytest.importorskip("torch")
from boxlcd import tensors  # noqa: E402

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("cols", [5, 16, 21, 64])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.bool, torch.float32, torch.float16])
def test_torch_round_trip_on_the_tensors_device(device, cols, dtype):
    packed, bits = packed_frames((4, 16), cols, seed=cols)
    frames = torch.from_numpy(packed).to(device)
    out = boxlcd.unpack(frames, dtype=dtype, cols=cols)
    assert out.device == frames.device and out.dtype == dtype and tuple(out.shape) == (4, 16, cols)
    np.testing.assert_array_equal(out.cpu().to(torch.uint8).numpy(), bits)


def test_torch_cpu_path_writes_into_out_and_handles_views():
    packed, bits = packed_frames((6, 16), 32)
    frames = torch.from_numpy(packed)
    out = torch.zeros(6, 16, 32, dtype=torch.float32)
    assert boxlcd.unpack(frames, out=out) is out
    np.testing.assert_array_equal(out.numpy(), bits)
    sliced = frames[::2]  # not contiguous
    np.testing.assert_array_equal(boxlcd.unpack(sliced).numpy(), bits[::2])
    with pytest.raises(TypeError, match="torch.uint8"):
        boxlcd.unpack(frames.to(torch.int32))
    with pytest.raises(TypeError, match="dtype must be"):
        boxlcd.unpack(frames, dtype=torch.int64)
    with pytest.raises(ValueError, match="out must have shape"):
        boxlcd.unpack(frames, out=torch.zeros(6, 16, 31))


def test_torch_views_are_the_batch_buffers():
    env = boxlcd.make("Urchin", num_envs=4, seed=2)
    env.reset()
    t = tensors.views(env)
    assert t["lcd"].data_ptr() == env.batch.frames.__array_interface__["data"][0]
    assert t["full_state"].data_ptr() == env.batch.full_state.__array_interface__["data"][0]
    assert t["terminated"].dtype == torch.bool and t["episode_step"].dtype == torch.int32
    obs, *_ = env.step(np.zeros((4, 3), np.float32))
    # The same memory, rewritten by the step.
    np.testing.assert_array_equal(t["full_state"].numpy(), obs["full_state"])
    assert t["episode_step"].tolist() == [1, 1, 1, 1]
    # The tensors keep the batch alive after the env is gone.
    state = obs["full_state"].copy()
    del env, obs
    import gc

    gc.collect()
    np.testing.assert_array_equal(t["full_state"].numpy(), state)


def test_host_buffers():
    env = boxlcd.make("UrchinCube", num_envs=3, seed=4)
    host = tensors.HostBuffers(env, unpack=True, lcd_dtype=torch.float32, pin_memory=False)
    obs = env.reset()
    t = host.update()
    assert t["lcd"].shape == (3, 16, 24) and t["lcd"].dtype == torch.float32
    np.testing.assert_array_equal(t["lcd"].numpy(), np.unpackbits(obs["lcd"], axis=-1, count=24))
    np.testing.assert_array_equal(t["full_state"].numpy(), obs["full_state"])
    lcd_address = t["lcd"].data_ptr()
    obs, *_ = env.step(np.zeros((3, 3), np.float32))
    t = host.update()
    assert t["lcd"].data_ptr() == lcd_address  # allocated once
    np.testing.assert_array_equal(t["proprio"].numpy(), obs["proprio"])
    packed = tensors.HostBuffers(env, unpack=False, pin_memory=False).update()
    np.testing.assert_array_equal(packed["lcd"].numpy(), obs["lcd"])
    assert host.to("cpu")["lcd"].shape == (3, 16, 24)


def test_pinned_host_buffers():
    env = boxlcd.make("Bounce", num_envs=2)
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="pin_memory=True needs an accelerator"):
            tensors.HostBuffers(env)
        return
    host = tensors.HostBuffers(env)
    env.reset()
    t = host.update()
    assert all(v.is_pinned() for v in t.values())
    on_gpu = host.to("cuda")
    np.testing.assert_array_equal(on_gpu["lcd"].cpu().numpy(), np.unpackbits(env.batch.frames, axis=-1))


def test_tensors_does_not_import_frames():
    """frames dispatches torch tensors to tensors; tensors shares only boxlcd.packed (no cycle)."""
    import ast
    from pathlib import Path

    source = Path(boxlcd.__file__).with_name("tensors.py").read_text()
    imported = {n.module for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ImportFrom)}
    assert "boxlcd.frames" not in imported and "boxlcd.packed" in imported
