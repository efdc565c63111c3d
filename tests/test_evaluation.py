"""Tests for zoo_core.running.stats, zoo_core.running.evaluation, zoo_core.running.video and zoo_core.running.plots."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from zoo_core.errors import ZooError
from zoo_core.running.evaluation import EvalProtocol, EvalResult, evaluate, write_results
from zoo_core.running.plots import plot_learning_curve
from zoo_core.running.stats import bootstrap_ci, iqm, summarize
from zoo_core.running.video import write_video

# --------------------------------------------------------------------------------------------
# helpers


def lean_policy(obs: np.ndarray) -> np.ndarray:
    """Push the cart toward the pole's lean (angle + 0.5 * angular velocity); balances well."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)


def push_left(obs: np.ndarray) -> np.ndarray:
    """Always push left: the pole falls within a few dozen steps."""
    return np.zeros(len(obs), dtype=np.int64)


def make_cartpole() -> gym.Env:
    return gym.make("CartPole-v1")


def make_cartpole_rgb() -> gym.Env:
    return gym.make("CartPole-v1", render_mode="rgb_array")


# --------------------------------------------------------------------------------------------
# stats


def test_iqm_hand_computed() -> None:
    assert iqm(np.arange(1, 9)) == 4.5  # mean of 3, 4, 5, 6
    assert iqm(np.array([1, 2, 3, 4, 100])) == 3.0  # floor(1.25) = 1 dropped at each end
    assert iqm(np.array([100, 4, 1, 3, 2])) == 3.0  # order does not matter
    assert iqm([7.0]) == 7.0
    assert iqm([1.0, 2.0, 6.0]) == 3.0  # n < 4: nothing dropped


def test_iqm_matches_scipy_trim_mean() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    for n in range(1, 40):
        x = rng.standard_cauchy(n)
        assert iqm(x) == pytest.approx(stats.trim_mean(x, 0.25), rel=1e-12, abs=1e-12)


def test_iqm_empty_is_error() -> None:
    with pytest.raises(ZooError):
        iqm(np.array([]))


def test_summarize_hand_computed() -> None:
    s = summarize([4.0, 1.0, 3.0, 2.0])
    assert s == {
        "episodes": 4,
        "mean": 2.5,
        "std": pytest.approx(math.sqrt(1.25)),  # population std: sqrt(mean((x-2.5)^2))
        "min": 1.0,
        "max": 4.0,
        "median": 2.5,
        "iqm": 2.5,  # mean of 2, 3
    }
    assert type(s["episodes"]) is int
    assert all(type(v) is float for k, v in s.items() if k != "episodes")


def test_summarize_rejects_empty_and_nan() -> None:
    with pytest.raises(ZooError):
        summarize([])
    with pytest.raises(ZooError):
        summarize([1.0, float("nan")])


def test_bootstrap_ci_contains_true_mean_and_narrows() -> None:
    data_rng = np.random.default_rng(1)
    small = data_rng.normal(10.0, 2.0, size=100)
    large = data_rng.normal(10.0, 2.0, size=2000)
    lo_s, hi_s = bootstrap_ci(small, np.mean, rng=np.random.default_rng(0))
    lo_l, hi_l = bootstrap_ci(large, np.mean, rng=np.random.default_rng(0))
    assert lo_s < 10.0 < hi_s
    assert lo_l < 10.0 < hi_l
    assert hi_l - lo_l < 0.5 * (hi_s - lo_s)  # width shrinks like 1/sqrt(n): ~4.5x here
    # Roughly the normal-theory width 2 * 1.96 * sigma / sqrt(n).
    assert hi_s - lo_s == pytest.approx(2 * 1.96 * 2.0 / 10.0, rel=0.3)


def test_bootstrap_ci_is_reproducible_and_respects_confidence() -> None:
    x = np.random.default_rng(2).exponential(size=50)
    a = bootstrap_ci(x, iqm, rng=np.random.default_rng(5))
    b = bootstrap_ci(x, iqm, rng=np.random.default_rng(5))
    assert a == b
    lo50, hi50 = bootstrap_ci(x, iqm, confidence=0.5, rng=np.random.default_rng(5))
    assert a[0] <= lo50 <= hi50 <= a[1]


def test_bootstrap_fast_paths_match_per_row_fallback() -> None:
    # iqm and np.mean take vectorised paths; the lambdas force the per-resample loop. Same rng
    # seed -> same resamples -> identical intervals.
    x = np.random.default_rng(3).normal(size=37)
    for fast, slow in [(iqm, lambda a: iqm(a)), (np.mean, lambda a: float(np.mean(a)))]:
        assert bootstrap_ci(x, fast, reps=300, rng=np.random.default_rng(9)) == pytest.approx(
            bootstrap_ci(x, slow, reps=300, rng=np.random.default_rng(9))
        )


