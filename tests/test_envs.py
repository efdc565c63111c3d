"""Tests for zoo_core.envs: families, Atari/MinAtar adapters, exact restore and vector envs."""

from __future__ import annotations

import json
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from zoo_core.envs import (
    EnvFamily,
    Recorded,
    VecEnv,
    VecStep,
    builtin_families,
    find_family,
    frame_stack_depth,
    make_async_vec_env,
    make_env,
)
from zoo_core.envs.atari import ClipReward, EpisodicLife
from zoo_core.envs.minatar import list_ids as minatar_ids
from zoo_core.errors import CheckpointError, ZooError


def cartpole() -> gym.Env:
    return make_env("CartPole-v1", training=True)


def short_cartpole() -> gym.Env:
    return gym.make("CartPole-v1", max_episode_steps=5)


def seeds_of(seed: int, n: int) -> list[int]:
    """The episode seeds a VecEnv built with `seed` hands out, in order."""
    rng = np.random.Generator(np.random.PCG64(seed))
    return [int(rng.integers(2**31 - 1)) for _ in range(n)]


def rollout(vec: VecEnv, actions: np.ndarray) -> list[VecStep]:
    return [vec.step(a) for a in actions]


def assert_same_steps(a: list[VecStep], b: list[VecStep]) -> None:
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.obs, y.obs)
        np.testing.assert_array_equal(x.next_obs, y.next_obs)
        np.testing.assert_array_equal(x.reward, y.reward)
        np.testing.assert_array_equal(x.terminated, y.terminated)
        np.testing.assert_array_equal(x.truncated, y.truncated)
        assert x.episodes == y.episodes


def assert_restores(make_one: Any, actions_before: list[int], actions_after: list[int], seed: int) -> None:
    """Steps one env, restores its state into a fresh env, then checks both continue identically."""
    env = Recorded(make_one())
    obs, _ = env.reset(seed=seed)
    for a in actions_before:
        obs, _, terminated, truncated, _ = env.step(a)
        if terminated or truncated:
            obs, _ = env.reset(seed=seed + 1)
    state = json.loads(json.dumps(env.get_state()))
    twin = Recorded(make_one())
    np.testing.assert_array_equal(twin.set_state(state), obs)
    for a in actions_after:
        first, second = env.step(a), twin.step(a)
        np.testing.assert_array_equal(first[0], second[0])
        assert first[1:4] == second[1:4]
        if first[2] or first[3]:
            np.testing.assert_array_equal(env.reset(seed=7)[0], twin.reset(seed=7)[0])


# --- families -------------------------------------------------------------------------------------------


def test_unknown_env_id_suggests_the_close_one():
    with pytest.raises(ZooError, match=r"unknown environment 'CartPol-v1'; did you mean CartPole-v1"):
        make_env("CartPol-v1", training=True)
    with pytest.raises(ZooError, match=r"did you mean ALE/Pong-v5"):
        make_env("ALE/Pongg-v5", training=True)
    with pytest.raises(ZooError, match=r"did you mean MinAtar/Breakout-v1"):
        make_env("MinAtar/Breakot-v1", training=True)


def test_longest_prefix_wins_whatever_the_order():
    def fake(name: str, prefix: str) -> EnvFamily:
        return EnvFamily(name, prefix, lambda *a, **k: None, lambda: [], name)

    families = [fake("fallback", ""), fake("short", "AL"), fake("long", "ALE/")]
    assert find_family("ALE/Pong-v5", families).name == "long"
    assert find_family("ALE/Pong-v5", families[::-1]).name == "long"
    assert find_family("ALX", families).name == "short"
    assert find_family("CartPole-v1", families).name == "fallback"
    with pytest.raises(ZooError, match=r"known prefixes: AL\.\.\. \(short\)"):
        find_family("Foo-v0", families[1:])
    assert [f.name for f in builtin_families()] == ["gymnasium", "atari", "minatar", "pomdp"]
    assert "CartPole-v1" in builtin_families()[0].list_ids()
    assert "ALE/Pong-v5" in builtin_families()[1].list_ids()


