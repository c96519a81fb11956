"""The boxlcd command: list, info, demo (GIFs), bench, play."""
import shutil
import subprocess
import sys

import numpy as np
import pytest

import boxlcd
from boxlcd.cli import main


def test_list(capsys):
    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1 + len(boxlcd.envs())
    assert lines[0].split() == ["env", "frame", "state", "proprio", "actions", "ep_len", "fps"]
    assert "Crab           32x64    68      68      12    100  10" in lines


def test_info(capsys):
    assert main(["info", "UrchinCube", "--set", "ep_len=7"]) == 0
    out = capsys.readouterr().out
    assert "ep_len=7" in out and "boxlcd/UrchinCube-v0" in out
    assert "actions (3): urchin0:aleg:speed, urchin0:bleg:speed, urchin0:cleg:speed" in out
    assert "object0:x:p" in out


def test_demo_writes_a_gif(tmp_path, capsys):
    from PIL import Image

    path = tmp_path / "urchin.gif"
    assert main(["demo", "Urchin", "--out", str(path), "--scale", "4", "--set", "ep_len=12", "-q"]) == 0
    assert "wrote" in capsys.readouterr().out
    gif = Image.open(path)
    assert gif.n_frames == 13 and gif.size == (128 + 4 + 128, 64)
    # The first frame's LCD half is the env's first frame, upscaled; lit pixels are dark.
    lcd = np.asarray(gif.convert("L"))[:, :128]
    first = boxlcd.make("Urchin", seed=0).reset(seed=0)["lcd"][0]
    np.testing.assert_array_equal(lcd[::4, ::4] < 128, np.unpackbits(first, axis=-1) == 1)


def test_demo_several_envs_to_a_folder(tmp_path):
    assert main(["demo", "Bounce", "Dropbox", "--out", str(tmp_path / "gifs"), "--actions", "zero", "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "gifs").iterdir()) == ["Bounce.gif", "Dropbox.gif"]


def test_bench(capsys):
    assert main(["bench", "Bounce", "Urchin", "--num-envs", "4", "--threads", "1", "2", "--seconds", "0.05", "-q"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [r[:3] for r in rows] == [["Bounce", "4", "1"], ["Bounce", "4", "2"], ["Urchin", "4", "1"], ["Urchin", "4", "2"]]
    assert all(float(r[3].replace(",", "")) > 0 for r in rows)


def test_bad_arguments(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "Urchn"])
    assert e.value.code == 2 and "unknown env 'Urchn'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["info", "Urchin", "--set", "ep_len"])
    assert "expected KEY=VALUE" in capsys.readouterr().err
    assert main(["info", "Urchin", "--set", "eplen=3"]) == 2
    assert "unknown option 'eplen'" in capsys.readouterr().err


def test_play_without_a_display(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["play", "Urchin"]) == 1
    assert "needs a display" in capsys.readouterr().err


def test_play_keys(monkeypatch, capsys):
    pygame = pytest.importorskip("pygame")
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    assert main(["play", "Bounce", "--max-steps", "3", "--set", "fps=1000"]) == 0
    assert "played 3 steps" in capsys.readouterr().out
    # SPACE pauses, RIGHT steps once, 0 resets, ESC quits: one step in all.
    pygame.display.init()
    for key in (pygame.K_SPACE, pygame.K_RIGHT, pygame.K_0):
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))
    from boxlcd import demo

    real_get = pygame.event.get
    calls = {"n": 0}

    def get():
        calls["n"] += 1
        if calls["n"] == 3:  # after a few frames, quit
            return [pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE)]
        return real_get()

    monkeypatch.setattr(pygame.event, "get", get)
    assert demo.play("Bounce", fps=1000) == 1


def test_console_script_and_module():
    script = shutil.which("boxlcd", path=str(__import__("pathlib").Path(sys.executable).parent))
    assert script, "the boxlcd console script is not installed beside this Python"
    out = subprocess.run([script, "--version"], check=True, capture_output=True, text=True).stdout
    assert out.strip() == f"boxlcd {boxlcd.__version__}"
    out = subprocess.run([sys.executable, "-m", "boxlcd", "list"], check=True, capture_output=True, text=True).stdout
    assert "SpiderCube" in out


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX pipes")
def test_a_reader_that_goes_away_is_no_error():
    """`boxlcd list | head -1`: the rest of the output has nobody to read it; that ends the
    command with exit code 1 and nothing on stderr."""
    import os

    read, write = os.pipe()
    os.close(read)  # the reader is gone before the command writes
    try:
        done = subprocess.run([sys.executable, "-m", "boxlcd", "list"], stdout=write, stderr=subprocess.PIPE,
                              text=True, timeout=60)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, "")


