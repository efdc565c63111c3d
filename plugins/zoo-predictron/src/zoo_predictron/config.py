"""The predictron's hyperparameters (the ``predictron`` config section)."""

from __future__ import annotations

from dataclasses import dataclass

from zoo_core.api import ZooError, param

ARCHITECTURES = ("predictron", "convnet", "resnet")


@dataclass(frozen=True)
class PredictronConfig:
    """The predictron (Silver et al. 2017) and its ConvNet baselines. Steps are labelled training
    examples (mazes); an update takes ``batch_size`` of them."""

    architecture: str = param(
        "predictron", "predictron, or a baseline of the same depth and width, k convolutional blocks then the "
        "value head, regressing its one prediction to the target: convnet (plain blocks) or resnet (each block "
        "adds its input); with shared a recurrent network, without a feed-forward one.")
    k: int = param(8, "Core steps (the baselines' blocks): the preturns run from 0 to k steps.", ge=1)
    shared: bool = param(True, "One core (or convnet block) for every step, the paper's weight sharing, or k of "
                         "their own.")
    use_lambda: bool = param(True, "Learn λ (the λ-predictron); false: λ = 1, the (r, γ)-predictron, "
                             "whose λ-preturn is its k-step preturn.")
    usage_weighting: bool = param(True, "Weight each k-step preturn's loss by how much the λ-preturn uses it "
                                  "(its λ-weight) instead of uniformly.")
    consistency_updates: int = param(
        1, "Consistency updates per supervised update, each on a fresh batch of unlabelled mazes: the k-step "
        "preturns regress to the stopped λ-preturn (the paper's semi-supervised update; 0: none).", ge=0)
    channels: int = param(16, "Channels of every convolution.", ge=1)
    hidden: int = param(32, "Hidden units of the r, γ, λ and value heads.", ge=1)
    batch_size: int = param(32, "Labelled mazes per update (and unlabelled ones per consistency update).", ge=1)
    lr: float = param(1e-3, "Adam learning rate.", gt=0)
    max_grad_norm: float = param(10.0, "Clip the gradient's global norm to this (0: no clipping).", ge=0)

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise ZooError(f"predictron.architecture must be one of {', '.join(ARCHITECTURES)}; "
                           f"got {self.architecture!r}")