# --- CartPole through VecEnv ----------------------------------------------------------------------------


def test_vec_env_is_deterministic_by_seed():
    actions = np.random.default_rng(0).integers(0, 2, size=(60, 3))
    runs = []
    for seed in (11, 11, 12):
        vec = VecEnv(cartpole, num_envs=3, seed=seed)
        first = vec.reset()
        runs.append((first, rollout(vec, actions)))
        vec.close()
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert_same_steps(runs[0][1], runs[1][1])
    assert not np.array_equal(runs[0][0], runs[2][0])
    # The first obs comes from reset(seed=<first drawn seed>), exactly.
    np.testing.assert_array_equal(runs[0][0][0], cartpole().reset(seed=seeds_of(11, 1)[0])[0])


def test_random_cartpole_terminates_not_truncates():
    vec = VecEnv(cartpole, num_envs=2, seed=0)
    vec.reset()
    rng = np.random.default_rng(1)
    ended = []
    for _ in range(200):
        step = vec.step(rng.integers(0, 2, size=2))
        assert not step.truncated.any()
        assert step.reward.dtype == np.float32 and (step.reward == 1.0).all()
        ended += step.episodes
        for i, _, _ in step.episodes:
            assert step.terminated[i]
            # A terminal CartPole state has the pole past 12 degrees or the cart past 2.4.
            assert abs(step.next_obs[i, 2]) > 0.2094 or abs(step.next_obs[i, 0]) > 2.4
    assert len(ended) >= 4
    assert all(ret == length for _, ret, length in ended)


def test_time_limit_truncates_with_final_and_fresh_obs():
    vec = VecEnv(short_cartpole, num_envs=1, seed=5)
    vec.reset()
    seed0, seed1 = seeds_of(5, 2)
    ref = short_cartpole()
    ref.reset(seed=seed0)
    actions = [0, 1, 0, 1, 0]
    for t, a in enumerate(actions):
        step = vec.step(np.array([a]))
        final = ref.step(a)[0]
        np.testing.assert_array_equal(step.next_obs[0], final)
        if t < 4:
            np.testing.assert_array_equal(step.obs[0], final)
            assert step.episodes == []
    assert step.truncated[0] and not step.terminated[0]
    np.testing.assert_array_equal(step.obs[0], ref.reset(seed=seed1)[0])
    assert step.episodes == [(0, 5.0, 5)]


# --- Atari ----------------------------------------------------------------------------------------------


def test_atari_observation_and_wrapper_order():
    env = make_env("ALE/Pong-v5", training=True)
    obs, info = env.reset(seed=3)
    assert obs.shape == (4, 84, 84) and obs.dtype == np.uint8
    assert all(np.array_equal(obs[0], obs[k]) for k in range(1, 4))
    assert obs.max() > obs.min()  # a real picture, not a blank screen
    assert info["real_reset"] is True
    next_obs = env.step(0)[0]
    np.testing.assert_array_equal(next_obs[:3], obs[1:])  # the stack shifts by one frame
    assert frame_stack_depth(env) == 4
    assert frame_stack_depth(Recorded(env)) == 4
    assert frame_stack_depth(cartpole()) == 1
    assert frame_stack_depth(VecEnv(cartpole, num_envs=1, seed=0)) == 1
    chain = []
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        chain.append(type(layer).__name__)
        layer = layer.env
    assert chain[:4] == ["FrameStackObservation", "ClipReward", "EpisodicLife", "AtariPreprocess"]


class _ScoreEnv(gym.Env):
    """Pays 7, -3, 0, 2 points in turn."""

    observation_space = gym.spaces.Box(0, 1, (1,), dtype=np.float32)
    action_space = gym.spaces.Discrete(1)
    _pay = (7.0, -3.0, 0.0, 2.0)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.t = 0
        return np.zeros(1, np.float32), {}

    def step(self, action: int):
        self.t += 1
        return np.zeros(1, np.float32), self._pay[(self.t - 1) % 4], False, False, {}


