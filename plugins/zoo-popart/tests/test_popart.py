"""zoo-popart: ART and POP by hand, output preservation across scales, multi-task isolation,
gradients, safetensors round trip, bad input, a learning demo, and the config section."""

from __future__ import annotations

import math

import pytest
import torch
from safetensors.torch import load_file, save_file
from torch import nn
from zoo_popart import (
    PopArt,
    art_update,
    normalize,
    normalized_value_loss,
    pop_rescale,
    sigma_from_moments,
    unnormalize,
)
from zoo_popart.plugin import PopArtConfig

from zoo_core.errors import ZooError
from zoo_core.host.config import resolve_config
from zoo_core.host.manager import build_catalog, installed_plugins, make_manager

F64 = torch.float64


def _close(a, b, atol=1e-12):
    torch.testing.assert_close(a, torch.as_tensor(b, dtype=a.dtype), rtol=0, atol=atol)


def _random_popart(in_features=5, out_features=1, beta=3e-4, dtype=F64, seed=0):
    """A PopArt whose W and b are far from their initial values (normal, not Kaiming-small)."""
    torch.manual_seed(seed)
    layer = PopArt(in_features, out_features, beta=beta).to(dtype)
    with torch.no_grad():
        layer.linear.weight.normal_()
        layer.linear.bias.normal_()
    return layer


# --- ART, POP and the loss by hand --------------------------------------------------------------


def test_art_hand_computed_one_output():
    # targets [1, 3]: mean 2, mean of squares (1 + 9) / 2 = 5; beta 0.5 halfway from (0, 1).
    mu, nu = art_update(torch.zeros(1, dtype=F64), torch.ones(1, dtype=F64), torch.tensor([1.0, 3.0]), 0.5)
    _close(mu, [1.0])  # 0.5 * 0 + 0.5 * 2
    _close(nu, [3.0])  # 0.5 * 1 + 0.5 * 5
    _close(sigma_from_moments(mu, nu), [math.sqrt(2.0)])  # sqrt(3 - 1)


def test_art_hand_computed_per_output():
    targets = torch.tensor([[1.0, 10.0], [3.0, 30.0]], dtype=F64)  # [B=2, O=2]
    mu, nu = art_update(torch.tensor([0.0, 1.0], dtype=F64), torch.tensor([1.0, 2.0], dtype=F64), targets, 0.1)
    # output 0: mean 2, mean sq 5  -> mu 0.9*0 + 0.2 = 0.2,  nu 0.9*1 + 0.5  = 1.4
    # output 1: mean 20, mean sq 500 -> mu 0.9*1 + 2 = 2.9, nu 0.9*2 + 50 = 51.8
    _close(mu, [0.2, 2.9])
    _close(nu, [1.4, 51.8])


def test_art_beta_extremes():
    mu, nu = torch.tensor([4.0]), torch.tensor([25.0])
    same = art_update(mu, nu, torch.tensor([100.0]), 0.0)
    assert torch.equal(same[0], mu) and torch.equal(same[1], nu)
    mu1, nu1 = art_update(mu, nu, torch.tensor([1.0, 3.0]), 1.0)
    _close(mu1, [2.0])
    _close(nu1, [5.0])


def test_sigma_is_floored():
    # nu - mu^2 = 8 - 9 < 0 (as rounding can make it) and exactly 0: both give min_sigma.
    _close(sigma_from_moments(torch.tensor([3.0, 2.0]), torch.tensor([8.0, 4.0])), [1e-4, 1e-4], atol=1e-9)
    _close(sigma_from_moments(torch.tensor([0.0]), torch.tensor([4.0]), min_sigma=0.5), [2.0])
    constant = PopArt(2, beta=1.0)
    constant.update_stats(torch.full((8,), 7.0))
    assert constant.sigma.item() == pytest.approx(1e-4, rel=1e-3)


