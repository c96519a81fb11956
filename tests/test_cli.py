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
    assert "Dropbox" in text and "5 episodes of 6 steps in 3 shards" in text and "checksums ok" in text
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
