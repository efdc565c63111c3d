"""I2A's networks (Weber et al. 2017, section 3 and appendix), all at the level of cells.

A Sokoban frame is a grid of cells of one colour each (:mod:`zoo_i2a.palette`), so every network
reads the grid of cell kinds, one plane per kind ``float [B, K, h, w]``, not the pixels: the same
information, sixteen times fewer positions at 4 pixels a cell (what makes imagination affordable on
two CPU cores). Frames are converted once, exactly, where they come in.

- :class:`CellCNN`: two 3x3 convolutions over the grid; what the rollout policy, the rollout encoder
  and the model-free path read a state with.
- :class:`EnvModel`: an action-conditioned model of the next state and reward. The action is
  broadcast as one plane per action beside the cell planes; convolutions over the grid give logits
  over the K cell kinds of every cell of the next frame ``[B, K, h, w]`` and a scalar reward ``[B]``.
- :class:`RolloutEncoder`: encodes one imagined trajectory, states ``[B, τ, K, h, w]`` and rewards
  ``[B, τ]``, by a CellCNN per step and an LSTM over the steps taken in reverse order (the last
  imagined step first, the first one last), so the encoding ends on what is nearest the present.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo_i2a.palette import cells_one_hot

__all__ = ["CellCNN", "EnvModel", "RolloutEncoder", "grid_of"]


def grid_of(frame_shape: tuple[int, ...], cell: int) -> tuple[int, int]:
    """The ``(h, w)`` cells of frames ``[3, H, W]`` of ``cell``-pixel cells.

    :raises ValueError: frames that are not a grid of such cells.
    """
    _, height, width = frame_shape
    if height % cell or width % cell:
        raise ValueError(f"frames {height}x{width} are not a grid of {cell}-pixel cells")
    return height // cell, width // cell


class CellCNN(nn.Module):
    """Cell planes ``float [B, K, h, w]`` -> features ``[B, size]``: two 3x3 convolutions (padding 1)
    over the grid, the second of ``stride`` (2 halves the grid: the rollout encoder's and policy's,
    which run on every imagined step, keep a quarter of the features), flattened."""

    def __init__(self, planes: int, grid: tuple[int, int], channels: int = 16, stride: int = 1):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(planes, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=stride, padding=1), nn.ReLU(), nn.Flatten(),
        )
        self.size = channels * (-(-grid[0] // stride)) * (-(-grid[1] // stride))

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        return self.net(planes)


class EnvModel(nn.Module):
    """``(cells int64 [B, h, w], actions int64 [B]) -> (logits [B, K, h, w], reward [B])``.

    Four 3x3 convolutions over the cell planes and the action planes (each cell sees the cells up to
    four away: a push's reach and more), a 1x1 convolution to the K kinds; the reward head reads the
    last convolution's grid. ``frame_shape`` and ``cell`` say which frames it models.
    """

    def __init__(self, frame_shape: tuple[int, int, int], num_actions: int, num_colours: int, channels: int = 32,
                 cell: int = 4):
        super().__init__()
        # Plain ints: they go into the artifact's JSON (a gymnasium space's n is a numpy integer).
        self.frame_shape, self.num_actions, self.num_colours, self.channels, self.cell = (
            tuple(map(int, frame_shape)), int(num_actions), int(num_colours), int(channels), int(cell))
        self.grid = grid_of(self.frame_shape, self.cell)
        self.body = nn.Sequential(
            nn.Conv2d(num_colours + num_actions, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
        )
        self.cell_head = nn.Conv2d(channels, num_colours, 1)
        cells = self.grid[0] * self.grid[1]
        self.reward_head = nn.Sequential(nn.Flatten(), nn.Linear(channels * cells, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, cells: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = cells_one_hot(cells, self.num_colours)
        b, _, h, w = x.shape
        planes = torch.zeros(b, self.num_actions, h, w, device=x.device, dtype=x.dtype)
        planes[torch.arange(b, device=x.device), actions] = 1.0  # the action, broadcast over the grid
        grid = self.body(torch.cat([x, planes], dim=1))
        return self.cell_head(grid), self.reward_head(grid).squeeze(-1)


class RolloutEncoder(nn.Module):
    """``(states float [B, τ, K, h, w], rewards [B, τ]) -> [B, hidden]``: per-step features from a
    CellCNN and the reward, an LSTM run from step τ down to step 1; the encoding is its last hidden state."""

    def __init__(self, planes: int, grid: tuple[int, int], hidden: int = 64, channels: int = 16):
        super().__init__()
        self.cnn = CellCNN(planes, grid, channels, stride=2)
        self.lstm = nn.LSTM(self.cnn.size + 1, hidden, batch_first=True)
        self.hidden = hidden

    def step_features(self, states: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """``[B, τ, K, h, w]``, ``[B, τ]`` -> ``[B, τ, F + 1]``: each step's CNN features and reward."""
        b, t = states.shape[:2]
        features = self.cnn(states.flatten(0, 1)).view(b, t, -1)
        return torch.cat([features, rewards.unsqueeze(-1).float()], dim=-1)

    def forward(self, states: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        steps = self.step_features(states, rewards).flip(1)  # step τ first, step 1 last
        _, (h, _) = self.lstm(steps)
        return h[-1]