def test_clip_reward_keeps_raw_score():
    env = ClipReward(_ScoreEnv())
    env.reset()
    seen = [env.step(0) for _ in range(4)]
    assert [s[1] for s in seen] == [1.0, -1.0, 0.0, 1.0]
    assert [s[4]["raw_reward"] for s in seen] == [7.0, -3.0, 0.0, 2.0]


def test_breakout_life_loss_continues_game_and_restores():
    env = Recorded(make_env("ALE/Breakout-v5", training=True))
    start_obs, info = env.reset(seed=1)
    start = env.get_state()
    lives = info["lives"]
    rng = np.random.default_rng(2)
    for _ in range(2000):
        _, reward, terminated, truncated, info = env.step(int(rng.integers(4)))
        assert reward in (-1.0, 0.0, 1.0) and "raw_reward" in info
        if terminated:
            break
    assert terminated and not truncated
    # Right after a life loss a reset would continue the game; set_state must still start a fresh one.
    at_loss = env.get_state()
    np.testing.assert_array_equal(env.set_state(start), start_obs)
    env.set_state(at_loss)
    assert info["game_over"] is False and info["lives"] == lives - 1
    frame = info["episode_frame_number"]
    obs, info = env.reset(seed=99)
    assert info["real_reset"] is False
    assert info["episode_frame_number"] > frame and info["lives"] == lives - 1  # the same game goes on
    assert all(np.array_equal(obs[0], obs[k]) for k in range(1, 4))
    assert env.op_log[0][0] == "reset" and env.op_log[-1] == ["reset", 99]
    actions = [int(a) for a in rng.integers(4, size=40)]
    # Restore mid-game, after the continued reset: the twin must replay the continuation too.
    state = json.loads(json.dumps(env.get_state()))
    twin = Recorded(make_env("ALE/Breakout-v5", training=True))
    np.testing.assert_array_equal(twin.set_state(state), obs)
    for a in actions:
        first, second = env.step(a), twin.step(a)
        np.testing.assert_array_equal(first[0], second[0])
        assert first[1:4] == second[1:4]
        if first[2] or first[3]:
            break


def test_breakout_vec_env_reports_whole_games_only():
    vec = VecEnv(lambda: make_env("ALE/Breakout-v5", training=True), num_envs=1, seed=3)
    vec.reset()
    rng = np.random.default_rng(4)
    terminals = steps = 0
    clipped = 0.0
    for _ in range(3000):
        step = vec.step(rng.integers(4, size=1))
        steps += 1
        terminals += int(step.terminated[0])
        clipped += float(step.reward[0])
        if step.episodes:
            break
    ((index, score, length),) = step.episodes
    assert index == 0 and length == steps
    assert terminals == 5  # one per life; only the last ended the game
    assert score >= clipped >= 0.0  # Breakout bricks are worth 1 to 7 points, clipped to 1


def test_atari_eval_env_keeps_lives_and_score():
    env = make_env("ALE/Breakout-v5", training=False)
    _, info = env.reset(seed=5)
    lives = info["lives"]
    rng = np.random.default_rng(6)
    for _ in range(2000):
        _, reward, terminated, truncated, info = env.step(int(rng.integers(4)))
        assert "raw_reward" not in info and "game_over" not in info
        if info["lives"] < lives or terminated or truncated:
            break
    assert info["lives"] == lives - 1 and not terminated  # losing a life does not end an eval episode
    layer: Any = env
    while isinstance(layer, gym.Wrapper):
        assert not isinstance(layer, (ClipReward, EpisodicLife))
        layer = layer.env