def test_pop_hand_computed():
    w, b = torch.tensor([[2.0, 4.0]]), torch.tensor([1.0])
    w_new, b_new = pop_rescale(w, b, torch.tensor([0.0]), torch.tensor([1.0]), torch.tensor([1.0]), torch.tensor([2.0]))
    _close(w_new, [[1.0, 2.0]])  # sigma / sigma' = 1/2
    _close(b_new, [0.0])  # (1 * 1 + 0 - 1) / 2
    x = torch.tensor([1.0, 1.0])
    _close(1.0 * (w @ x + b) + 0.0, [7.0])  # 2 + 4 + 1
    _close(2.0 * (w_new @ x + b_new) + 1.0, [7.0])  # 2 * (1 + 2 + 0) + 1


def test_pop_leaves_rows_with_unchanged_statistics_bit_for_bit():
    # The formula alone would not: (sigma * b) / sigma rounds away from b for ~10% of float32s.
    torch.manual_seed(0)
    w, b = torch.randn(64, 3), torch.randn(64)
    mu, sigma = torch.randn(64), torch.rand(64) * 10 + 0.1
    mu_new = mu.clone()
    mu_new[0] += 1.0  # only row 0's shift moves; its scale stays, so its W row stays too
    w_new, b_new = pop_rescale(w, b, mu, sigma, mu_new, sigma)
    assert torch.equal(w_new, w)
    assert torch.equal(b_new[1:], b[1:])
    _close(b_new[0], b[0] - 1.0 / sigma[0], atol=1e-6)  # (sigma b + mu - (mu + 1)) / sigma


def test_normalize_and_unnormalize_are_inverse():
    targets, mu, sigma = torch.tensor([[3.0, -2.0]]), torch.tensor([1.0, 2.0]), torch.tensor([2.0, 4.0])
    _close(normalize(targets, mu, sigma), [[1.0, -1.0]])
    _close(unnormalize(normalize(targets, mu, sigma), mu, sigma), targets)


def test_normalized_value_loss_hand_computed():
    # normalised targets (3-1)/2 = 1 and (1-1)/2 = 0; squared errors 0.25 and 1; mean 0.625.
    loss = normalized_value_loss(torch.tensor([0.5, -1.0]), torch.tensor([3.0, 1.0]), torch.tensor([1.0]),
                                 torch.tensor([2.0]))
    _close(loss, 0.625)
    # [B=2, O=2]: normalised targets [[1, 1], [0, 1]]; row errors 1 + 1 = 2 and 0 + 1 = 1; mean 1.5.
    loss = normalized_value_loss(torch.zeros(2, 2), torch.tensor([[1.0, 4.0], [0.0, 4.0]]),
                                 torch.tensor([0.0, 2.0]), torch.tensor([1.0, 2.0]))
    _close(loss, 1.5)


# --- the layer ----------------------------------------------------------------------------------


def test_untrained_popart_is_the_identity_on_scale():
    layer = PopArt(4, 3)
    assert torch.equal(layer.mu, torch.zeros(3)) and torch.equal(layer.nu, torch.ones(3))
    assert torch.equal(layer.sigma, torch.ones(3))
    normalized, unnormalized = layer(torch.randn(6, 4))
    assert normalized.shape == unnormalized.shape == (6, 3)
    assert torch.equal(normalized, unnormalized)


def test_forward_is_sigma_times_normalized_plus_mu():
    layer = _random_popart(3, 2, beta=0.5)
    layer.update_stats(torch.tensor([[1.0, 100.0], [5.0, 300.0]], dtype=F64))
    x = torch.randn(4, 3, dtype=F64)
    normalized, unnormalized = layer(x)
    _close(normalized, x @ layer.linear.weight.T + layer.linear.bias)
    _close(unnormalized, layer.sigma * normalized + layer.mu, atol=1e-9)


@pytest.mark.parametrize("beta", [3e-4, 0.1, 1.0])
def test_pop_preserves_outputs_across_wildly_different_scales_float64(beta):
    # The check runs in float64 with rtol 1e-5 (relative to each output, no atol): every
    # update_stats call, and the drift from the very first outputs after 200 calls.
    layer = _random_popart(5, 3, beta=beta)
    x = torch.randn(16, 5, dtype=F64)
    first = layer(x)[1].detach()
    gen = torch.Generator().manual_seed(1)
    scales = 10.0 ** torch.arange(-3, 5, dtype=F64)  # 1e-3 ... 1e4
    for _ in range(200):
        scale = scales[torch.randint(len(scales), (1,), generator=gen)]
        shift = 3 * torch.randn(3, generator=gen, dtype=F64)
        targets = scale * (torch.randn(32, 3, generator=gen, dtype=F64) + shift)  # [B, O]
        before = layer(x)[1].detach()
        layer.update_stats(targets)
        torch.testing.assert_close(layer(x)[1], before, rtol=1e-5, atol=0)
    torch.testing.assert_close(layer(x)[1], first, rtol=1e-5, atol=0)
    assert layer.sigma.min() > 1e-3  # the statistics did move far from sigma = 1


