"""The docs hold: the README's quick starts run as written, every relative link resolves, and no
tracked file carries run-by-run history words.

The quick starts run with their sizes made small (episodes, minutes, pairs, rounds), so the
README keeps the figures a user would type; everything else is the README's own text.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
GUIDES = sorted((ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)

# Sizes a quick start uses, made small so that the whole README runs in well under a minute.
SMALL = [
    (re.compile(r"--episodes \d+"), "--episodes 4"),
    (re.compile(r"--time-limit \d+"), "--time-limit 2"),
    (re.compile(r"--steps \d+"), "--steps 3"),
    (re.compile(r"--pairs \d+"), "--pairs 1"),
    # The slowest quick start: the pipeline collects, trains and evaluates twice over. Its
    # budget and rounds go to their least, its episode counts below; keep it so.
    (re.compile(r"--budget \d+"), "--budget 0.05"),
    (re.compile(r"--rounds \d+"), "--rounds 1"),
]
# Options added to a command the README leaves at its defaults (episode counts of thousands).
EXTRA = {
    "boxlcd rl pipeline": "--episodes 8 --policy-episodes 4 --test-episodes 4 --eval-episodes 4 -q",
    "boxlcd train": "-q",
    "boxlcd collect": "-q",
}
# Set-up commands (they build the package) and C++ are run by scripts/test.sh and ctest.
SKIP = ("bash scripts/", "cmake ")


def section(text: str, title: str) -> str:
    """The text of the `## title` section, up to the next `## ` heading."""
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def quick_start_blocks() -> list[tuple[str, str]]:
    """(language, code) of the README's runnable quick-start blocks, in order."""
    blocks = FENCE.findall(section(README.read_text(), "Quick start"))
    return [(lang, code) for lang, code in blocks if lang in ("bash", "python")
            and not any(line.startswith(SKIP) for line in code.splitlines())]


def small(command: str) -> str:
    for pattern, value in SMALL:
        command = pattern.sub(value, command)
    for prefix, extra in EXTRA.items():
        if command.startswith(prefix):
            command = command.split("#")[0].rstrip() + " " + extra
    return command


def test_readme_has_a_quick_start_per_use():
    titles = re.findall(r"^### (.+)$", section(README.read_text(), "Quick start"), re.M)
    for use in ("Envs", "Datasets", "World models", "Learned simulators", "Violation of expectation", "C++"):
        assert any(t.startswith(use) for t in titles), f"no quick start for {use}: {titles}"
    assert len(README.read_text().splitlines()) <= 250


def test_readme_quick_starts_run_in_a_fresh_folder(tmp_path):
    if shutil.which("boxlcd", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("the boxlcd command is not installed beside this python")
    pytest.importorskip("torch")
    pytest.importorskip("stable_baselines3")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               PYTHONUNBUFFERED="1")
    blocks = quick_start_blocks()
    assert [lang for lang, _ in blocks].count("bash") >= 4
    for i, (lang, code) in enumerate(blocks):
        if lang == "python":
            script = tmp_path / f"block{i}.py"
            script.write_text(code)
            commands = [[sys.executable, str(script)]]
        else:
            lines = [line for line in code.replace("\\\n", " ").splitlines() if line.strip()]
            commands = [["bash", "-c", small(line)] for line in lines if not line.lstrip().startswith("#")]
        for command in commands:
            done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
            assert done.returncode == 0, f"{command[-1]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert (tmp_path / "runs" / "luxo-pipeline" / "summary.json").is_file()
    assert (tmp_path / "runs" / "bounce-ft" / "eval.json").is_file()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def links(path: Path) -> list[str]:
    text = FENCE.sub("", path.read_text())
    text = re.sub(r"`[^`\n]*`", "", text)
    return re.findall(r"\]\(([^)\s]+)\)", text)


def tracked() -> set[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return {p for p in out.decode().split("\0") if p}


@pytest.mark.parametrize("doc", [README] + GUIDES, ids=lambda p: p.name)
def test_every_relative_link_resolves(doc):
    files = tracked()
    broken = []
    for link in links(doc):
        if re.match(r"[a-z]+:", link):
            continue
        target, _, anchor = link.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        rel = path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else None
        if rel is None or rel not in files:
            broken.append(f"{link}: no tracked file {rel or path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            broken.append(f"{link}: no heading #{anchor} in {rel}")
    assert not broken, f"{doc.name}: " + "; ".join(broken)


def test_no_tracked_file_keeps_run_history_words():
    word = "ses" + "sion"  # spelled apart so that this file does not match itself
    hits = []
    for rel in sorted(tracked()):
        path = ROOT / rel
        if path.is_file() and word in path.read_bytes().lower().decode("latin-1"):
            hits.append(rel)
    assert not hits, f"'{word}' in {', '.join(hits)}"