def test_pong_restore_continues_identically():
    rng = np.random.default_rng(8)
    before = [int(a) for a in rng.integers(6, size=30)]
    after = [int(a) for a in rng.integers(6, size=20)]
    assert_restores(lambda: make_env("ALE/Pong-v5", training=True), before, after, seed=21)


# --- MinAtar --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("env_id", minatar_ids())
def test_minatar_observations(env_id: str):
    env = make_env(env_id, training=True)
    obs, _ = env.reset(seed=0)
    channels = env.observation_space.shape[0]
    assert obs.shape == (channels, 10, 10) and obs.dtype == np.uint8
    assert set(np.unique(obs)) <= {0, 1} and obs.sum() > 0
    assert env.action_space == gym.spaces.Discrete(6)
    assert (
        channels
        == {"Asterix": 4, "Breakout": 4, "Freeway": 7, "Seaquest": 10, "SpaceInvaders": 6}[
            env_id.split("/")[1].split("-")[0]
        ]
    )


def test_minatar_is_deterministic_by_seed():
    actions = np.random.default_rng(0).integers(6, size=300)

    def play(seed: int) -> tuple[np.ndarray, list[float]]:
        env = make_env("MinAtar/Asterix-v1", training=True)
        frames, rewards = [env.reset(seed=seed)[0]], []
        for a in actions:
            obs, reward, terminated, _, _ = env.step(int(a))
            frames.append(obs)
            rewards.append(reward)
            if terminated:
                frames.append(env.reset()[0])  # unseeded: continues the seeded RNG
        return np.stack(frames), rewards

    a, b, c = play(4), play(4), play(5)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    assert a[0].shape != c[0].shape or not np.array_equal(a[0], c[0])


def test_minatar_rgb_render():
    env = make_env("MinAtar/Breakout-v1", training=False, render_mode="rgb_array")
    obs, _ = env.reset(seed=1)
    image = env.render()
    assert image.shape == (160, 160, 3) and image.dtype == np.uint8
    cell = lambda y, x: image[y * 16 + 8, x * 16 + 8]  # noqa: E731
    for y in range(10):
        for x in range(10):
            assert (cell(y, x).any()) == bool(obs[:, y, x].any())
    assert np.array_equal(image[0:16, 0:16], np.broadcast_to(cell(0, 0), (16, 16, 3)))


def test_minatar_restore_continues_identically():
    rng = np.random.default_rng(9)
    before = [int(a) for a in rng.integers(6, size=60)]
    after = [int(a) for a in rng.integers(6, size=60)]
    assert_restores(lambda: make_env("MinAtar/Breakout-v1", training=True), before, after, seed=3)


# --- Recorded and VecEnv state --------------------------------------------------------------------------


def test_cartpole_restore_continues_identically():
    rng = np.random.default_rng(10)
    before = [int(a) for a in rng.integers(2, size=15)]
    after = [int(a) for a in rng.integers(2, size=40)]
    assert_restores(cartpole, before, after, seed=4)


def test_recorded_unseeded_reset_is_logged_and_reproducible():
    first, second = Recorded(cartpole()), Recorded(cartpole())
    first.reset(seed=5)
    second.reset(seed=5)
    obs_a, _ = first.reset()
    obs_b, _ = second.reset()
    np.testing.assert_array_equal(obs_a, obs_b)
    assert isinstance(first.op_log[0][1], int) and first.op_log == [["reset", first.op_log[0][1]]]


def test_recorded_detects_a_diverging_replay():
    env = Recorded(cartpole())
    env.reset(seed=1)
    for _ in range(5):
        env.step(0)
    state = env.get_state()
    state["log"][3] = ["step", 1]
    with pytest.raises(CheckpointError, match="different observation"):
        Recorded(cartpole()).set_state(state)
    with pytest.raises(CheckpointError, match="must start with a reset"):
        Recorded(cartpole()).set_state({"log": [], "seed_rng": None, "obs_crc": 0})


