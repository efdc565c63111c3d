"""The R2D2 agent: the actor's state across steps and episodes, exact resume, batch-free evaluation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from zoo_r2d2.sequence_replay import SequenceBatch

import zoo_core
from zoo_core.envs import VecEnv
from zoo_core.errors import PluginError
from zoo_core.host.session import build_agent, env_signature, resolve
from zoo_core.learning.policies import RecurrentPolicy
from zoo_core.publishing.agent_folder import export_agent
from zoo_core.running.evaluation import EvalProtocol, evaluate

ENV = "POMDP/CartPole-v1"
# Small, fast settings: a few hundred steps of real learning.
TINY = [
    "hidden=16", "recurrent_size=16", "batch_size=4", "burn_in=2", "learn_length=4", "overlap=2",
    "buffer_size=200", "learning_starts=100", "train_freq=2", "target_update_interval=25",
    "eps_decay_steps=300", "n_step=2", "run.eval_every=0", "run.eval_episodes=2", "run.log_every=100",
    "run.checkpoint_every=0",
]


def _agent(recipe: str = "r2d2", overrides: tuple[str, ...] = (), seed: int = 0):
    setup = resolve(recipe, ENV, TINY + list(overrides))
    return setup, build_agent(setup, env_signature(setup.make_env(training=True)), seed)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_the_actor_carries_its_state_per_env_and_zeroes_it_where_an_episode_starts(kind):
    setup, agent = _agent(overrides=(f"recurrent={kind}", "run.num_envs=2"))
    env = VecEnv(lambda: setup.make_env(training=True), 2, seed=3)
    obs = env.reset()
    episode_obs: list[list[np.ndarray]] = [[], []]
    starts = 0
    for _ in range(120):
        actions = agent.explore(obs)
        state_tm1 = torch.stack(agent._state_tm1)  # [K, E, H]: the state each env acted from
        for e in range(2):
            if not episode_obs[e]:
                # An episode's first observation is read from the zero state ...
                assert torch.count_nonzero(state_tm1[:, e]) == 0
                starts += 1
            else:
                # ... later ones from the state carried over the episode's observations so far,
                # the same as one unroll of the network over the episode.
                seq = torch.as_tensor(np.stack(episode_obs[e]))[:, None]  # [T, 1, obs]
                with torch.no_grad():
                    _, expected = agent.network(seq, torch.zeros(len(seq), 1), agent.network.core.initial_state(1))
                assert torch.allclose(state_tm1[:, e], torch.stack(expected)[:, 0], atol=1e-5)
            episode_obs[e].append(obs[e])
        step = env.step(actions)
        agent.observe(obs, actions, step)
        for e in np.flatnonzero(step.terminated | step.truncated):
            episode_obs[e] = []
        obs = step.obs
    assert starts > 4  # several episodes began (random play ends CartPole within ~10-40 steps)
    env.close()


def test_an_episode_s_final_observation_is_stored_as_a_last_timestep():
    setup, agent = _agent(overrides=("burn_in=0", "learn_length=60", "overlap=0"))
    env = VecEnv(lambda: setup.make_env(training=True), 1, seed=0)
    obs = env.reset()
    finals = []
    for _ in range(60):
        actions = agent.explore(obs)
        step = env.step(actions)
        agent.observe(obs, actions, step)
        if step.terminated[0]:
            finals.append(step.next_obs[0])
        obs = step.obs
    batch = agent.replay.gather(np.array([0]))
    last = np.flatnonzero(batch.last[:, 0])
    assert len(last) == len(finals) >= 1
    assert np.array_equal(batch.obs[last, 0], np.stack(finals))
    assert batch.first[last + 1, 0].all() if last[-1] + 1 < 60 else batch.first[last[:-1] + 1, 0].all()
    assert batch.terminated[last - 1, 0].all() and not batch.terminated[last, 0].any()
    env.close()


class _ObsAsQ(torch.nn.Module):
    """A stand-in network whose action values are its observations: ``[T, B, A] -> [T, B, A, 1]``."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, obs, first, state):
        return (obs * self.scale).unsqueeze(-1), state


