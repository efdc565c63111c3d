"""The predictron's network: shapes, weight sharing, the (r, γ) variant, and that it can fit labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from zoo_predictron import lambda_preturn, maze_connectivity, preturns, random_mazes
from zoo_predictron.model import ConvNetBaseline, Predictron


def test_outputs_have_the_preturn_functions_shapes():
    torch.manual_seed(0)
    net = Predictron((1, 6, 6), predictions=6, k=3)
    out = net(torch.zeros(4, 1, 6, 6))
    assert out.r.shape == out.gamma.shape == out.lambda_.shape == (4, 3, 6) and out.v.shape == (4, 4, 6)
    assert preturns(out.r, out.gamma, out.v).shape == (4, 4, 6)
    assert ((out.gamma > 0) & (out.gamma < 1)).all() and ((out.lambda_ > 0) & (out.lambda_ < 1)).all()


def test_shared_weights_are_one_core_and_unshared_are_k():
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    shared, unshared = Predictron((1, 5, 5), 5, k=4), Predictron((1, 5, 5), 5, k=4, shared=False)
    one_core = sum(p.numel() for p in shared.cores[0].parameters())
    assert len(shared.cores) == 1 and len(unshared.cores) == 4
    assert count(unshared) - count(shared) == 3 * one_core
    with pytest.raises(ValueError, match="at least one core step"):
        Predictron((1, 5, 5), 5, k=0)


def test_without_lambda_the_lambda_preturn_is_the_k_step_preturn():
    torch.manual_seed(1)
    net = Predictron((1, 5, 5), 5, k=2, lambda_=False)
    out = net(torch.rand(3, 1, 5, 5))
    assert torch.equal(out.lambda_, torch.ones_like(out.lambda_))
    g = preturns(out.r, out.gamma, out.v)
    assert torch.allclose(lambda_preturn(out.r, out.gamma, out.lambda_, out.v), g[:, -1])


def test_it_fits_the_connectivity_of_a_few_mazes():
    torch.manual_seed(0)
    walls = random_mazes(np.random.default_rng(0), 16, size=8)
    obs = torch.from_numpy(walls[:, None].astype(np.float32))
    y = torch.from_numpy(maze_connectivity(walls))
    net = Predictron((1, 8, 8), 8, k=2, channels=16, hidden=16)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)

    def mse():
        out = net(obs)
        return ((lambda_preturn(out.r, out.gamma, out.lambda_, out.v) - y) ** 2).mean()

    first = mse().item()
    for _ in range(150):
        opt.zero_grad()
        loss = mse()
        loss.backward()
        opt.step()
    assert mse().item() < 0.25 * first


@pytest.mark.parametrize("shared", [True, False])
def test_the_baselines_have_the_predictron_s_depth_and_a_residual_option(shared):
    torch.manual_seed(2)
    plain = ConvNetBaseline((1, 6, 6), 6, k=3, shared=shared, channels=4, hidden=8)
    predictron = Predictron((1, 6, 6), 6, k=3, shared=shared, channels=4, hidden=8)
    convs = [m for m in plain.blocks.modules() if isinstance(m, torch.nn.Conv2d)]
    core_convs = [m for core in predictron.cores for m in [*core.hidden.modules(), core.next_state]
                  if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == len(core_convs) == (3 if shared else 9)  # three per step, as a core step has
    obs = torch.rand(2, 1, 6, 6)
    assert plain(obs).shape == (2, 6)
    # With every block silenced, a residual network passes the representation straight to the value head.
    skip = ConvNetBaseline((1, 6, 6), 6, k=3, shared=shared, channels=4, hidden=8, skip=True)
    for m in skip.blocks.modules():
        if isinstance(m, torch.nn.Conv2d):
            torch.nn.init.zeros_(m.weight)
            torch.nn.init.zeros_(m.bias)
    assert torch.allclose(skip(obs), skip.value(skip.representation(obs)))