@pytest.mark.parametrize("make_one", [cartpole, lambda: make_env("MinAtar/Breakout-v1", training=True)])
def test_vec_env_state_dict_round_trip(make_one: Any):
    rng = np.random.default_rng(12)
    vec = VecEnv(make_one, num_envs=3, seed=7)
    vec.reset()
    n = vec.action_space.n
    current = rollout(vec, rng.integers(n, size=(40, 3)))[-1].obs
    state = json.loads(json.dumps(vec.state_dict()))
    restored = VecEnv(make_one, num_envs=3, seed=999)
    np.testing.assert_array_equal(restored.load_state_dict(state), current)
    later = rng.integers(n, size=(120, 3))
    expected = rollout(vec, later)
    got = rollout(restored, later)
    assert_same_steps(expected, got)
    assert any(s.episodes for s in got)  # episode returns carried over through the restore
    with pytest.raises(CheckpointError, match="for 3 envs"):
        VecEnv(make_one, num_envs=2, seed=0).load_state_dict(state)


def test_async_vec_env_is_seeded():
    envs = [make_async_vec_env(cartpole, num_envs=2, seed=3) for _ in range(2)]
    try:
        (obs_a, _), (obs_b, _) = envs[0].reset(), envs[1].reset()
        assert obs_a.shape == (2, 4)
        np.testing.assert_array_equal(obs_a, obs_b)
        assert not np.array_equal(obs_a[0], obs_a[1])
        step = envs[0].step(np.array([0, 1]))
        assert step[0].shape == (2, 4) and step[1].tolist() == [1.0, 1.0]
    finally:
        for env in envs:
            env.close()


def test_pomdp_cartpole_hides_the_velocities():
    from zoo_core.envs import make_env

    full, masked = make_env("CartPole-v1", training=True), make_env("POMDP/CartPole-v1", training=True)
    o_full, _ = full.reset(seed=3)
    o_masked, _ = masked.reset(seed=3)
    assert masked.observation_space.shape == (2,)
    np.testing.assert_array_equal(o_masked, o_full[[0, 2]])
    o_full, *_ = full.step(1)
    o_masked, *_ = masked.step(1)
    np.testing.assert_array_equal(o_masked, o_full[[0, 2]])


def test_reward_scale_multiplies_what_the_learner_sees_but_not_the_score():
    from zoo_core.envs import VecEnv
    from zoo_core.host.session import resolve

    setup = resolve("dqn", "CartPole-v1", ["run.reward_scale=1000"])
    vec = VecEnv(lambda: setup.make_env(training=True), 1, seed=0)
    vec.reset()
    while True:
        step = vec.step(np.array([0]))
        assert step.reward[0] == 1000.0
        if step.episodes:
            break
    (_, ret, length), = step.episodes
    assert ret == length  # the episode's score in CartPole's own units
    assert type(setup.make_env(training=False)).__name__ != "ScaleReward"


def test_obs_channels_pads_minatar_games_to_one_shape():
    from zoo_core.host.session import resolve

    shapes = set()
    for game in ("Breakout", "Seaquest", "Freeway"):
        env = resolve("dqn", f"MinAtar/{game}-v1", ["run.obs_channels=10"]).make_env(training=False)
        obs, _ = env.reset(seed=0)
        raw, _ = resolve("dqn", f"MinAtar/{game}-v1").make_env(training=False).reset(seed=0)
        np.testing.assert_array_equal(obs[: raw.shape[0]], raw)
        assert not obs[raw.shape[0]:].any()
        shapes.add(obs.shape)
    assert shapes == {(10, 10, 10)}


def test_obs_channels_below_the_env_s_is_a_clear_error():
    from zoo_core.host.session import resolve

    with pytest.raises(ZooError, match="run.obs_channels=4: cannot pad observations of shape"):
        resolve("dqn", "MinAtar/Seaquest-v1", ["run.obs_channels=4"]).make_env(training=True)