def test_bootstrap_stratified_keeps_stratum_sizes() -> None:
    # Values equal their stratum label: a within-stratum resample keeps 3 zeros and 7 ones,
    # so every resample's mean is exactly 0.7. Unstratified resamples vary.
    x = np.array([0.0] * 3 + [1.0] * 7)
    lo, hi = bootstrap_ci(x, np.mean, rng=np.random.default_rng(0), strata=x.astype(int))
    assert lo == pytest.approx(0.7) and hi == pytest.approx(0.7)
    lo_u, hi_u = bootstrap_ci(x, np.mean, rng=np.random.default_rng(0))
    assert hi_u - lo_u > 0.3


def test_bootstrap_stratified_narrower_for_heterogeneous_tasks() -> None:
    rng = np.random.default_rng(4)
    tasks = np.repeat(["easy", "hard"], 15)
    x = np.where(tasks == "easy", 100.0, 0.0) + rng.normal(0, 1, size=30)
    lo_s, hi_s = bootstrap_ci(x, np.mean, rng=np.random.default_rng(0), strata=tasks)
    lo_u, hi_u = bootstrap_ci(x, np.mean, rng=np.random.default_rng(0))
    assert lo_s < x.mean() < hi_s
    assert hi_s - lo_s < 0.2 * (hi_u - lo_u)


def test_bootstrap_ci_bad_arguments() -> None:
    x = np.arange(5.0)
    with pytest.raises(ZooError):
        bootstrap_ci(x, np.mean, confidence=1.5, rng=np.random.default_rng(0))
    with pytest.raises(ZooError):
        bootstrap_ci(x, np.mean, reps=0, rng=np.random.default_rng(0))
    with pytest.raises(ZooError):
        bootstrap_ci(x, np.mean, rng=np.random.default_rng(0), strata=[0, 1])


# --------------------------------------------------------------------------------------------
# EvalProtocol


def test_protocol_json_round_trip() -> None:
    p = EvalProtocol("CartPole-v1", episodes=7, seed=3, epsilon=0.05, max_steps=100)
    d = p.to_json()
    assert d == {
        "env_id": "CartPole-v1",
        "episodes": 7,
        "seed": 3,
        "epsilon": 0.05,
        "max_steps": 100,
    }
    assert EvalProtocol.from_json(json.loads(json.dumps(d))) == p
    assert EvalProtocol.from_json({"env_id": "X-v0"}) == EvalProtocol("X-v0")
    # A JSON integer epsilon is a valid number.
    assert EvalProtocol.from_json({"env_id": "X-v0", "epsilon": 1}).epsilon == 1.0


@pytest.mark.parametrize(
    "d",
    [
        {"env_id": "X-v0", "episode": 5},  # typo'd key
        {"episodes": 5},  # missing env_id
        {"env_id": 3},
        {"env_id": "X-v0", "episodes": "20"},
        {"env_id": "X-v0", "episodes": True},
        {"env_id": "X-v0", "episodes": 0},
        {"env_id": "X-v0", "episodes": 2.0},
        {"env_id": "X-v0", "seed": -1},
        {"env_id": "X-v0", "epsilon": 1.5},
        {"env_id": "X-v0", "epsilon": "0.1"},
        {"env_id": "X-v0", "max_steps": 0},
        {"env_id": "X-v0", "max_steps": 10.5},
        ["env_id", "X-v0"],
    ],
)
def test_protocol_from_json_rejects_bad_input(d: object) -> None:
    with pytest.raises(ZooError):
        EvalProtocol.from_json(d)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# evaluate


def test_lean_policy_reaches_long_episodes() -> None:
    result = evaluate(lean_policy, make_cartpole, EvalProtocol("CartPole-v1", episodes=5))
    assert len(result.returns) == len(result.lengths) == 5
    assert result.lengths == [500] * 5  # every episode runs to the env's own time limit
    # CartPole pays +1 per step: the return is the length, unclipped.
    assert result.returns == [float(n) for n in result.lengths]
    assert result.summary == summarize(result.returns)


def test_constant_policy_gives_short_episodes() -> None:
    result = evaluate(push_left, make_cartpole, EvalProtocol("CartPole-v1", episodes=5))
    assert max(result.lengths) < 30
    assert result.summary["mean"] < 30