def _sequence(reward, terminated, last) -> SequenceBatch:
    """One sequence of 4 timesteps whose observations are the action values (see `_ObsAsQ`)."""
    q = [[9.0, 9.0], [0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]  # timestep 0 is the burn-in
    return SequenceBatch(
        obs=np.array(q, dtype=np.float32)[:, None], action=np.array([[0], [1], [0], [0]]),
        reward=np.array(reward, dtype=np.float32)[:, None], terminated=np.array(terminated)[:, None],
        first=np.zeros((4, 1), dtype=bool), last=np.array(last)[:, None], state=np.zeros((2, 1, 16), np.float32),
        indices=np.zeros(1, dtype=np.int64),
    )


@pytest.mark.parametrize(
    ("reward", "terminated", "last", "expected"),
    [
        # t1: G = 0.2 + 0.5 * 0.1, bootstrapped 0.25 * max q(t3) = 0.15: target 0.4, q 0.2.
        # t2: one transition left: 0.1 + 0.5 * 0.6 = 0.4, q 0.3. Huber (0.5 δ²) of 0.2 and 0.1, averaged.
        ([0, 0.2, 0.1, 0], [False] * 4, [False] * 4, (0.5 * 0.2**2 + 0.5 * 0.1**2) / 2),
        # Terminated after t1: target 0.5 alone (δ 0.3); t2 is a final observation, no transition.
        ([0, 0.5, 0, 0], [False, True, False, False], [False, False, True, False], 0.5 * 0.3**2),
        # Truncated after t1: 0.5 + 0.5 * max q(t2) = 0.7 (δ 0.5), bootstrapped from the final observation.
        ([0, 0.5, 0, 0], [False] * 4, [False, False, True, False], 0.5 * 0.5**2),
    ],
)
def test_the_loss_learns_n_step_targets_after_the_burn_in(reward, terminated, last, expected):
    _, agent = _agent(overrides=("burn_in=1", "learn_length=3", "n_step=2", "gamma=0.5"))
    agent.network, agent.target = _ObsAsQ(), _ObsAsQ()
    loss, priority = agent.loss(_sequence(reward, terminated, last))
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    assert priority.shape == (1,)


def test_training_resumes_bit_identically(tmp_path):
    settings = TINY + ["run.num_envs=2", "run.checkpoint_every=300", "run.keep_checkpoints=5"]
    zoo_core.train("r2d2", ENV, 600, seed=1, out=tmp_path / "a", overrides=settings)
    zoo_core.train("r2d2", ENV, 300, seed=1, out=tmp_path / "b", overrides=settings)
    result = zoo_core.resume(tmp_path / "b", steps=600)
    assert result.agent.updates > 100 and len(result.agent.replay) > 50
    for name in ("model", "train_state"):
        a = load_file(str(tmp_path / f"a/checkpoints/step_000000000600/{name}.safetensors"))
        b = load_file(str(tmp_path / f"b/checkpoints/step_000000000600/{name}.safetensors"))
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])]
    # The checkpoint carries the actor's mid-episode state (not zeros) and the open sequences.
    state = load_file(str(tmp_path / "a/checkpoints/step_000000000600/train_state.safetensors"))
    assert torch.count_nonzero(state["actor.state.0"]) > 0 and "replay.open.obs" in state
    # An agent folder is exported without a stateless agent.pt, and loads and plays as the run's agent.
    folder = export_agent(tmp_path / "a", tmp_path / "agent", which="latest", episodes=2, video=False)
    assert not (folder / "agent.pt").exists()
    protocol = EvalProtocol(env_id=ENV, episodes=3, seed=0)
    make = lambda: resolve("r2d2", ENV, TINY).make_env(training=False)  # noqa: E731
    assert (evaluate(zoo_core.load(folder).act, make, protocol).returns
            == evaluate(zoo_core.load(tmp_path / "a").act, make, protocol).returns)


def test_evaluation_does_not_depend_on_the_eval_batch():
    _, agent = _agent(seed=2)
    assert isinstance(agent.act, RecurrentPolicy)
    # Fresh weights mostly push one way whatever they saw; tripled, these (seed 2) make the actions
    # hang on the history, and episodes last 8-13 steps, so slots go out of step (checked below).
    with torch.no_grad():
        for p in agent.network.parameters():
            p.mul_(3.0)
    protocol = EvalProtocol(env_id=ENV, episodes=7, seed=0)
    make = lambda: resolve("r2d2", ENV, TINY).make_env(training=False)  # noqa: E731
    one = evaluate(agent.act, make, protocol, batch=1)
    wide = evaluate(agent.act, make, protocol, batch=4)
    assert one.returns == wide.returns and one.lengths == wide.lengths

    # The check has teeth: a policy that forgets which slot a row is (streams by row position)
    # and where episodes start plays differently once episodes of different lengths interleave.
    def forgetful(obs):
        return agent.act(obs)

    mixed = evaluate(forgetful, make, protocol, batch=4)
    assert mixed.returns != one.returns
    assert isinstance(agent.act(np.zeros(2, dtype=np.float32)), int)


@pytest.mark.parametrize(("plugin", "check"), [
    ("dueling", lambda agent: agent.spec.head == "dueling"),
    ("c51", lambda agent: agent.spec.num_atoms == 51),
    ("noisy", lambda agent: agent.spec.linear == "noisy" and agent.exploration.epsilon(0) == 0.0),
])
def test_plugins_compose_with_the_recurrent_core(plugin, check):
    setup, agent = _agent(f"r2d2+{plugin}")
    assert check(agent) and agent.spec.recurrent == "lstm"
    env = VecEnv(lambda: setup.make_env(training=True), 1, seed=0)
    obs = env.reset()
    for _ in range(40):
        actions = agent.explore(obs)
        step = env.step(actions)
        agent.observe(obs, actions, step)
        obs = step.obs
    before = [p.detach().clone() for p in agent.network.parameters()]
    agent.update()
    assert np.isfinite(agent.metrics()["loss"])
    assert any(not torch.equal(a, p) for a, p in zip(before, agent.network.parameters(), strict=True))
    env.close()


class _ThirdPartyReplay:
    """A transition replay plugin that does not say which algorithms it fits (``zoo_fits``)."""

    name = "thirdparty"

    @zoo_core.hookimpl
    def zoo_make_replay(self, config, capacity, obs_shape, obs_dtype, num_envs, frame_stack, n_step, gamma):
        return None


def test_transition_replay_is_refused():
    with pytest.raises(PluginError, match=r"plugin 'per' does not fit algorithm 'r2d2' \(it fits: dqn\)"):
        resolve("r2d2+per", ENV)
    # A plugin that declares no fits reaches the agent, which still refuses what it cannot use.
    setup = resolve("r2d2", ENV, TINY, extra=[_ThirdPartyReplay()])
    with pytest.raises(PluginError, match="'thirdparty' implements zoo_make_replay"):
        build_agent(setup, env_signature(setup.make_env(training=True)), 0)
