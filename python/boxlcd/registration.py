"""Registers every built-in env with Gymnasium as boxlcd/<Name>-v0.

`import boxlcd` does not import gymnasium (it costs more than boxlcd itself): when gymnasium
is already imported the envs are registered at once, otherwise as soon as it is imported.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys

from boxlcd import _core

NAMESPACE = "boxlcd"


def env_id(name: str) -> str:
    return f"{NAMESPACE}/{name}-v0"


def task_names(name: str) -> list[str]:
    """The goal tasks an env has: body with a robot, cube with a robot and an object."""
    d = _core.env_def(name)
    return (["body"] + (["cube"] if d.objects else [])) if d.robots else []


def register_envs() -> None:
    """Registers boxlcd/<Name>-v0 for every built-in env, boxlcd/<Name>BodyGoal-v0 and
    boxlcd/<Name>CubeGoal-v0 for its goal tasks, and boxlcd/Learned-v0 (once)."""
    from gymnasium.envs.registration import register, registry

    for name in _core.env_names():
        if env_id(name) in registry:
            continue
        # No max_episode_steps: the envs truncate themselves at ep_len (an override).
        register(id=env_id(name), entry_point="boxlcd.gym_env:GymEnv",
                 vector_entry_point="boxlcd.gym_env:GymVectorEnv", kwargs={"env": name})
        for task in task_names(name):
            register(id=env_id(f"{name}{task.capitalize()}Goal"), entry_point="boxlcd.tasks:SingleGoalTask",
                     vector_entry_point="boxlcd.tasks:make_task", kwargs={"env": name, "task": task})
    if env_id("Learned") not in registry:
        register(id=env_id("Learned"), vector_entry_point="boxlcd.learned:LearnedEnv")


class _RegisterWhenImported(importlib.abc.MetaPathFinder):
    """Finds gymnasium as usual, then registers the envs right after its module has run."""

    def find_spec(self, fullname, path, target=None):
        if fullname != "gymnasium":
            return None
        sys.meta_path.remove(self)  # one time only; the real finders do the finding
        spec = importlib.util.find_spec(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_then_register(module):
            del loader.exec_module  # the loader is as it was
            exec_module(module)
            register_envs()

        loader.exec_module = exec_then_register
        return spec


def register_on_import() -> None:
    if "gymnasium" in sys.modules:
        register_envs()
    elif importlib.util.find_spec("gymnasium") is not None:
        if not any(isinstance(f, _RegisterWhenImported) for f in sys.meta_path):
            sys.meta_path.insert(0, _RegisterWhenImported())