def test_evaluate_is_deterministic() -> None:
    protocol = EvalProtocol("CartPole-v1", episodes=6, seed=11, epsilon=0.2)
    a = evaluate(lean_policy, make_cartpole, protocol)
    b = evaluate(lean_policy, make_cartpole, protocol)
    assert a.returns == b.returns and a.lengths == b.lengths


@pytest.mark.parametrize("batch", [2, 3, 8])
def test_results_do_not_depend_on_batching(batch: int) -> None:
    # 10 episodes > 8 slots so envs are reused; ε > 0 so per-episode ε draws are exercised.
    protocol = EvalProtocol("CartPole-v1", episodes=10, seed=5, epsilon=0.3)
    one = evaluate(lean_policy, make_cartpole, protocol, batch=1)
    many = evaluate(lean_policy, make_cartpole, protocol, batch=batch)
    assert one.returns == many.returns and one.lengths == many.lengths
    assert len(set(one.lengths)) > 1  # the episodes really differ from each other


def test_policy_is_called_on_batches_of_live_envs() -> None:
    sizes: list[int] = []

    def spy(obs: np.ndarray) -> np.ndarray:
        assert obs.ndim == 2 and obs.shape[1] == 4
        sizes.append(len(obs))
        return push_left(obs)

    evaluate(spy, make_cartpole, EvalProtocol("CartPole-v1", episodes=12))
    assert max(sizes) == 8  # default batch
    assert min(sizes) >= 1
    assert sizes[0] == 8


def test_episodes_use_documented_seeds() -> None:
    # Episode i starts from reset(seed=seed + i): replay episode 3 of seed=20 by hand.
    protocol = EvalProtocol("CartPole-v1", episodes=4, seed=20)
    result = evaluate(push_left, make_cartpole, protocol)
    env = make_cartpole()
    env.reset(seed=23)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(0)
        steps += 1
        done = terminated or truncated
    assert result.lengths[3] == steps


def test_epsilon_one_is_random_and_differs_from_greedy() -> None:
    greedy = evaluate(lean_policy, make_cartpole, EvalProtocol("CartPole-v1", episodes=8))
    random_ = evaluate(lean_policy, make_cartpole, EvalProtocol("CartPole-v1", episodes=8, epsilon=1.0))
    assert random_.returns != greedy.returns
    # A uniformly random CartPole policy survives ~22 steps on average, far below the greedy.
    assert random_.summary["mean"] < 60 < greedy.summary["mean"]
    # The policy is irrelevant at ε = 1.
    also_random = evaluate(push_left, make_cartpole, EvalProtocol("CartPole-v1", episodes=8, epsilon=1.0))
    assert also_random.returns == random_.returns


def test_max_steps_caps_lengths() -> None:
    protocol = EvalProtocol("CartPole-v1", episodes=4, max_steps=10)
    result = evaluate(lean_policy, make_cartpole, protocol)
    assert result.lengths == [10, 10, 10, 10]
    assert result.returns == [10.0] * 4


def test_record_gets_frames_of_episode_zero_only() -> None:
    frames: list[np.ndarray] = []
    protocol = EvalProtocol("CartPole-v1", episodes=3, max_steps=7)
    result = evaluate(lean_policy, make_cartpole_rgb, protocol, record=frames.append)
    assert len(frames) == result.lengths[0] + 1  # reset frame + one per step
    assert all(f.shape == (400, 600, 3) and f.dtype == np.uint8 for f in frames)


def test_record_without_rgb_render_mode_is_a_clear_error() -> None:
    with pytest.raises(ZooError, match="render_mode"):
        evaluate(lean_policy, make_cartpole, EvalProtocol("CartPole-v1", 1), record=print)


def test_bad_policy_output_is_a_clear_error() -> None:
    with pytest.raises(ZooError, match="shape"):
        evaluate(
            lambda obs: np.zeros(1, dtype=int),
            make_cartpole,
            EvalProtocol("CartPole-v1", episodes=3),
        )
    with pytest.raises(ZooError, match="shape"):
        evaluate(
            lambda obs: np.zeros((len(obs), 1), dtype=int),
            make_cartpole,
            EvalProtocol("CartPole-v1", episodes=3),
        )


def test_epsilon_needs_discrete_actions() -> None:
    with pytest.raises(ZooError, match="Discrete"):
        evaluate(
            lambda obs: np.zeros((len(obs), 1), dtype=np.float32),
            lambda: gym.make("Pendulum-v1"),
            EvalProtocol("Pendulum-v1", episodes=1, epsilon=0.1),
        )


