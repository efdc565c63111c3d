"""The ``i2a`` recipe: IMPALA's learner with the I2A torso, and its comparison arms for ``zoo ablate``.

The arms are the paper's (Weber et al. 2017, section 4): I2A with the environment model trained on a
model-free agent's frames, the copy model (imagination that predicts nothing changes), a bad model
(the same network trained briefly), and the standard model-free agent (no imagination; its CNN wider
so its trainable parameters are about I2A's).
"""

from __future__ import annotations

from zoo_core.api import Recipe

# Sokoban frames: batched acting (imagination is A x τ model steps per observation, cheaper in a
# batch), 20-step unrolls. Adam at 1e-3 with an entropy cost of 0.001: on the dev seed (100, never a
# comparison seed), the standard agent's training return after 200k frames was 3.7 with these,
# 2.5 with IMPALA's RMSProp at 6e-4 and 0.01, 3.1 with RMSProp and 0.001, 2.8 with Adam 5e-4 and
# 0.01 (one seed each: a choice, not a finding).
#
# Evaluations sample the policy (run.eval_sample), as the paper reports its agents: a broad policy's
# argmax repeats itself forever once it revisits a state of a deterministic level. Measured on that
# standard agent, 500 held-out levels: 53% solved sampling, 16% greedily, and 36% by uniformly random
# moves (a 6x6 room with one box is often solved by chance in 40 steps).
SOKOBAN = {
    "impala": {"num_actors": 2, "envs_per_actor": 8, "unroll_length": 20, "batch_size": 2,
               "optimizer": "adam", "lr": 1e-3, "optim_eps": 1e-8, "entropy_cost": 0.001},
    "run": {"eval_every": 100_000, "eval_episodes": 100, "eval_sample": True, "log_every": 10_000,
            "checkpoint_every": 100_000},
}

ROOM6X6 = {"i2a": {"model": "registry:sokoban-room6x6-model"}}

I2A = Recipe(
    name="i2a",
    algorithm="impala",
    plugins=("impala", "i2a"),
    env_config={"sokoban": SOKOBAN, "Sokoban/Room6x6-v0": ROOM6X6},
    description="I2A (Weber et al. 2017): IMPALA with imagined rollouts of an environment model, encoded backwards",
    ablations={
        "copy-model": {"i2a": {"model": "copy"}},
        "bad-model": {"i2a": {"model": "registry:sokoban-room6x6-bad-model"}},
        "standard": {"i2a": {"model": "none", "channels": 46}},
    },
)