@pytest.mark.parametrize("beta", [3e-4, 0.1])
def test_pop_preserves_outputs_float32_to_the_statistics_precision(beta):
    # In float32, sigma * n + mu rounds at the scale of |mu| + sigma, not of the output itself
    # (outputs of size 1 under statistics of size 1e4 keep ~1e-3 absolute error). So the bound
    # is 1e-5 times max(|mu| + sigma) before and after the update.
    layer = _random_popart(5, 3, beta=beta, dtype=torch.float32)
    x = torch.randn(16, 5)
    gen = torch.Generator().manual_seed(2)
    for i in range(200):
        scale = 10.0 ** (i % 8 - 3)
        targets = scale * (torch.randn(32, 3, generator=gen) + 3 * torch.randn(3, generator=gen))
        before, scale_before = layer(x)[1].detach(), (layer.mu.abs() + layer.sigma).clone()
        layer.update_stats(targets)
        bound = 1e-5 * torch.maximum(scale_before, layer.mu.abs() + layer.sigma)
        assert ((layer(x)[1].detach() - before).abs() <= bound).all()


def test_targets_of_shape_b_for_one_output():
    a, b = _random_popart(beta=0.2), _random_popart(beta=0.2)
    targets = torch.tensor([2.0, -1.0, 4.0], dtype=F64)
    a.update_stats(targets)
    b.update_stats(targets[:, None])
    assert torch.equal(a.mu, b.mu) and torch.equal(a.nu, b.nu)
    assert torch.equal(a.linear.weight, b.linear.weight)


# --- multi-task ---------------------------------------------------------------------------------


def test_multi_task_rows_update_only_their_task():
    layer = _random_popart(3, 4, beta=0.25)
    layer.update_stats(torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=F64))  # all tasks off mu=0, nu=1
    x = torch.randn(5, 3, dtype=F64)
    before = layer(x)[1].detach()
    mu, nu = layer.mu.clone(), layer.nu.clone()
    w, b = layer.linear.weight.detach().clone(), layer.linear.bias.detach().clone()

    layer.update_stats(torch.tensor([5.0, 7.0, -1.0], dtype=F64), task=torch.tensor([2, 2, 0]))

    for k in (1, 3):  # untouched, bit for bit
        assert layer.mu[k] == mu[k] and layer.nu[k] == nu[k]
        assert torch.equal(layer.linear.weight[k], w[k]) and layer.linear.bias[k] == b[k]
    # task 2: one step of 0.25 towards its rows' mean 6 and mean square (25 + 49) / 2 = 37
    _close(layer.mu[2], 0.75 * mu[2] + 0.25 * 6.0)
    _close(layer.nu[2], 0.75 * nu[2] + 0.25 * 37.0)
    _close(layer.mu[0], 0.75 * mu[0] + 0.25 * -1.0)
    _close(layer.nu[0], 0.75 * nu[0] + 0.25 * 1.0)
    assert not torch.equal(layer.linear.weight[2], w[2])
    torch.testing.assert_close(layer(x)[1], before, rtol=1e-10, atol=0)  # every task preserved


def test_multi_task_art_takes_one_step_per_task_whatever_its_row_count():
    mu, nu = torch.zeros(2, dtype=F64), torch.ones(2, dtype=F64)
    mu1, _ = art_update(mu, nu, torch.tensor([4.0, 4.0, 4.0, 8.0], dtype=F64), 0.5, task=torch.tensor([0, 0, 0, 1]))
    _close(mu1, [2.0, 4.0])


# --- gradients and checkpoints ------------------------------------------------------------------