def test_progress_bar_runs() -> None:
    result = evaluate(push_left, make_cartpole, EvalProtocol("CartPole-v1", episodes=3), progress=True)
    assert len(result.returns) == 3


def test_envs_are_closed() -> None:
    closed: list[bool] = []

    class Closing(gym.Wrapper):
        def close(self) -> None:
            closed.append(True)
            super().close()

    evaluate(push_left, lambda: Closing(make_cartpole()), EvalProtocol("CartPole-v1", 5), batch=2)
    assert len(closed) == 2


# --------------------------------------------------------------------------------------------
# results.json


def test_results_json_round_trip(tmp_path: Path) -> None:
    protocol = EvalProtocol("CartPole-v1", episodes=3, seed=1, epsilon=0.05, max_steps=50)
    result = evaluate(lean_policy, make_cartpole, protocol)
    path = tmp_path / "run" / "results.json"
    write_results(result, path, extra={"checkpoint": "ckpt/latest.pt", "env_steps": 1234})

    data = json.loads(path.read_text())
    assert data["protocol"] == protocol.to_json()
    assert data["episode_returns"] == result.returns
    assert data["episode_lengths"] == result.lengths
    for key in ("episodes", "mean", "std", "min", "max", "median", "iqm"):
        assert data[key] == result.summary[key]
    assert data["checkpoint"] == "ckpt/latest.pt" and data["env_steps"] == 1234

    back = EvalResult.from_json(data)
    assert back.protocol == protocol
    assert back.returns == result.returns and back.lengths == result.lengths
    assert back.summary == result.summary
    assert path.read_text().startswith('{\n  "protocol"')  # indent=2
    assert sorted(p.name for p in path.parent.iterdir()) == ["results.json"]  # no temp left


def test_write_results_replaces_and_rejects_clashing_extra(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    r1 = EvalResult(EvalProtocol("X-v0", episodes=2), [1.0, 2.0], [1, 2])
    r2 = EvalResult(EvalProtocol("X-v0", episodes=2), [5.0, 7.0], [5, 7])
    write_results(r1, path)
    write_results(r2, path)
    assert json.loads(path.read_text())["episode_returns"] == [5.0, 7.0]
    with pytest.raises(ZooError, match="clash"):
        write_results(r1, path, extra={"mean": 0})
    assert json.loads(path.read_text())["episode_returns"] == [5.0, 7.0]  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_eval_result_checks_consistency() -> None:
    with pytest.raises(ZooError):
        EvalResult(EvalProtocol("X-v0", episodes=2), [1.0, 2.0], [1])
    with pytest.raises(ZooError):
        EvalResult(EvalProtocol("X-v0", episodes=3), [1.0, 2.0], [1, 2])
    with pytest.raises(ZooError):
        EvalResult.from_json({"protocol": {"env_id": "X-v0"}})


# --------------------------------------------------------------------------------------------
# video


# imageio's ffmpeg reader leaves its subprocess pipes to the garbage collector (upstream);
# keep that out of these tests' warnings. Our writer closes everything it opens.
ignore_reader_leaks = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)


def _read_video(path: Path) -> list[np.ndarray]:
    """Decode an MP4 back into frames `[H, W, 3]` uint8."""
    import imageio.v2 as imageio

    with imageio.get_reader(str(path), format="FFMPEG") as reader:
        return [np.asarray(f) for f in reader]


@ignore_reader_leaks
def test_write_video_cartpole_frames(tmp_path: Path) -> None:
    env = make_cartpole_rgb()
    env.reset(seed=0)
    frames = [env.render()]
    for t in range(19):
        env.step(t % 2)  # alternate pushes: the pole stays up for these 19 steps
        frames.append(env.render())
    env.close()
    path = tmp_path / "videos" / "eval.mp4"
    write_video(frames, path, fps=30)
    assert path.exists() and path.stat().st_size > 1000
    back = _read_video(path)
    assert len(back) == 20
    assert back[0].shape == (400, 600, 3)
    # Lossy, but close to the source (background is white, the cart dark).
    assert np.abs(back[0].astype(int) - frames[0].astype(int)).mean() < 10
    assert [p.name for p in path.parent.iterdir()] == ["eval.mp4"]  # no temp left


