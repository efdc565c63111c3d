"""The ``predictron`` recipe and the comparison ``zoo ablate predictron`` runs."""

from __future__ import annotations

from zoo_core.api import Recipe

# The arms of the paper's comparison (Silver et al. 2017, figures 3-4), each a config layer over the
# full recipe (the λ-predictron with usage weighting and consistency updates).
_NO_USAGE = {"usage_weighting": False}
_NO_CONSISTENCY = {"consistency_updates": 0}
_RGAMMA = {"use_lambda": False}
_CONVNET = {"architecture": "convnet", "usage_weighting": False, "consistency_updates": 0}
ABLATIONS = {
    "no-usage": {"predictron": _NO_USAGE},
    "no-consistency": {"predictron": _NO_CONSISTENCY},
    "plain": {"predictron": {**_NO_USAGE, **_NO_CONSISTENCY}},
    "rgamma": {"predictron": _RGAMMA},
    "rgamma-no-usage": {"predictron": {**_RGAMMA, **_NO_USAGE}},
    "rgamma-no-consistency": {"predictron": {**_RGAMMA, **_NO_CONSISTENCY}},
    "rgamma-plain": {"predictron": {**_RGAMMA, **_NO_USAGE, **_NO_CONSISTENCY}},
    "feedforward-convnet": {"predictron": {**_CONVNET, "shared": False}},
    "recurrent-convnet": {"predictron": {**_CONVNET, "shared": True}},
    "feedforward-resnet": {"predictron": {**_CONVNET, "architecture": "resnet", "shared": False}},
    "recurrent-resnet": {"predictron": {**_CONVNET, "architecture": "resnet", "shared": True}},
}


def predictron_recipe() -> Recipe:
    """The λ-predictron with usage weighting and one consistency update per supervised update."""
    return Recipe(
        "predictron", "predictron", ("predictron",),
        # An env step is one labelled maze (32 per update); the held-out set is 1,000 mazes.
        {"run": {"eval_every": 6_400, "eval_episodes": 1_000, "log_every": 3_200, "checkpoint_every": 32_000}},
        {},
        "the λ-predictron (Silver et al. 2017) with usage weighting and consistency updates, for Predictron/ tasks",
        ablations=ABLATIONS,
    )
