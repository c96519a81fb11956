"""Registers every built-in env with Gymnasium as boxlcd/<Name>-v0, when boxlcd is imported.

    import boxlcd, gymnasium
    env = gymnasium.make("boxlcd/Urchin-v0")
    envs = gymnasium.make_vec("boxlcd/Urchin-v0", num_envs=256)   # the native vector env
"""
from __future__ import annotations

from gymnasium.envs.registration import register, registry

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
    boxlcd/<Name>CubeGoal-v0 for its goal tasks, and boxlcd/Learned-v0; ids already registered
    are left as they are, so calling it again does nothing."""
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
