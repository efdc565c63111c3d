"""Write rendered frames to an MP4 (H.264, yuv420p) that plays in browsers and players.

yuv420p subsamples chroma by 2 in both directions, so libx264 needs even frame sizes; tiny
frames (MinAtar's 10x10) would also be unwatchable and are mangled by chroma subsampling, so
they are upscaled with nearest-neighbour first, keeping pixels crisp.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo_core.errors import ZooError
from zoo_core.running.atomic import atomic_path

__all__ = ["MIN_VIDEO_SIDE", "write_video"]

# Frames whose longer side is below this are upscaled by an integer factor to reach it.
MIN_VIDEO_SIDE = 160


def _ffmpeg_writer(path: Path, fps: int) -> Any:  # an imageio plugin Writer; untyped upstream
    """Open an imageio-ffmpeg writer for `path`, or raise ZooError if the backend is missing."""
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()  # raises if no ffmpeg binary can be found
    except (ImportError, RuntimeError) as e:
        raise ZooError(
            f"video: writing MP4 needs imageio with the ffmpeg backend ({e}); "
            "install it with: pip install imageio imageio-ffmpeg"
        ) from None
    return imageio.get_writer(
        str(path),
        format="FFMPEG",
        mode="I",
        fps=fps,
        codec="libx264",
        pixelformat="yuv420p",
        # We make sizes even ourselves; imageio's default (16) would resize and warn.
        macro_block_size=1,
        ffmpeg_log_level="error",
    )


def _to_rgb_uint8(frame: np.ndarray, index: int) -> np.ndarray:
    """Return `frame` as `[H, W, 3]` uint8.

    Accepts `[H, W]` (grayscale), `[H, W, 1]`, `[H, W, 3]` and `[H, W, 4]` (alpha dropped);
    uint8, bool, or floats in [0, 1] (scaled by 255).
    """
    f = np.asarray(frame)
    if f.ndim == 2:
        f = f[:, :, None]
    if f.ndim != 3 or f.shape[2] not in (1, 3, 4) or f.shape[0] == 0 or f.shape[1] == 0:
        raise ZooError(
            f"video: frame {index} has shape {f.shape}; expected [H, W], [H, W, 1], "
            "[H, W, 3] or [H, W, 4]"
        )
    if f.shape[2] == 1:
        f = np.repeat(f, 3, axis=2)
    elif f.shape[2] == 4:
        f = f[:, :, :3]
    if f.dtype == np.bool_:
        f = f.astype(np.uint8) * 255
    elif np.issubdtype(f.dtype, np.floating):
        f = (np.clip(f, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    elif f.dtype != np.uint8:
        raise ZooError(
            f"video: frame {index} has dtype {f.dtype}; expected uint8, bool or float in [0, 1]"
        )
    return f


def _prepare(frame: np.ndarray, scale: int) -> np.ndarray:
    """Upscale `[H, W, 3]` by an integer `scale` (nearest-neighbour) and pad to even H and W.

    Padding repeats the last row/column rather than adding black, so no seam is visible.
    """
    if scale > 1:
        frame = np.repeat(np.repeat(frame, scale, axis=0), scale, axis=1)
    h, w = frame.shape[:2]
    if h % 2 or w % 2:
        frame = np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
    return np.ascontiguousarray(frame)


def write_video(
    frames: Sequence[np.ndarray] | Iterable[np.ndarray], path: Path, fps: int = 30
) -> None:
    """Encode `frames` as an H.264 MP4 (yuv420p) at `path`.

    Frames are consumed one at a time, so a generator of frames never has to fit in memory.
    All frames must have the shape of the first one. Frames whose longer side is under
    MIN_VIDEO_SIDE pixels are upscaled by the smallest integer factor that reaches it
    (10x10 becomes 160x160); odd heights/widths are padded by one pixel to be even.
    The file is written to a temporary name and renamed, so `path` is never half-written.

    Args:
        frames: images `[H, W, 3]` uint8 (also `[H, W]`, `[H, W, 1|4]`, bool, float in [0, 1]).
        path: output file, conventionally ending in ".mp4"; parent directories are created.
        fps: frames per second, >= 1.

    Raises:
        ZooError: no frames, inconsistent or invalid frames, bad fps, or no ffmpeg backend.
    """
    if isinstance(fps, bool) or not isinstance(fps, (int, np.integer)) or fps < 1:
        raise ZooError(f"video: fps must be an integer >= 1, got {fps!r}")
    path = Path(path)
    it: Iterator[np.ndarray] = iter(frames)
    try:
        first = _to_rgb_uint8(next(it), 0)
    except StopIteration:
        raise ZooError(f"video: no frames to write to {path}") from None
    shape = first.shape
    scale = max(1, math.ceil(MIN_VIDEO_SIDE / max(shape[0], shape[1])))

    # The temp name keeps the .mp4 suffix because ffmpeg picks the container from it.
    with atomic_path(path, suffix=".mp4") as tmp:
        writer = _ffmpeg_writer(tmp, int(fps))
        try:
            writer.append_data(_prepare(first, scale))
            for index, frame in enumerate(it, start=1):
                f = _to_rgb_uint8(frame, index)
                if f.shape != shape:
                    raise ZooError(
                        f"video: frame {index} has shape {f.shape}, but frame 0 has {shape}; "
                        "all frames must be the same size"
                    )
                writer.append_data(_prepare(f, scale))
        finally:
            writer.close()