def test_collect_and_dataset_commands(tmp_path, capsys):
    from boxlcd.cli import main
    from boxlcd.dataset import Episodes

    out = tmp_path / "d"
    assert main(["collect", "Dropbox", "--episodes", "5", "--out", str(out), "--shard-size", "2",
                 "--seed", "3", "-q", "--set", "ep_len=6"]) == 0
    data = Episodes(out)
    assert len(data) == 5 and data.ep_len == 6 and int(data.episode(4)["seeds"]) == 7
    assert main(["dataset", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"{out}: Dropbox with ep_len=6, 5 episodes of 6 steps in 3 shards," in text and "checksums ok" in text
    plain = tmp_path / "plain"  # no overrides: the env's name alone, then a comma
    assert main(["collect", "Dropbox", "--episodes", "1", "--out", str(plain), "-q"]) == 0
    capsys.readouterr()
    assert main(["dataset", "info", str(plain)]) == 0
    assert f"{plain}: Dropbox, 1 episodes of " in capsys.readouterr().out
    gif = tmp_path / "ep.gif"
    assert main(["dataset", "show", str(out), "--episode", "2", "--out", str(gif), "--scale", "2"]) == 0
    from PIL import Image
    with Image.open(gif) as im:  # Pillow merges repeated frames (a box at rest), not their time
        assert im.size == (32, 32)
        total = 0
        for k in range(im.n_frames):
            im.seek(k)
            total += im.info["duration"]
        assert total == 7 * 100
    # A second collect into the same folder needs --resume; errors are messages, not tracebacks.
    assert main(["collect", "Dropbox", "--episodes", "5", "--out", str(out), "-q", "--set", "ep_len=6"]) == 2
    assert "resume" in capsys.readouterr().err
    assert main(["dataset", "show", str(out), "--episode", "9", "--out", str(gif)]) == 2
    assert "episode 9 is outside" in capsys.readouterr().err


def test_model_commands_without_torch():
    """Without torch the other commands work, and train, eval, results and rl say what to install."""
    code = "import sys; sys.modules['torch'] = None; from boxlcd.cli import main; sys.exit(main(sys.argv[1:]))"

    def boxlcd_without_torch(*args):
        return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)

    assert boxlcd_without_torch("list").returncode == 0
    r = boxlcd_without_torch("--help")
    assert r.returncode == 0 and all(name in r.stdout for name in ("train", "eval", "results", "rl"))
    for args in (["train", "frame_transformer", "--data", "data/bounce"], ["eval", "runs/x", "--data", "d"],
                 ["results", "--help"], ["rl", "train", "--env", "Urchin", "--out", "x"]):
        r = boxlcd_without_torch(*args)
        assert r.returncode == 2, r.stderr
        assert f"boxlcd {args[0]}: needs torch" in r.stderr and "pip install torch==2.13.0 '.[models,rl]'" in r.stderr


def test_dataset_commands_print_one_line_errors(tmp_path, capsys):
    """Every dataset command, on every kind of broken dataset: exit 2 and one line, no traceback."""
    import json
    from boxlcd.dataset import collect

    good = tmp_path / "good"
    collect("Bounce", 3, good, shard_size=2, progress=False, ep_len=3)
    text = (good / "manifest.json").read_text()
    manifest = json.loads(text)
    broken = {"bad JSON": "{", "a list": "[]", "no ep_len": json.dumps({k: v for k, v in manifest.items() if k != "ep_len"}),
              "a dropped shard": json.dumps({**manifest, "shards": manifest["shards"][:1]}),
              "a name out": json.dumps({**manifest, "shards": [manifest["shards"][0],
                                                               {**manifest["shards"][1], "name": "../good"}]})}
    for what, content in broken.items():
        (good / "manifest.json").write_text(content)
        for args in (["dataset", "info", str(good)], ["dataset", "show", str(good), "--out", str(tmp_path / "e.gif")]):
            assert main(args) == 2, what
            err = capsys.readouterr().err
            assert err.startswith(f"boxlcd dataset: {good / 'manifest.json'}") and err.count("\n") == 1, (what, err)
    assert not (tmp_path / "e.gif").exists()


def test_resume_advice_names_the_flag_of_the_command_line(tmp_path, capsys):
    out = str(tmp_path / "d")
    args = ["collect", "Bounce", "--episodes", "2", "--out", out, "-q", "--set", "ep_len=3"]
    assert main(args) == 0
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err == (f"boxlcd collect: {out} already holds a dataset; continue it with `boxlcd collect` and the same "
                   "arguments plus --resume\n")
    assert main(args + ["--resume"]) == 0
    manifest = tmp_path / "d" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"complete": true', '"complete": false'))
    capsys.readouterr()
    assert main(["dataset", "info", out]) == 2
    err = capsys.readouterr().err
    assert "--resume" in err and "resume=True" not in err and "incomplete collection" in err


# ---- every error: one line on stderr, a non-zero exit, no traceback ----

def exit_code_and_error(capsys, args) -> tuple[int, str]:
    """main(args)'s exit code (argparse's errors exit through SystemExit) and its stderr."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


def assert_one_line(code, err, *expected):
    assert code not in (0, None), err
    assert err.count("\n") == 1 and err.endswith("\n") and err.startswith("boxlcd"), err
    assert "Traceback" not in err
    for text in expected:
        assert text in err, err


def fails_in_one_line(capsys, args, *expected) -> str:
    code, err = exit_code_and_error(capsys, args)
    assert_one_line(code, err, *expected)
    return err


def raising(error):
    def command(args):
        raise error
    return command


@pytest.mark.parametrize("error, line", [
    (KeyError("env"), "boxlcd list: KeyError: 'env'"),
    (AssertionError("embed_dim must be divisible by num_heads"), "boxlcd list: AssertionError: embed_dim must be"),
    (__import__("zipfile").BadZipFile("File is not a zip file"), "boxlcd list: BadZipFile: File is not a zip file"),
    (RuntimeError("mat1 and mat2 shapes\ncannot be multiplied"), "boxlcd list: mat1 and mat2 shapes cannot be"),
    (MemoryError(), "boxlcd list: MemoryError"),
    (Exception(), "boxlcd list: Exception"),
])
def test_any_exception_of_a_command_is_one_line_and_exit_2(monkeypatch, capsys, error, line):
    monkeypatch.delenv("BOXLCD_TRACEBACK", raising=False)
    monkeypatch.setattr("boxlcd.cli.cmd_list", raising(error))
    code, err = exit_code_and_error(capsys, ["list"])
    assert code == 2
    assert_one_line(code, err, line)


def test_tracebacks_on_request_and_ctrl_c_quietly(monkeypatch, capsys):
    monkeypatch.setattr("boxlcd.cli.cmd_list", raising(KeyError("env")))
    monkeypatch.setenv("BOXLCD_TRACEBACK", "1")
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback") and err.splitlines()[-1] == "boxlcd list: KeyError: 'env'"
    monkeypatch.setattr("boxlcd.cli.cmd_list", raising(KeyboardInterrupt()))
    assert main(["list"]) == 130
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("args, expected", [
    (["bench", "Bounce", "--seconds", "nan"], "--seconds"),  # hung: NaN never ends the timing loop
    (["bench", "Bounce", "--seconds", "inf"], "--seconds"),
    (["bench", "Bounce", "--seconds", "0"], "--seconds"),
    (["bench", "Bounce", "--seconds", "-1"], "--seconds"),
    (["bench", "Bounce", "--num-envs", "0"], "--num-envs"),
    (["bench", "Bounce", "--threads", "-1", "--seconds", "0.01", "-q"], "num_threads"),
    (["demo", "Bounce", "--fps", "nan"], "--fps"),
    (["demo", "Bounce", "--fps", "0"], "--fps"),
    (["demo", "Bounce", "--fps", "1e-300"], "--fps"),
    (["demo", "Bounce", "--scale", "100000"], "--scale"),
    (["demo", "Urchn"], "unknown env 'Urchn'"),
    (["demo", "Bounce", "--set", "ep_len=100000000", "-q"], "GiB"),  # pictures held until the OOM killer came
    (["info", "Bounce", "--set", "ep_len=nan"], "ep_len"),
    (["voe", "make", "--envs", ",", "--out", "x"], "--envs names no env"),
    (["voe", "make", "--envs", " , ", "--out", "x", "-q"], "--envs names no env"),
    (["voe", "make", "--out", "x"], "--envs"),
    (["dataset", "show"], "path"),
    (["nonsense"], "invalid choice"),
])
def test_bad_flags_are_one_line(tmp_path, monkeypatch, capsys, args, expected):
    monkeypatch.chdir(tmp_path)
    fails_in_one_line(capsys, args, expected)
    assert not (tmp_path / "x").exists()


def test_voe_make_takes_quiet(tmp_path, capsys):
    assert main(["voe", "make", "--envs", "Bounce,Bounce,", "--pairs", "1", "--violations", "teleport",
                 "--out", str(tmp_path / "v"), "-q"]) == 0
    assert (tmp_path / "v" / "Bounce" / "pairs.json").exists()
    assert capsys.readouterr().out.count("Bounce:") == 1  # each env once


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Tiny datasets of three envs and a two-step frame transformer of Bounce."""
    pytest.importorskip("torch")
    from boxlcd.dataset import collect
    from boxlcd.models.train import train

    root = tmp_path_factory.mktemp("runs")
    for env in ("Bounce", "Dropbox", "Urchin"):
        collect(env, 4, root / env, progress=False, ep_len=6)
    collect("Bounce", 4, root / "Bounce-long", progress=False, ep_len=9)
    train("frame_transformer", root / "Bounce", root / "ft", steps=2, batch=2, device="cpu", warmup=1,
          progress=False, d_model=16, layers=1, heads=2)
    return root


def copy_with(src, dst, edit_manifest):
    import json

    shutil.copytree(src, dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    edit_manifest(manifest)
    (dst / "manifest.json").write_text(json.dumps(manifest))
    return dst


@pytest.mark.usefixtures("one_torch_thread")
def test_model_commands_fail_in_one_line(runs, tmp_path, capsys):
    ft, bounce = runs / "ft", runs / "Bounce"
    train = ["train", "frame_transformer", "--data", bounce, "--steps", "2", "-q"]
    # torch asserted this deep inside nn.MultiheadAttention
    fails_in_one_line(capsys, train + ["--out", tmp_path / "h", "--set", "d_model=16", "--set", "heads=3"],
                      "heads must divide d_model")
    for setting in ("dropout=NaN", "d_model=Infinity", "layers=0", "d_model=1e9", "heads=2.5", "predict_state=7"):
        name = setting.split("=")[0]
        fails_in_one_line(capsys, train + ["--out", tmp_path / "s", "--set", setting], f"train: {name} must be")
    fails_in_one_line(capsys, train + ["--out", tmp_path / "t", "--time-limit", "nan"], "time_limit must be a finite")
    fails_in_one_line(capsys, train + ["--out", tmp_path / "n", "--nproc", "100000"], "--nproc must be at most")
    fails_in_one_line(capsys, train + ["--out", tmp_path / "n", "--threads", "0"], "threads must be")
    assert not any((tmp_path / name).exists() for name in "hstn")
    # another env's data: raw torch shape errors before, or (same shapes) a silent score
    fails_in_one_line(capsys, ["eval", ft, "--data", runs / "Urchin", "--out", tmp_path / "e"],
                      "the model is of Bounce but the data", "is of Urchin", "frame_shape")
    fails_in_one_line(capsys, ["eval", ft, "--data", runs / "Dropbox", "--out", tmp_path / "e"], "is of Dropbox")
    fails_in_one_line(capsys, ["eval", ft, "--data", runs / "Bounce-long", "--out", tmp_path / "e"],
                      "episodes of 9 steps, longer than the model's 6")
    for flag, value in (("--episodes", "-5"), ("--batch", "0"), ("--temperature", "nan"), ("--temperature", "-1"),
                        ("--threads", "0"), ("--samples", "0"), ("--seed", str(2**70)), ("--device", "tpu9")):
        fails_in_one_line(capsys, ["eval", ft, "--data", bounce, "--out", tmp_path / "e", flag, value],
                          f"{flag.lstrip('-')} must be")
    assert not (tmp_path / "e").exists()
    fails_in_one_line(capsys, ["results", ft, "--test", f"Bounce={bounce}", "--out", tmp_path / "r",
                               "--episodes", "-5"], "episodes must be >= 0")
    assert not (tmp_path / "r").exists()  # refused before a baseline is fit
    fails_in_one_line(capsys, ["results", ft, "--test", f"Bounce={runs / 'Urchin'}", "--out", tmp_path / "r2"],
                      "is of Urchin")
    broken = tmp_path / "broken"
    shutil.copytree(ft, broken)
    ckpt = broken / "ckpt.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    fails_in_one_line(capsys, ["eval", broken, "--data", bounce, "--out", tmp_path / "e"], "ckpt.pt")
    slow = copy_with(bounce, tmp_path / "slow", lambda m: m.update(fps=1e-300))
    fails_in_one_line(capsys, ["dataset", "show", slow, "--out", tmp_path / "ep.gif"], "fps")
    slower = copy_with(bounce, tmp_path / "slower",
                       lambda m: (m.update(fps=1e-300), m["definition"].update(fps=1e-300)))
    fails_in_one_line(capsys, ["dataset", "show", slower, "--out", tmp_path / "ep.gif"], "fps")
    assert not (tmp_path / "ep.gif").exists()


def test_voe_suite_without_env_fails_in_one_line(tmp_path, capsys):
    import json

    assert main(["voe", "make", "--envs", "Bounce", "--pairs", "1", "--violations", "teleport",
                 "--out", str(tmp_path / "v")]) == 0
    pairs = tmp_path / "v" / "Bounce" / "pairs.json"
    pairs.write_text(json.dumps({k: v for k, v in json.loads(pairs.read_text()).items() if k != "env"}))
    capsys.readouterr()
    fails_in_one_line(capsys, ["voe", "eval", "--suite", tmp_path / "v", "--out", tmp_path / "o", "--engine"], "env")
    fails_in_one_line(capsys, ["voe", "show", tmp_path / "v" / "Bounce", "--violation", "teleport",
                               "--out", tmp_path / "p.gif", "--scale", "0"], "--scale")


def test_rl_eval_of_broken_runs_fails_in_one_line(tmp_path, capsys):
    pytest.importorskip("stable_baselines3")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "run.json").write_text("{}")
    fails_in_one_line(capsys, ["rl", "eval", empty, "--episodes", "2"])
    run = tmp_path / "ppo"
    assert main(["rl", "train", "--env", "Urchin", "--out", str(run), "--steps", "32", "--num-envs", "2",
                 "--set", "n_steps=16", "--set", "batch_size=16", "--threads", "1", "-q"]) == 0
    zipped = run / "model.zip"
    zipped.write_bytes(zipped.read_bytes()[:zipped.stat().st_size // 2])
    capsys.readouterr()
    fails_in_one_line(capsys, ["rl", "eval", run, "--episodes", "2"], "model.zip")
    fails_in_one_line(capsys, ["rl", "eval", run, "--episodes", "-5"])


def test_the_extras_cover_each_command_s_imports():
    """Every third-party module that boxlcd.models, voe and rl import is in the extras their docs
    name (models for train, eval, results and voe; models and rl for rl)."""
    import ast
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    module_of = {"pytorch-ignite": "ignite", "pillow": "PIL", "stable-baselines3": "stable_baselines3"}

    def modules(requirements):
        names = {re.split(r"[<>=!~\[ ]", r)[0].lower() for r in requirements}
        return {module_of.get(n, n) for n in names}

    def imported(pattern):
        found = set()
        for path in (root / "python" / "boxlcd").glob(pattern):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    found |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    found.add(node.module.split(".")[0])
        return found - set(sys.stdlib_module_names) - {"boxlcd"}

    core, extras = modules(project["dependencies"]), project["optional-dependencies"]
    models = core | modules(extras["models"])
    for pattern, have in (("models/*.py", models), ("voe.py", models), ("learned.py", models),
                          ("rl/*.py", models | modules(extras["rl"]))):
        assert imported(pattern) <= have, (pattern, imported(pattern) - have)
    # ignite's Fréchet distance (the arbiter's columns) imports scipy itself
    assert "scipy" in modules(extras["models"])
