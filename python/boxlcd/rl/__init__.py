"""Reinforcement learning on boxlcd goal tasks: PPO (stable-baselines3) in the engine or in a
learned simulator, success measured in the engine. See docs/learned-sims.md.

    boxlcd rl train --env Urchin --task body --sim real --out runs/ppo-urchin
    boxlcd rl eval runs/ppo-urchin --episodes 1000
    boxlcd rl plot runs/ppo-urchin runs/ppo-urchin-learned --out curves.png

Settings: boxlcd.rl.config. A PPO run's policy as a dataset's policy: boxlcd.rl.actor.ppo_policy.
"""
