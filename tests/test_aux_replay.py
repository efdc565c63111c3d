"""The core's seam for auxiliary tasks: the replay of recent sequences, the chunker that cuts a step
learner's experience into sequences, auxiliary heads in the network spec, and what networks give
auxiliary tasks to read."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from zoo_core.errors import PluginError
from zoo_core.learning.aux_replay import SequenceChunker, SequenceReplay, Sequences
from zoo_core.learning.network_spec import NetworkSpec
from zoo_core.learning.networks import BUILTIN_MODULES, build_network


def _sequences(start: int, batch: int, length: int = 3) -> Sequences:
    """``batch`` sequences whose every entry names the sequence (start + column)."""
    ids = np.arange(start, start + batch, dtype=np.float32)
    return Sequences(
        obs=np.broadcast_to(ids[None, :, None], (length + 1, batch, 2)).copy(),
        first=np.zeros((length + 1, batch), np.float32), a_tm1=np.zeros((length, batch), np.int64),
        r_t=np.broadcast_to(ids, (length, batch)).copy(), discount_t=np.full((length, batch), 0.9, np.float32),
        state=(ids[:, None].repeat(4, 1),), task=np.zeros(batch, np.int64),
    )


def test_the_replay_keeps_the_most_recent_sequences_and_their_states():
    replay = SequenceReplay(capacity=4, length=3)
    replay.add(_sequences(0, 3))
    replay.add(_sequences(3, 3))  # 0, 1 overwritten
    assert len(replay) == 4
    kept = sorted(float(x) for x in replay.arrays["r_t"][:, 0])
    assert kept == [2.0, 3.0, 4.0, 5.0]
    got = replay.sample(16, np.random.default_rng(0))
    assert got.obs.shape == (4, 16, 2) and got.r_t.shape == (3, 16) and got.state[0].shape == (16, 4)
    # Each sampled column is one stored sequence, its state included.
    assert np.all(got.obs[:, :, 0] == got.r_t[0]) and np.all(got.state[0][:, 0] == got.r_t[0])
    with pytest.raises(ValueError, match="holds sequences of 3 steps; got 5"):
        replay.add(_sequences(0, 1, length=5))


def test_the_replay_state_round_trips():
    replay = SequenceReplay(capacity=5, length=3)
    replay.add(_sequences(0, 3))
    arrays, meta = replay.state_dict()
    again = SequenceReplay(capacity=5, length=3)
    again.load_state_dict({k: v.copy() for k, v in arrays.items()}, meta)
    rng_a, rng_b = np.random.default_rng(1), np.random.default_rng(1)
    a, b = replay.sample(6, rng_a), again.sample(6, rng_b)
    assert all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("obs", "first", "a_tm1", "r_t", "task"))
    again.add(_sequences(10, 3))  # storage is full size again: the cursor wraps at 5
    assert len(again) == 5 and again.cursor == 1
    with pytest.raises(ValueError, match="holds 5 sequences of 3 steps; this one 4 of 3"):
        SequenceReplay(capacity=4, length=3).load_state_dict(arrays, meta)


def test_the_chunker_cuts_steps_into_sequences_that_join():
    chunker = SequenceChunker(length=2, gamma=0.9)
    obs = [np.full((2, 1), float(t)) for t in range(6)]  # 2 envs; observation t is t
    out = []
    for t in range(5):
        ended = np.array([t == 2, False])  # env 0's episode ends with step 2: obs 3 is a reset one
        seq = chunker.add(obs[t], np.array([t, t]), np.array([1.0, 2.0]), ended, obs[t + 1])
        out.append(seq)
    assert [s is None for s in out] == [True, False, True, False, True]
    first, second = out[1], out[3]
    assert first.obs[:, 0, 0].tolist() == [0.0, 1.0, 2.0] and first.a_tm1[:, 0].tolist() == [0, 1]
    assert first.first[:, 0].tolist() == [1.0, 0.0, 0.0]  # a run starts an episode
    # The second starts where the first ended; env 0's episode ended with step 2.
    assert second.obs[:, 0, 0].tolist() == [2.0, 3.0, 4.0]
    assert second.first[:, 0].tolist() == [0.0, 1.0, 0.0] and second.first[:, 1].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(second.discount_t[:, 0], [0.0, 0.9])
    arrays, meta = chunker.state_dict()
    again = SequenceChunker(length=2, gamma=0.9)
    again.load_state_dict(arrays, meta)
    a = chunker.add(obs[5], np.array([5, 5]), np.array([0.0, 0.0]), np.array([False, False]), obs[5])
    b = again.add(obs[5], np.array([5, 5]), np.array([0.0, 0.0]), np.array([False, False]), obs[5])
    assert np.array_equal(a.obs, b.obs) and a.obs[:, 0, 0].tolist() == [4.0, 5.0, 5.0]


class Probe(torch.nn.Module):
    """An aux head that records what it was built with."""

    def __init__(self, spec, torso_features, core_features, linear, *, width=1):
        super().__init__()
        self.sizes = (torso_features, core_features)
        self.out = torch.nn.Linear(core_features, width)


def test_aux_heads_are_built_from_the_spec_and_read_torso_and_core_features():
    spec = NetworkSpec(obs_shape=(4,), num_actions=2, torso_args={"hidden": [8]}, recurrent="lstm",
                       recurrent_size=6)
    spec.add_aux_head("probe", "probe", "plugin_a", width=3)
    spec.add_aux_head("probe", "probe", "plugin_a", width=3)  # the same plugin again: no clash
    with pytest.raises(PluginError, match="plugins 'plugin_a' and 'plugin_b' both add the auxiliary head 'probe'"):
        spec.add_aux_head("probe", "probe", "plugin_b")
    modules = {**BUILTIN_MODULES, "aux": {"probe": Probe}}
    net = build_network(NetworkSpec.from_json(spec.to_json()), modules)  # JSON round trip: saved agents
    assert net.aux["probe"].sizes == (8, 6) and net.aux["probe"].out.out_features == 3
    feats = net.aux_features(torch.zeros(5, 2, 4), torch.zeros(5, 2), None)
    assert feats.torso.shape == (5, 2, 8) and feats.core.shape == (5, 2, 6) and len(feats.state) == 2
    flat = build_network(NetworkSpec(obs_shape=(4,), num_actions=2, torso_args={"hidden": [8]}), BUILTIN_MODULES)
    feats = flat.aux_features(torch.zeros(5, 2, 4))
    assert feats.core is feats.torso and feats.state == ()


def test_tasks_asking_the_same_batch_share_one_sample_and_forward_pass():
    from zoo_core.learning.aux_inputs import AuxInputs

    calls = []

    class Net(torch.nn.Module):
        def aux_features(self, obs, first, state):
            calls.append(obs.shape[1])
            return ("features", obs.shape[1])

    replay = SequenceReplay(capacity=6, length=3)
    replay.add(_sequences(0, 6))
    inputs = AuxInputs(network=Net(), batch=_sequences(0, 1), outputs={}, replay=replay,
                       rng=np.random.default_rng(0), device=torch.device("cpu"), gamma=0.9, step=0)
    seq, features = inputs.replayed(4)
    again = inputs.replayed(4)
    assert again[0] is seq and again[1] is features and calls == [4]  # one draw, one forward pass
    assert seq.obs.shape == (4, 4, 2) and isinstance(seq.obs, torch.Tensor)
    assert inputs.replayed(2)[1] == ("features", 2) and calls == [4, 2]  # another size: its own draw
    empty = AuxInputs(network=Net(), batch=_sequences(0, 1), outputs={}, replay=SequenceReplay(2, 3),
                      rng=np.random.default_rng(0), device=torch.device("cpu"), gamma=0.9, step=0)
    with pytest.raises(ValueError, match="replay is empty"):
        empty.replayed(4)
