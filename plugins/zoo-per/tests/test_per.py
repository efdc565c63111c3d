"""zoo-per: sum tree, rank segments and weights by hand; sampling distributions; the replay; an agent."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from zoo_per import (
    PrioritizedReplay,
    SumTree,
    beta_at,
    importance_weights,
    power_law_cumulative,
    rank_segments,
    segment_probabilities,
)

from zoo_core.errors import ZooError

# ----------------------------------------------------------------------------- sum tree


def _check_parents(tree: SumTree) -> None:
    nodes = tree._nodes
    P = tree._leaf0
    assert np.array_equal(nodes[1:P], nodes[2 : 2 * P : 2] + nodes[3 : 2 * P : 2])


def test_sum_tree_totals_and_duplicates():
    tree = SumTree(5)  # 8 leaves inside, 3 unused
    tree.update(np.array([0, 2, 4]), np.array([1.0, 2.0, 3.0]))
    assert tree.total == 6.0
    # duplicates in one call: the last write wins (3 -> 7 -> 0.5; 0 -> 4)
    tree.update(np.array([3, 0, 3, 3]), np.array([7.0, 4.0, 9.0, 0.5]))
    assert list(tree.leaves) == [4.0, 0.0, 2.0, 0.5, 3.0]
    assert tree.total == 9.5
    _check_parents(tree)
    tree.update(np.array([4]), np.array([0.0]))
    assert tree.total == 6.5
    _check_parents(tree)
    before = tree._nodes.copy()
    with pytest.raises(ValueError):
        tree.update(np.array([1, 2]), np.array([5.0, -1.0]))
    with pytest.raises(ValueError):
        tree.update(np.array([1]), np.array([np.nan]))
    with pytest.raises(IndexError):
        tree.update(np.array([1, 5]), np.array([5.0, 1.0]))
    with pytest.raises(IndexError):
        tree.update(np.array([-1]), np.array([1.0]))
    assert np.array_equal(tree._nodes, before)  # a rejected batch writes nothing, not even its valid part


def test_sum_tree_find_hand_picked():
    tree = SumTree(4)
    tree.update(np.arange(4), np.array([1.0, 0.0, 2.0, 3.0]))  # prefix intervals [0,1) [1,1) [1,3) [3,6)
    u = np.array([0.0, 0.999, 1.0, 2.5, 2.999, 3.0, 5.999, 6.0, 100.0])
    assert list(tree.find(u)) == [0, 0, 2, 2, 2, 3, 3, 3, 3]  # zero leaf never; past the total: last positive
    tree.update(np.array([3]), np.array([0.0]))
    assert list(tree.find(np.array([2.99, 3.0, 50.0]))) == [2, 2, 2]


def _reference_find(tree: SumTree, u: np.ndarray) -> np.ndarray:
    """The descent one level at a time over the whole batch, in plain numpy (the compiled loop's spec)."""
    nodes, u, node = tree._nodes, u.copy(), np.ones(u.shape, np.int64)
    while node[0] < tree._leaf0:
        left = 2 * node
        right = (u >= nodes[left]) & (nodes[left + 1] > 0)
        u -= np.where(right, nodes[left], 0.0)
        node = left + right
    return node - tree._leaf0


def test_sum_tree_find_matches_the_numpy_descent_on_a_big_sparse_tree():
    rng = np.random.default_rng(5)
    capacity = 100_003  # not a power of two: 31,069 unused leaves
    values = rng.random(capacity) ** 4 * (rng.random(capacity) < 0.3)  # 70% zero leaves
    tree = SumTree(capacity)
    tree.rebuild(values)
    u = np.concatenate([rng.random(5000) * tree.total, [0.0, tree.total, np.nextafter(tree.total, 0), 2 * tree.total]])
    got = tree.find(u)
    assert np.array_equal(got, _reference_find(tree, u))
    assert (values[got] > 0).all()


def test_sum_tree_rebuild_is_bit_identical():
    rng = np.random.default_rng(1)
    values = rng.random(1000) ** 3
    a, b = SumTree(1000), SumTree(1000)
    for chunk in np.array_split(rng.permutation(1000), 7):
        a.update(chunk, values[chunk])
    b.rebuild(values)
    assert np.array_equal(a._nodes, b._nodes)


def test_sum_tree_sample_is_stratified_and_vectorised():
    rng = np.random.default_rng(0)
    values = rng.random(1000)
    tree = SumTree(1000)
    tree.update(np.arange(1000), values)
    got = tree.sample(64, np.random.default_rng(7))
    # Reference: the same draws, one per segment, looked up by a prefix-sum search.
    u = (np.arange(64) + np.random.default_rng(7).random(64)) * (tree.total / 64)
    expected = np.searchsorted(np.cumsum(values), u, side="right")
    assert np.array_equal(got, expected)
    assert np.all(np.diff(got) >= 0)  # one draw per segment, segments in order


def test_sum_tree_iid_draws_fit_proportional_chi_square():
    p = np.array([1.0, 2.0, 3.0, 4.0, 0.0, 10.0])
    tree = SumTree(6)
    tree.update(np.arange(6), p)
    n = 60_000
    counts = np.bincount(tree.find(np.random.default_rng(3).random(n) * tree.total), minlength=6)
    assert counts[4] == 0
    keep = p > 0
    res = stats.chisquare(counts[keep], n * p[keep] / p.sum())
    assert res.pvalue > 1e-3, res


# ----------------------------------------------------------------------------- weights, beta


def test_importance_weights_by_hand():
    # N = 10, P = [0.1, 0.2, 0.4], beta = 0.5: (N P)^-b = [1, 2^-0.5, 4^-0.5]; max is 1.
    w = importance_weights(np.array([0.1, 0.2, 0.4]), 10, 0.5)
    assert w.dtype == np.float32
    np.testing.assert_allclose(w, [1.0, 2**-0.5, 0.5], rtol=1e-6)
    # normalised by the batch max: the smallest P gets weight 1 even if N P != 1
    np.testing.assert_allclose(importance_weights(np.array([0.5, 0.25]), 2, 1.0), [0.5, 1.0])
    np.testing.assert_allclose(importance_weights(np.array([0.3, 0.1]), 5, 0.0), [1.0, 1.0])


def test_beta_anneals_linearly():
    assert beta_at(0, 0.4, 100) == pytest.approx(0.4)
    assert beta_at(50, 0.4, 100) == pytest.approx(0.7)
    assert beta_at(100, 0.4, 100) == 1.0
    assert beta_at(10**6, 0.4, 100) == 1.0
    assert beta_at(5, 0.4, 0) == 1.0


# ----------------------------------------------------------------------------- rank segments


def test_rank_segments_by_hand():
    # alpha = 1, L = 4: masses 1, 1/2, 1/3, 1/4 (Z = 25/12); k = 2: half is 25/24 > 1, so rank 1
    # and rank 2 (cumulative 1.5) close segment 0 at the first cumulative >= Z/2 -> ranks {1, 2}.
    starts, ends = rank_segments(power_law_cumulative(4, 1.0), 2)
    assert list(starts) == [0, 2] and list(ends) == [2, 4]
    # k = 4 over L = 4: every segment one rank, although rank 1 holds 48% of the mass
    starts, ends = rank_segments(power_law_cumulative(4, 1.0), 4)
    assert list(starts) == [0, 1, 2, 3] and list(ends) == [1, 2, 3, 4]
    q = segment_probabilities(starts, ends, 4)
    np.testing.assert_allclose(q, [0.25] * 4)
    # L < k: single-rank segments at the mid-mass points, heavy ranks repeated
    # masses 2/3, 1/3 (cumulative 1, 1.5); mid points 1.5 * [1/8, 3/8, 5/8, 7/8] = .19 .56 .94 1.31
    starts, ends = rank_segments(power_law_cumulative(2, 1.0), 4)
    assert list(starts) == [0, 0, 0, 1] and list(ends) == [1, 1, 1, 2]
    np.testing.assert_allclose(segment_probabilities(starts, ends, 2), [0.75, 0.25])


def test_rank_segments_approximate_the_power_law():
    L, k, alpha = 10_000, 32, 0.7
    c = power_law_cumulative(L, alpha)
    starts, ends = rank_segments(c, k)
    assert starts[0] == 0 and ends[-1] == L and np.array_equal(starts[1:], ends[:-1]) and np.all(ends > starts)
    q = segment_probabilities(starts, ends, L)
    exact = np.arange(1, L + 1) ** -alpha / c[-1]
    assert q.sum() == pytest.approx(1.0)
    # each segment has mass 1/k under both; within a segment the approximation is flat
    for s, e in zip(starts, ends, strict=True):
        assert exact[s:e].sum() == pytest.approx(1 / k, abs=1.2 / k)
    assert 0.5 * np.abs(q - exact).sum() < 0.05  # total variation distance


# ----------------------------------------------------------------------------- the replay


def _fill(replay: PrioritizedReplay, steps: int, seed: int = 0, end_prob: float = 0.1) -> None:
    """Feeds a stream of random episodes; obs are [E, *obs_shape] counters."""
    rng = np.random.default_rng(seed)
    E, shape = replay.num_envs, replay.obs_shape
    t = 0
    obs = np.zeros((E, *shape), np.float32)
    for _ in range(steps):
        t += 1
        nxt = np.full((E, *shape), t, np.float32)
        ends = rng.random(E) < end_prob
        terminated = ends & (rng.random(E) < 0.5)
        truncated = ends & ~terminated
        replay.add(obs, rng.integers(0, 2, E), rng.random(E).astype(np.float32), terminated, truncated, nxt)
        obs = np.where(ends.reshape(-1, *([1] * len(shape))), np.full_like(nxt, -t), nxt)
        if replay.frame_stack > 1:
            # a new episode's first stack must be k copies of its reset frame
            obs[ends] = obs[ends][:, :1]


@pytest.mark.parametrize("variant", ["proportional", "rank"])
@pytest.mark.parametrize(("num_envs", "n_step", "frame_stack"), [(1, 1, 1), (2, 3, 1), (3, 3, 3)])
def test_only_valid_slots_are_live_and_sampled(variant, num_envs, n_step, frame_stack):
    shape = (frame_stack, 2) if frame_stack > 1 else (2,)
    replay = PrioritizedReplay(60, shape, np.float32, num_envs=num_envs, n_step=n_step, frame_stack=frame_stack,
                               variant=variant, rank_sort_every=3)
    rng = np.random.default_rng(0)
    for chunk in range(12):  # 12 * 15 steps: every ring wraps several times
        _fill(replay, 15, seed=chunk)
        assert np.array_equal(replay.live, replay._ready_from_scratch())
        assert replay.num_live == replay.live.sum()
        if variant == "proportional":
            assert np.array_equal(replay._tree.leaves > 0, replay.live)
        for _ in range(5):
            idx, w = replay.sample_indices(16, rng)
            assert replay.valid(idx).all()
            assert w.max() == 1.0 and (w > 0).all()
            replay.update_priorities(idx, rng.random(16) * 3)
    # final slots of episodes are never live
    assert not (replay.live & replay._is_last).any()


def test_new_transitions_get_max_priority():
    replay = PrioritizedReplay(40, (2,), np.float32, n_step=1)
    _fill(replay, 10, end_prob=0.0)
    live = np.flatnonzero(replay.live)
    assert np.all(replay.priorities[live] == 1.0)  # initial max is 1
    replay.update_priorities(live[:3], np.array([-4.0, 0.5, 2.0]))  # |delta| + eps
    assert replay.max_priority == pytest.approx(4.0 + 1e-6)
    np.testing.assert_allclose(replay.priorities[live[:3]], [4 + 1e-6, 0.5 + 1e-6, 2 + 1e-6])
    _fill(replay, 5, seed=1, end_prob=0.0)
    new = np.setdiff1d(np.flatnonzero(replay.live), live)
    assert new.size == 5 and np.all(replay.priorities[new] == replay.max_priority)
    # the sum tree holds p^alpha
    np.testing.assert_allclose(replay._tree[new], (4 + 1e-6) ** 0.6)


@pytest.mark.parametrize("variant", ["proportional", "rank"])
def test_update_priorities_repeated_index_keeps_the_last(variant):
    replay = PrioritizedReplay(40, (2,), np.float32, n_step=1, variant=variant)
    _fill(replay, 10, end_prob=0.0)
    a, b = np.flatnonzero(replay.live)[:2]
    replay.update_priorities(np.array([a, b, a, a]), np.array([5.0, 2.0, 7.0, 3.0]))
    np.testing.assert_allclose(replay.priorities[[a, b]], [3 + 1e-6, 2 + 1e-6])
    assert replay.max_priority == pytest.approx(7 + 1e-6)  # the max of what was written
    if variant == "proportional":
        np.testing.assert_allclose(replay._tree[[a, b]], np.array([3 + 1e-6, 2 + 1e-6]) ** 0.6)
    before = replay.priorities.copy()
    with pytest.raises(ZooError, match="outside"):
        replay.update_priorities(np.array([a, 40]), np.array([1.0, 1.0]))
    with pytest.raises(ZooError, match="outside"):
        replay.update_priorities(np.array([-1]), np.array([1.0]))
    assert np.array_equal(replay.priorities, before)


def test_proportional_weights_and_beta_from_the_replay():
    replay = PrioritizedReplay(20, (2,), np.float32, alpha=1.0, beta0=0.5, beta_steps=2, eps=1e-9)
    _fill(replay, 4, end_prob=0.0)  # slots 0..3 live
    live = np.flatnonzero(replay.live)
    assert list(live) == [0, 1, 2, 3]
    replay.update_priorities(live, np.array([1.0, 1.0, 2.0, 4.0]))  # P = 1/8, 1/8, 2/8, 4/8
    idx, w = replay.sample_indices(8, np.random.default_rng(0))
    # strata of width 1: [0,1)->0 [1,2)->1 [2,4)->2 [4,8)->3
    assert list(idx) == [0, 1, 2, 2, 3, 3, 3, 3]
    # beta 0.5, N = 4: (4 P)^-0.5 = [sqrt 2, sqrt 2, 1, sqrt 0.5] / sqrt 2
    np.testing.assert_allclose(w, [1, 1, 2**-0.5, 2**-0.5, 0.5, 0.5, 0.5, 0.5], rtol=1e-5)
    assert replay.samples == 1 and replay.beta == pytest.approx(0.75)
    replay.sample_indices(8, np.random.default_rng(0))
    _, w = replay.sample_indices(8, np.random.default_rng(0))  # beta = 1 now
    np.testing.assert_allclose(w, [1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25], rtol=1e-5)


def _pooled_counts(replay, k, batches, seed):
    rng = np.random.default_rng(seed)
    counts = np.zeros(replay.capacity, np.int64)
    for _ in range(batches):
        counts += np.bincount(replay.sample_indices(k, rng)[0], minlength=replay.capacity)
    return counts


def test_proportional_sampling_fits_p_alpha_chi_square():
    replay = PrioritizedReplay(64, (2,), np.float32, alpha=0.6)
    _fill(replay, 30, end_prob=0.0)
    live = np.flatnonzero(replay.live)
    replay.update_priorities(live, np.linspace(0.1, 5.0, live.size))
    P = replay.probabilities(16)
    expected = replay.priorities[live] ** 0.6
    np.testing.assert_allclose(P[live], expected / expected.sum())
    k, batches = 16, 3000
    counts = _pooled_counts(replay, k, batches, 0)
    assert counts[~replay.live].sum() == 0
    # Stratification makes the pooled counts less variable than multinomial ones, so the
    # chi-square test (scipy.stats.chisquare) is conservative here: it can only pass more easily.
    assert stats.chisquare(counts[live], k * batches * P[live]).pvalue > 1e-3


def test_rank_sampling_fits_its_segments_and_the_power_law():
    replay = PrioritizedReplay(300, (2,), np.float32, variant="rank", alpha=0.7, rank_sort_every=10**9)
    _fill(replay, 256, end_prob=0.0)
    live = np.flatnonzero(replay.live)
    p = np.random.default_rng(5).permutation(live.size) + 1.0
    replay.update_priorities(live, p)
    replay._rank.sort()
    k, batches = 8, 4000
    q = replay.probabilities(k)
    assert q.sum() == pytest.approx(1.0) and np.all(q[~replay.live] == 0)
    # q depends on the rank only: the slot with the largest priority is rank 1
    ranks = np.empty(live.size, np.int64)
    ranks[np.argsort(-replay.priorities[live])] = np.arange(1, live.size + 1)
    exact = ranks ** -0.7 / (np.arange(1, live.size + 1) ** -0.7).sum()
    # total variation to 1/rank^alpha: 0.065 with only k = 8 flat segments over 256 ranks
    assert 0.5 * np.abs(q[live] - exact).sum() < 0.08
    counts = _pooled_counts(replay, k, batches, 1)
    assert counts[~replay.live].sum() == 0
    assert stats.chisquare(counts[live], k * batches * q[live]).pvalue > 1e-3
    # per segment, pooled counts are exactly `batches` (one draw per segment)
    starts, ends, _ = replay._rank.segments(k)
    order = replay._rank.order[: replay._rank.order_len]
    for s, e in zip(starts, ends, strict=True):
        assert counts[order[s:e]].sum() == batches


@pytest.mark.parametrize("variant", ["proportional", "rank"])
def test_state_dict_round_trip_samples_identically(variant):
    kw = dict(num_envs=2, n_step=3, variant=variant, rank_sort_every=4)
    a = PrioritizedReplay(80, (2,), np.float32, **kw)
    _fill(a, 70)
    rng = np.random.default_rng(0)
    for _ in range(6):
        idx, _ = a.sample_indices(8, rng)
        a.update_priorities(idx, rng.random(8))
    _fill(a, 3, seed=9)  # leave fresh entries and holes in the rank table
    arrays, meta = a.state_dict()
    arrays = {k: np.array(v, copy=True) for k, v in arrays.items()}
    b = PrioritizedReplay(80, (2,), np.float32, **kw)
    b.load_state_dict(arrays, meta)
    ra, rb = np.random.default_rng(3), np.random.default_rng(3)
    for step in range(10):
        ia, wa = a.sample_indices(8, ra)
        ib, wb = b.sample_indices(8, rb)
        assert np.array_equal(ia, ib) and np.array_equal(wa, wb)
        td = np.random.default_rng(step).random(8)
        a.update_priorities(ia, td)
        b.update_priorities(ib, td)
        _fill(a, 1, seed=100 + step)
        _fill(b, 1, seed=100 + step)
    assert a.samples == b.samples and a.max_priority == b.max_priority
    with pytest.raises(Exception, match="per"):
        PrioritizedReplay(80, (2,), np.float32, **{**kw, "variant": "rank" if variant != "rank" else "proportional"}
                          ).load_state_dict(arrays, meta)


# ----------------------------------------------------------------------------- in an agent

SMALL = ["train_freq=1", "gradient_steps=1", "learning_starts=100", "buffer_size=2000", "batch_size=16",
         "hidden=32,32", "run.eval_every=0", "run.eval_episodes=2", "run.checkpoint_every=0"]


@pytest.mark.parametrize("variant", ["proportional", "rank"])
def test_agent_trains_with_prioritized_replay(tmp_path, variant):
    import zoo_core

    result = zoo_core.train("dqn+per", "CartPole-v1", 400, seed=0, out=tmp_path / "r",
                            overrides=[*SMALL, f"per.variant={variant}"])
    replay = result.agent.replay
    assert isinstance(replay, PrioritizedReplay) and replay.variant == variant
    assert result.agent.replay.prioritized
    assert replay.samples == result.agent.updates == 301
    live = replay.live
    assert replay.max_priority != 1.0
    assert np.any(replay.priorities[live] != 1.0)  # written by zoo_after_update
    assert np.array_equal(live, replay._ready_from_scratch())


def test_config_ranges_and_fits_are_checked_when_resolved():
    from zoo_core.host.session import resolve

    for setting, message in [("per.alpha=-1", "per.alpha must be >= 0; got -1.0"),
                             ("per.beta0=1.5", "per.beta0 must be in [0, 1]; got 1.5"),
                             ("per.eps=0", "per.eps must be > 0; got 0.0"),
                             ("per.rank_sort_every=0", "per.rank_sort_every must be >= 1; got 0")]:
        with pytest.raises(ZooError) as info:
            resolve("dqn+per", "CartPole-v1", [setting])
        assert str(info.value) == message
    # Sequence replay is R2D2's own; transitions are DQN's.
    with pytest.raises(ZooError, match=r"plugin 'per' does not fit algorithm 'r2d2' \(it fits: dqn\)"):
        resolve("r2d2+per", "CartPole-v1")
