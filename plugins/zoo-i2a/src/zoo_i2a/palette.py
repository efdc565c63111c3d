"""Frames as cell kinds and back: a Sokoban frame uses one colour per cell kind, so the environment
model predicts, per pixel, which of the palette's colours comes next (a classification, not a
regression on RGB values). Pure numpy/torch."""

from __future__ import annotations

import torch

from zoo_core.api import ZooError
from zoo_i2a.env import COLOURS

__all__ = ["PALETTE", "cells_frame", "cells_one_hot", "class_frames", "frame_cells", "frame_classes"]

PALETTE = torch.tensor(list(COLOURS.values()), dtype=torch.uint8)
"""``[K, 3]`` the colours of the K cell kinds, in :data:`zoo_i2a.env.COLOURS`' order."""


def frame_classes(frames: torch.Tensor, palette: torch.Tensor = PALETTE) -> torch.Tensor:
    """``uint8 [B, 3, H, W]`` frames -> ``int64 [B, H, W]``, each pixel's index in ``palette [K, 3]``.

    :raises ZooError: a pixel whose colour is not in the palette (not a Sokoban frame).
    """
    match = (frames.unsqueeze(1) == palette.to(frames.device).view(1, -1, 3, 1, 1)).all(dim=2)  # [B, K, H, W]
    if not bool(match.any(dim=1).all()):
        raise ZooError("a frame has a colour outside the Sokoban palette: I2A's networks read Sokoban frames only")
    return match.to(torch.int64).argmax(dim=1)


def class_frames(classes: torch.Tensor, palette: torch.Tensor = PALETTE) -> torch.Tensor:
    """``int64 [B, H, W]`` palette indices -> ``uint8 [B, 3, H, W]`` frames."""
    return palette.to(classes.device)[classes].permute(0, 3, 1, 2).contiguous()



def frame_cells(frames: torch.Tensor, cell: int) -> torch.Tensor:
    """``uint8 [B, 3, H, W]`` frames of ``cell``-pixel cells -> ``int64 [B, H / cell, W / cell]``, each
    cell's index in the palette (a cell is one colour: its corner pixel says which).

    :raises ZooError: a cell whose colour is not in the palette.
    """
    return frame_classes(frames[:, :, ::cell, ::cell])


def cells_frame(cells: torch.Tensor, cell: int) -> torch.Tensor:
    """``int64 [B, h, w]`` palette indices of cells -> ``uint8 [B, 3, h * cell, w * cell]`` frames."""
    return class_frames(cells.repeat_interleave(cell, dim=1).repeat_interleave(cell, dim=2))


def cells_one_hot(cells: torch.Tensor, num_colours: int = len(PALETTE)) -> torch.Tensor:
    """``int64 [B, h, w]`` -> ``float [B, K, h, w]``: one plane per cell kind, what the networks read."""
    return torch.nn.functional.one_hot(cells, num_colours).permute(0, 3, 1, 2).float()
