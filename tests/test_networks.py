"""Networks built from one editable specification."""

from __future__ import annotations

import json

import pytest
import torch

from zoo_core.errors import PluginError, ZooError
from zoo_core.learning.network_spec import NetworkSpec, default_torso
from zoo_core.learning.networks import BUILTIN_MODULES, build_network


def _net(**kw):
    return build_network(NetworkSpec(**kw), BUILTIN_MODULES)


def test_default_torso_by_observation_shape():
    assert default_torso((4,)) == "mlp"
    assert default_torso((4, 84, 84)) == "nature_cnn"
    assert default_torso((7, 10, 10)) == "minatar_cnn"
    assert default_torso((3, 56, 56)) == "a3c_cnn"  # MiniGrid's pixel view; any other image
    with pytest.raises(ZooError, match="no default network for observations of shape"):
        default_torso((3, 8, 8))
    with pytest.raises(ZooError, match="no default network for observations of shape"):
        default_torso((2, 3))


def test_mlp_shapes_and_atoms():
    net = _net(obs_shape=(4,), num_actions=2, torso_args={"hidden": [16, 8]}, num_atoms=3)
    out = net(torch.zeros(5, 4))
    assert out.shape == (5, 2, 3)
    assert [p.shape for p in net.parameters()] == [(16, 4), (16,), (8, 16), (8,), (6, 8), (6,)]


def test_nature_cnn_on_uint8_frames():
    net = _net(obs_shape=(4, 84, 84), num_actions=6, torso="nature_cnn")
    out = net(torch.randint(0, 255, (2, 4, 84, 84), dtype=torch.uint8))
    assert out.shape == (2, 6, 1)
    # conv 32x4x8x8, 64x32x4x4, 64x64x3x3, fc 3136->512, head 512->6 (Mnih et al. 2015)
    assert net.torso.fc[0].in_features == 3136
    assert sum(p.numel() for p in net.parameters()) == 1_687_206


def test_minatar_cnn():
    net = _net(obs_shape=(4, 10, 10), num_actions=6, torso="minatar_cnn")
    assert net(torch.zeros(3, 4, 10, 10, dtype=torch.uint8)).shape == (3, 6, 1)
    assert net.torso.fc[0].in_features == 16 * 8 * 8


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_recurrent_torso_carries_state_and_resets_at_episode_starts(kind):
    torch.manual_seed(0)
    net = _net(obs_shape=(3,), num_actions=2, torso_args={"hidden": [8]}, recurrent=kind, recurrent_size=5)
    obs = torch.randn(6, 2, 3)  # [T, B, obs]
    first = torch.zeros(6, 2)
    out, state = net(obs, first)
    assert out.shape == (6, 2, 2, 1) and state[0].shape == (2, 5)
    # carrying the state across two halves equals one pass
    out_a, mid = net(obs[:3], first[:3])
    out_b, _ = net(obs[3:], first[3:], mid)
    assert torch.allclose(torch.cat([out_a, out_b]), out)
    # an episode start at t=3 makes the rest equal a fresh start from t=3
    first[3] = 1.0
    reset_out, _ = net(obs, first)
    fresh, _ = net(obs[3:], torch.zeros(3, 2))
    assert torch.allclose(reset_out[3:], fresh, atol=1e-6)
    assert not torch.allclose(reset_out[3:], out[3:])


def test_spec_json_round_trip_rebuilds_the_same_network():
    spec = NetworkSpec(obs_shape=(4,), num_actions=2, torso_args={"hidden": [8]}, num_atoms=1)
    again = NetworkSpec.from_json(json.loads(json.dumps(spec.to_json())))
    assert again == spec
    a, b = build_network(spec, BUILTIN_MODULES), build_network(again, BUILTIN_MODULES)
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 4)
    assert torch.equal(a(x), b(x))


def test_unknown_blocks_and_keys_are_refused():
    with pytest.raises(ZooError, match="unknown head 'dueling'; registered: linear"):
        _net(obs_shape=(4,), num_actions=2, head="dueling")
    with pytest.raises(ZooError, match="unknown keys: module_path"):
        NetworkSpec.from_json({"obs_shape": [4], "num_actions": 2, "module_path": "os.system"})
    spec = NetworkSpec(obs_shape=(4,), num_actions=2)
    with pytest.raises(PluginError, match="edits unknown network field 'activation'"):
        spec.claim("activation", "tanh", "x")