def test_gradients_flow_through_w_and_b_only():
    layer = PopArt(3, 2, beta=0.1)
    layer.update_stats(torch.randn(8, 2) * 10)
    assert {n for n, _ in layer.named_parameters()} == {"linear.weight", "linear.bias"}
    assert {n for n, _ in layer.named_buffers()} == {"mu", "nu"}
    assert not layer.mu.requires_grad and not layer.nu.requires_grad

    x = torch.randn(4, 3, requires_grad=True)
    targets = (torch.randn(4, 2) * 10).requires_grad_()
    normalized, unnormalized = layer(x)
    (normalized_value_loss(normalized, targets, layer.mu, layer.sigma) + unnormalized.sum()).backward()
    assert layer.linear.weight.grad is not None and layer.linear.bias.grad is not None
    assert layer.mu.grad is None and layer.nu.grad is None
    assert targets.grad is None  # targets are constants of the loss

    layer.update_stats(targets)  # a target with grad must not build a graph into the statistics
    assert layer.mu.grad_fn is None and layer.linear.weight.grad_fn is None


def test_safetensors_round_trip_restores_identical_outputs(tmp_path):
    layer = _random_popart(4, 3, beta=0.3, dtype=torch.float32)
    for scale in (1e-2, 1e3, 10.0):
        layer.update_stats(scale * torch.randn(16, 3))
    path = tmp_path / "popart.safetensors"
    save_file(layer.state_dict(), str(path))

    restored = PopArt(4, 3, beta=0.3)
    restored.load_state_dict(load_file(str(path)))
    assert torch.equal(restored.mu, layer.mu) and torch.equal(restored.nu, layer.nu)
    x = torch.randn(7, 4)
    for got, want in zip(restored(x), layer(x), strict=True):
        assert torch.equal(got, want)


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("beta", [-0.1, 1.5, float("nan")])
def test_bad_beta_raises(beta):
    with pytest.raises(ValueError, match="beta"):
        PopArt(3, beta=beta)
    with pytest.raises(ValueError, match="beta"):
        art_update(torch.zeros(1), torch.ones(1), torch.zeros(2), beta)


def test_bad_sizes_and_min_sigma_raise():
    with pytest.raises(ValueError, match="positive sizes"):
        PopArt(0, 1)
    with pytest.raises(ValueError, match="min_sigma"):
        PopArt(3, min_sigma=0.0)


@pytest.mark.parametrize(
    ("out_features", "targets", "task", "match"),
    [
        (2, torch.zeros(5), None, r"\[B, 2\]"),  # [B] only when out_features = 1
        (2, torch.zeros(5, 3), None, r"\[B, 2\]"),
        (1, torch.zeros(5, 1, 1), None, r"\[B, 1\] or \[B\]"),
        (2, torch.zeros(0, 2), None, "empty"),
        (3, torch.zeros(4, 3), torch.zeros(4, dtype=torch.int64), "both be \\[B\\]"),
        (3, torch.zeros(4), torch.zeros(3, dtype=torch.int64), "both be \\[B\\]"),
        (3, torch.zeros(4), torch.zeros(4), "integer"),
        (3, torch.zeros(2), torch.tensor([0, 3]), r"\[0, 3\)"),
        (3, torch.zeros(2), torch.tensor([-1, 0]), r"\[0, 3\)"),
    ],
)
def test_bad_targets_raise(out_features, targets, task, match):
    layer = PopArt(2, out_features)
    state = {k: v.clone() for k, v in layer.state_dict().items()}
    with pytest.raises(ValueError, match=match):
        layer.update_stats(targets, task=task)
    assert all(torch.equal(v, state[k]) for k, v in layer.state_dict().items())  # nothing half-done


def test_loss_shape_mismatch_raises():
    with pytest.raises(ValueError, match="one shape"):
        normalized_value_loss(torch.zeros(4, 1), torch.zeros(4), torch.zeros(1), torch.ones(1))


# --- learning -----------------------------------------------------------------------------------


