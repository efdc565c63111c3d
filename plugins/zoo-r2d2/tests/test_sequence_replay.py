"""Sequence replay on hand-made streams: cuts, overlap, stored states, episode flags, wrap, state."""

from __future__ import annotations

import numpy as np
import pytest
from zoo_r2d2.sequence_replay import SequenceReplay

from zoo_core.errors import ZooError


def _replay(capacity: int = 8, length: int = 4, overlap: int = 1, num_envs: int = 1) -> SequenceReplay:
    return SequenceReplay(capacity, length, overlap, (1,), np.dtype(np.float32), num_envs, state_shape=(2, 3))


def _push(replay: SequenceReplay, env: int, i: int, *, first: bool = False, last: bool = False,
          terminated: bool = False) -> None:
    """Timestep ``i``: observation ``[i]``, action ``i % 2``, reward ``i``, state filled with ``i``."""
    state = np.full((2, 3), i, dtype=np.float32)
    replay.append(env, np.array([i], dtype=np.float32), first, last, 0 if last else i % 2, 0.0 if last else float(i),
                  terminated, state)


def test_a_stream_is_cut_into_overlapping_sequences_with_the_state_at_each_start():
    replay = _replay(length=4, overlap=1)
    for i in range(10):
        _push(replay, 0, i)
    assert len(replay) == 3  # [0..3], [3..6], [6..9]; timestep 9 also opens the next one
    batch = replay.gather(np.array([0, 1, 2]))
    assert batch.obs.shape == (4, 3, 1)  # time-major [L, B, *obs]
    assert batch.obs[:, :, 0].T.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    assert batch.reward.T.tolist() == [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]]
    assert batch.action.T.tolist() == [[0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]]
    assert batch.state.shape == (2, 3, 3)  # [K, B, H]
    assert batch.state[:, :, 0].tolist() == [[0, 3, 6], [0, 3, 6]]  # the state before each first timestep


def test_no_overlap_and_a_wide_overlap():
    flat = _replay(length=3, overlap=0)
    wide = _replay(length=3, overlap=2)
    for i in range(7):
        _push(flat, 0, i)
        _push(wide, 0, i)
    assert flat.gather(np.arange(len(flat))).obs[:, :, 0].T.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert wide.gather(np.arange(len(wide))).obs[:, :, 0].T.tolist() == [
        [0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5], [4, 5, 6]
    ]
    assert wide.gather(np.arange(5)).state[0, :, 0].tolist() == [0, 1, 2, 3, 4]


def test_sequences_cross_episodes_with_first_and_last_flags():
    replay = _replay(length=5, overlap=0)
    _push(replay, 0, 0, first=True)
    _push(replay, 0, 1, terminated=True)  # its action ended the episode by termination
    _push(replay, 0, 2, last=True)  # the final observation: no action on it
    _push(replay, 0, 3, first=True)
    _push(replay, 0, 4)
    batch = replay.gather(np.array([0]))
    assert batch.first[:, 0].tolist() == [True, False, False, True, False]
    assert batch.last[:, 0].tolist() == [False, False, True, False, False]
    assert batch.terminated[:, 0].tolist() == [False, True, False, False, False]
    assert batch.action[:, 0].tolist() == [0, 1, 0, 1, 0] and batch.reward[2, 0] == 0.0


def test_envs_keep_their_own_streams():
    replay = _replay(length=3, overlap=1, num_envs=2)
    for i in range(5):
        _push(replay, 0, i)
        _push(replay, 1, 100 + i)
    # Both envs close a sequence at timestep 2 (env 0 first) and at timestep 4.
    obs = replay.gather(np.arange(4)).obs[:, :, 0].T.tolist()
    assert obs == [[0, 1, 2], [100, 101, 102], [2, 3, 4], [102, 103, 104]]


def test_the_oldest_sequence_is_overwritten_when_full():
    replay = _replay(capacity=2, length=2, overlap=0)
    for i in range(6):
        _push(replay, 0, i)
    assert len(replay) == 2
    # Slots hold sequences 2 ([4, 5]) and 1 ([2, 3]); sequence 0 ([0, 1]) is gone.
    assert replay.gather(np.array([0, 1])).obs[:, :, 0].T.tolist() == [[4, 5], [2, 3]]


def test_sampling_is_uniform_over_held_sequences_and_seeded():
    replay = _replay(capacity=4, length=2, overlap=0)
    for i in range(6):
        _push(replay, 0, i)
    a = replay.sample(500, np.random.default_rng(0))
    b = replay.sample(500, np.random.default_rng(0))
    assert np.array_equal(a.indices, b.indices) and np.array_equal(a.obs, b.obs)
    assert sorted(set(a.indices.tolist())) == [0, 1, 2]  # only the three complete sequences
    assert np.array_equal(a.obs[0, :, 0], 2 * a.indices)  # slot k holds timesteps 2k, 2k+1


def test_state_dict_restores_the_ring_and_the_open_sequences():
    a = _replay(capacity=3, length=4, overlap=2, num_envs=2)
    for i in range(7):
        _push(a, i % 2, i)
    arrays, meta = a.state_dict()
    b = _replay(capacity=3, length=4, overlap=2, num_envs=2)
    b.load_state_dict({k: v.copy() for k, v in arrays.items()}, meta)
    for i in range(7, 20):
        _push(a, i % 2, i)
        _push(b, i % 2, i)
    assert len(a) == len(b) == 3
    for name in ("obs", "state", "action", "first", "last"):
        assert np.array_equal(getattr(a.gather(np.arange(3)), name), getattr(b.gather(np.arange(3)), name))
    with pytest.raises(ZooError, match="other arguments"):
        _replay(capacity=3, length=5, overlap=2, num_envs=2).load_state_dict(arrays, meta)


def test_bad_arguments_are_refused():
    with pytest.raises(ZooError, match="overlap < length"):
        _replay(length=4, overlap=4)
    with pytest.raises(ZooError, match="holds no complete sequence"):
        _replay().sample(1, np.random.default_rng(0))
