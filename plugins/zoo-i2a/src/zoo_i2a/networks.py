"""I2A's networks (Weber et al. 2017, section 3 and appendix): the environment model and the rollout
encoder.

- :class:`EnvModel`: an action-conditioned model of the next frame and reward. The action is
  broadcast as one plane per action beside the frame; convolutions over the grid of cells give
  per-pixel logits over the palette's K colours ``[B, K, H, W]`` and a scalar reward ``[B]``.
- :class:`RolloutEncoder`: encodes one imagined trajectory, frames ``[B, τ, 3, H, W]`` and rewards
  ``[B, τ]``, by a small CNN per frame and an LSTM over the steps taken in reverse order (the last
  imagined step first, the first one last), so the encoding ends on what is nearest the present.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["EnvModel", "FrameCNN", "RolloutEncoder"]


class FrameCNN(nn.Module):
    """A small CNN over frames ``uint8 [B, 3, H, W]`` -> features ``[B, size]``: two 3x3 convolutions
    of stride 2; what the rollout policy, the rollout encoder and I2A's model-free path read frames with."""

    def __init__(self, frame_shape: tuple[int, int, int], channels: int = 16):
        super().__init__()
        c, height, width = frame_shape
        self.net = nn.Sequential(
            nn.Conv2d(c, channels, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
        )
        with torch.no_grad():
            self.size = int(self.net(torch.zeros(1, c, height, width)).shape[1])

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.net(frames.float() / 255.0)


class EnvModel(nn.Module):
    """``(frames uint8 [B, 3, H, W], actions int64 [B]) -> (logits [B, K, H, W], reward [B])``.

    It works at the level of cells: a ``cell``-sized convolution with stride ``cell`` reads the frame
    and the action planes into a grid of cells, three 3x3 convolutions there (each cell sees the
    cells up to three away, a push's reach and more), and a transposed convolution back to
    per-pixel logits; the reward head reads the grid.
    """

    def __init__(self, frame_shape: tuple[int, int, int], num_actions: int, num_colours: int, channels: int = 32,
                 cell: int = 4):
        super().__init__()
        c, height, width = frame_shape
        if height % cell or width % cell:
            raise ValueError(f"frames {height}x{width} are not a grid of {cell}-pixel cells")
        # Plain ints: they go into the artifact's JSON (a gymnasium space's n is a numpy integer).
        self.frame_shape, self.num_actions, self.num_colours, self.channels, self.cell = (
            tuple(map(int, frame_shape)), int(num_actions), int(num_colours), int(channels), int(cell))
        self.read = nn.Sequential(nn.Conv2d(c + num_actions, channels, cell, stride=cell), nn.ReLU())
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(),
        )
        self.frame_head = nn.ConvTranspose2d(channels, num_colours, cell, stride=cell)
        cells = (height // cell) * (width // cell)
        self.reward_head = nn.Sequential(nn.Flatten(), nn.Linear(channels * cells, 64), nn.ReLU(), nn.Linear(64, 1))

    def forward(self, frames: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = frames.float() / 255.0
        b, _, h, w = x.shape
        planes = torch.zeros(b, self.num_actions, h, w, device=x.device, dtype=x.dtype)
        planes[torch.arange(b, device=x.device), actions] = 1.0  # the action, broadcast over the frame
        grid = self.body(self.read(torch.cat([x, planes], dim=1)))
        return self.frame_head(grid), self.reward_head(grid).squeeze(-1)


class RolloutEncoder(nn.Module):
    """``(frames uint8 [B, τ, 3, H, W], rewards [B, τ]) -> [B, hidden]``: per-step features from a CNN
    and the reward, an LSTM run from step τ down to step 1; the encoding is its last hidden state."""

    def __init__(self, frame_shape: tuple[int, int, int], hidden: int = 64, channels: int = 16):
        super().__init__()
        self.cnn = FrameCNN(frame_shape, channels)
        self.lstm = nn.LSTM(self.cnn.size + 1, hidden, batch_first=True)
        self.hidden = hidden

    def step_features(self, frames: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        """``[B, τ, 3, H, W]``, ``[B, τ]`` -> ``[B, τ, F + 1]``: each step's CNN features and reward."""
        b, t = frames.shape[:2]
        features = self.cnn(frames.flatten(0, 1)).view(b, t, -1)
        return torch.cat([features, rewards.unsqueeze(-1).float()], dim=-1)

    def forward(self, frames: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
        steps = self.step_features(frames, rewards).flip(1)  # step τ first, step 1 last
        _, (h, _) = self.lstm(steps)
        return h[-1]