@ignore_reader_leaks
def test_write_video_upscales_tiny_and_pads_odd_frames(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    tiny = (rng.random((5, 10, 10, 3)) > 0.5).astype(np.uint8) * 255
    write_video(iter(tiny), tmp_path / "tiny.mp4", fps=10)  # a generator is fine
    back = _read_video(tmp_path / "tiny.mp4")
    assert len(back) == 5 and back[0].shape == (160, 160, 3)
    # Nearest-neighbour: each source pixel became a 16x16 block; its centre is still clear.
    centres = back[0][8::16, 8::16]
    assert np.abs(centres.astype(int) - tiny[0].astype(int)).mean() < 40

    odd = np.zeros((3, 171, 201), dtype=np.uint8)  # grayscale, odd dims, already > 160
    write_video(list(odd), tmp_path / "odd.mp4")
    assert _read_video(tmp_path / "odd.mp4")[0].shape == (172, 202, 3)


def test_write_video_errors(tmp_path: Path) -> None:
    with pytest.raises(ZooError, match="no frames"):
        write_video([], tmp_path / "empty.mp4")
    frames = [np.zeros((32, 32, 3), np.uint8), np.zeros((32, 48, 3), np.uint8)]
    with pytest.raises(ZooError, match="same size"):
        write_video(frames, tmp_path / "mixed.mp4")
    with pytest.raises(ZooError, match="dtype"):
        write_video([np.zeros((32, 32, 3), np.int32)], tmp_path / "int.mp4")
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_write_video_missing_backend_is_a_zoo_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import imageio_ffmpeg

    def missing() -> str:
        raise RuntimeError("No ffmpeg exe could be found")

    monkeypatch.setattr(imageio_ffmpeg, "get_ffmpeg_exe", missing)
    with pytest.raises(ZooError, match="imageio-ffmpeg"):
        write_video([np.zeros((32, 32, 3), np.uint8)], tmp_path / "x.mp4")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# plots


def _write_log(path: Path) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["env_steps", "loss", "eval_mean", "eval_std"])
        for i in range(1, 21):
            w.writerow([i * 5000, 0.1, "", ""])  # training-only rows: no eval
            w.writerow([i * 5000, 0.1, 20 * i + 5 * math.sin(i), 3 + i])


def _assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_plot_learning_curve_from_csv(tmp_path: Path) -> None:
    log = tmp_path / "run1" / "log.csv"
    log.parent.mkdir()
    _write_log(log)
    out = tmp_path / "run1" / "plots" / "curve.png"
    plot_learning_curve(log, out)
    _assert_png(out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["curve.png"]


def test_plot_learning_curve_from_rows_without_std(tmp_path: Path) -> None:
    rows = [{"env_steps": s, "eval_mean": float(s) ** 0.5} for s in range(0, 100_000, 10_000)]
    out = tmp_path / "curve.png"
    plot_learning_curve(rows, out, title="sqrt")
    _assert_png(out)


def test_plot_learning_curve_errors(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    _write_log(log)
    with pytest.raises(ZooError, match="eval_return"):
        plot_learning_curve(log, tmp_path / "a.png", y="eval_return")
    with pytest.raises(ZooError, match="no such CSV"):
        plot_learning_curve(tmp_path / "missing.csv", tmp_path / "b.png")
    with pytest.raises(ZooError, match="numeric"):
        plot_learning_curve([{"env_steps": "", "eval_mean": ""}], tmp_path / "c.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["log.csv"]


class _CountingPolicy:
    """A policy with memory: action 1 on its episode's odd steps, so its state must follow the slot."""

    recurrent = True

    def __init__(self):
        self.steps: dict[int, int] = {}
        self.calls: list[tuple[list[int], list[bool]]] = []

    def __call__(self, obs, slots, first):
        self.calls.append((list(slots), [bool(f) for f in first]))
        actions = []
        for s, f in zip(slots, first, strict=True):
            self.steps[s] = 0 if f else self.steps[s] + 1
            actions.append(self.steps[s] % 2)
        return np.array(actions)


def test_a_recurrent_policy_learns_where_episodes_start_and_results_do_not_depend_on_batching():
    protocol = EvalProtocol(env_id="CartPole-v1", episodes=6, seed=0)
    make = lambda: gym.make("CartPole-v1")  # noqa: E731
    policy = _CountingPolicy()
    wide = evaluate(policy, make, protocol, batch=3)
    assert policy.calls[0] == ([0, 1, 2], [True, True, True])
    assert policy.calls[1] == ([0, 1, 2], [False, False, False])
    narrow = evaluate(_CountingPolicy(), make, protocol, batch=1)
    assert wide.returns == narrow.returns
    # Alternating actions balance the pole for a while: far longer than always pushing one way.
    assert min(wide.lengths) > 20
