"""A mixed-precision MLP policy for SB3's PPO: `boxlcd rl train --set precision=bf16`.

Why: with the default 3x256 nets, SB3's update is about half of the PPO loop's time on a CPU
(docs/speed.md), and a CPU with AVX512-BF16 or AMX multiplies bf16 matrices a few times
faster than fp32. So the hidden 256x256 layers of the policy and value nets run under
torch.autocast in bf16. What needs precision stays fp32: the first layer reads the
observation (a bf16 input would round a position to about 0.004, a tenth of the goal's
0.05 threshold), and the latent returns to fp32 before the action and value heads, so
log-probabilities, PPO's ratios and values are fp32. Weights, gradients and Adam's state are
fp32 throughout.
"""
from __future__ import annotations

import torch
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.torch_layers import MlpExtractor

from boxlcd.models.precision import check_precision


def _mixed(net: torch.nn.Sequential, features: torch.Tensor) -> torch.Tensor:
    """The first layer and its activation in fp32, the rest in bf16, the output in fp32."""
    if len(net) <= 2:
        return net(features)
    x = net[:2](features)
    with torch.autocast(features.device.type, dtype=torch.bfloat16):
        x = net[2:](x)
    return x.float()


class MixedPrecisionExtractor(MlpExtractor):
    def forward_actor(self, features: torch.Tensor) -> torch.Tensor:
        return _mixed(self.policy_net, features)

    def forward_critic(self, features: torch.Tensor) -> torch.Tensor:
        return _mixed(self.value_net, features)


class MixedPrecisionPolicy(ActorCriticPolicy):
    """SB3's MlpPolicy with its hidden layers in bf16 (see the module's docstring)."""

    def _build_mlp_extractor(self) -> None:
        self.mlp_extractor = MixedPrecisionExtractor(self.features_dim, net_arch=self.net_arch,
                                                     activation_fn=self.activation_fn, device=self.device)


def policy_class(precision: str):
    """SB3's policy argument for a run's `precision` setting."""
    check_precision(precision)
    return MixedPrecisionPolicy if precision == "bf16" else "MlpPolicy"