def test_linear_popart_sgd_moves_the_function_exactly_as_plain_sgd():
    # With no layer below, SGD on the normalised loss changes sigma * W the way plain SGD on the
    # raw squared error changes W: the gradient is 1/sigma of plain's and sigma scales it back.
    # PopArt's benefit is for the layers below it (gradients 1/sigma^2 of plain's), as the demo shows.
    gen = torch.Generator().manual_seed(0)
    popart = _random_popart(3, 1, beta=0.1)
    plain = nn.Linear(3, 1).double()
    with torch.no_grad():
        plain.weight.copy_(popart.linear.weight)
        plain.bias.copy_(popart.linear.bias)
    opt_a = torch.optim.SGD(popart.parameters(), lr=0.01)
    opt_b = torch.optim.SGD(plain.parameters(), lr=0.01)
    for _ in range(50):
        x = torch.randn(8, 3, generator=gen, dtype=F64)
        y = 100 * torch.randn(8, generator=gen, dtype=F64) + 50
        popart.update_stats(y)
        loss_a = normalized_value_loss(popart(x)[0][:, 0], y, popart.mu, popart.sigma)
        loss_b = ((plain(x)[:, 0] - y) ** 2).mean()
        for opt, loss in ((opt_a, loss_a), (opt_b, loss_b)):
            opt.zero_grad()
            loss.backward()
            opt.step()
    x = torch.randn(5, 3, generator=gen, dtype=F64)
    torch.testing.assert_close(popart(x)[1], plain(x), rtol=1e-9, atol=1e-9)


def _fit_through_a_scale_jump(use_popart: bool, steps: int = 150) -> list[float]:
    """A ReLU layer then a value head fit ``y = scale * (x . w + 1)``, scale 1 then 1000.

    Returns each step's mean squared error on the raw scale divided by ``scale**2``.
    """
    gen = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    torso = nn.Sequential(nn.Linear(4, 16), nn.ReLU())
    head = PopArt(16, 1) if use_popart else nn.Linear(16, 1)  # PopArt at its default beta 3e-4
    opt = torch.optim.SGD([*torso.parameters(), *head.parameters()], lr=0.03)
    w_true = torch.randn(4, generator=gen)
    errors = []
    for t in range(2 * steps):
        scale = 1.0 if t < steps else 1000.0
        x = torch.randn(32, 4, generator=gen)
        y = scale * (x @ w_true + 1.0)  # [B]
        if use_popart:
            head.update_stats(y)  # ART then POP before the step, as in the papers
            normalized, unnormalized = head(torso(x))
            loss, pred = normalized_value_loss(normalized[:, 0], y, head.mu, head.sigma), unnormalized[:, 0]
        else:
            pred = head(torso(x))[:, 0]
            loss = ((pred - y) ** 2).mean()
        errors.append(((pred.detach() - y) ** 2).mean().item() / scale**2)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return errors


def test_popart_recovers_from_a_1000x_scale_jump_where_plain_sgd_diverges():
    popart = torch.tensor(_fit_through_a_scale_jump(True))
    plain = torch.tensor(_fit_through_a_scale_jump(False)).nan_to_num(nan=math.inf)  # it overflows
    steps = len(popart) // 2
    before_a, before_b = popart[steps - 50:steps].mean(), plain[steps - 50:steps].mean()
    assert before_a < 0.2 and before_b < 0.2 and 0.5 < before_a / before_b < 2  # same footing
    after_a = popart[-50:].mean()  # 100 to 150 steps after the jump
    after_b = plain[steps + 50:].mean()
    assert after_a < 2 * before_a  # PopArt is back to where it was before the jump
    assert after_b > 1e6 * after_a  # plain SGD's gradients grew 1000x and blew the ReLU layer up


# --- the plugin ---------------------------------------------------------------------------------


def test_plugin_registers_the_popart_config_section():
    assert "popart" in installed_plugins()
    classes = build_catalog(make_manager(["popart"])).config_classes
    assert classes["popart"] is PopArtConfig
    assert PopArtConfig() == PopArtConfig(beta=3e-4, min_sigma=1e-4)
    config = resolve_config({"popart": PopArtConfig}, [], ["popart.beta=0.01", "popart.min_sigma=0.5"])
    assert config["popart"].beta == 0.01 and config["popart"].min_sigma == 0.5
    for bad in ("popart.beta=1.5", "popart.beta=-1", "popart.min_sigma=0", "popart.num_tasks=2"):
        with pytest.raises(ZooError, match="popart"):
            resolve_config({"popart": PopArtConfig}, [], [bad])
