"""Sokoban's rules by hand: moves, pushes, walls, a box into a box, every reward, and the env around them."""

from __future__ import annotations

import numpy as np
import pytest
from zoo_i2a import Level, step
from zoo_i2a.env import COLOURS, TRAIN_SEEDS, make_sokoban_env

NOOP, UP, DOWN, LEFT, RIGHT = range(5)


def parse(text: str) -> Level:
    """``#`` wall, ``.`` target, ``$`` box, ``*`` box on target, ``@`` player, ``+`` player on target."""
    rows = [line.strip() for line in text.strip().splitlines()]
    walls = np.array([[ch == "#" for ch in row] for row in rows])
    targets = np.array([[ch in ".*+" for ch in row] for row in rows])
    boxes = frozenset((r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch in "$*")
    player = next((r, c) for r, row in enumerate(rows) for c, ch in enumerate(row) if ch in "@+")
    return Level(walls, targets, boxes, player)


def play(level: Level, *actions: int):
    boxes, player, total, solved = level.boxes, level.player, 0.0, False
    for a in actions:
        boxes, player, reward, solved = step(level.walls, level.targets, boxes, player, a)
        total += reward
    return boxes, player, round(total, 6), solved


def test_walking_and_walls():
    level = parse("""
        #####
        #@ .#
        #  $#
        #####""")
    assert play(level, RIGHT) == (level.boxes, (1, 2), -0.1, False)
    assert play(level, UP) == (level.boxes, (1, 1), -0.1, False)  # a wall: nothing moves
    assert play(level, LEFT) == (level.boxes, (1, 1), -0.1, False)
    assert play(level, NOOP) == (level.boxes, (1, 1), -0.1, False)
    assert play(level, DOWN, RIGHT) == (level.boxes, (2, 2), -0.2, False)


def test_a_push_onto_the_last_target_solves_the_level():
    level = parse("""
        ######
        #@$ .#
        ######""")
    boxes, player, reward, solved = play(level, RIGHT)
    assert (boxes, player, reward, solved) == (frozenset({(1, 3)}), (1, 2), -0.1, False)
    assert play(level, RIGHT, RIGHT) == (frozenset({(1, 4)}), (1, 3), round(-0.2 + 1 + 10, 6), True)


def test_a_box_against_a_wall_or_a_box_does_not_move():
    level = parse("""
        ######
        #@$$.#
        #  $.#
        #   .#
        ######""")
    assert play(level, RIGHT)[:2] == (level.boxes, (1, 1))  # a box into a box
    wall = parse("""
        #####
        # @$#
        #  .#
        #####""")
    assert play(wall, RIGHT)[:2] == (wall.boxes, (1, 2))  # a box into a wall


def test_pushing_off_a_target_costs_and_target_to_target_is_even():
    off = parse("""
        ######
        #@* ##
        ######""")
    assert play(off, RIGHT) == (frozenset({(1, 3)}), (1, 2), round(-0.1 - 1, 6), False)
    shift = parse("""
        #######
        #@*.$ #
        #######""")
    # Off one target and onto the next: +1 - 1; the other box is still off its target.
    assert play(shift, RIGHT) == (frozenset({(1, 3), (1, 4)}), (1, 2), -0.1, False)


def test_a_level_must_be_walled_and_consistent():
    with pytest.raises(ValueError, match="boxes but"):
        parse("""
            #####
            #@$ #
            #####""")
    with pytest.raises(ValueError, match="walled all round"):
        parse("""
            #####
            #@$ .
            #####""")


def test_the_env_frames_rewards_and_step_cap():
    env = make_sokoban_env("Sokoban/Room6x6-v0")
    obs, info = env.reset(seed=7)
    again, _ = env.reset(seed=7)
    assert obs.shape == (3, 24, 24) and obs.dtype == np.uint8 and np.array_equal(obs, again)
    assert info == {"is_success": False, "level_seed": 7}
    cell = obs[:, ::4, ::4].transpose(1, 2, 0)  # one pixel per cell
    player = env.player
    assert tuple(cell[player]) == COLOURS["player"]
    assert all(tuple(cell[b]) == COLOURS["box"] for b in env.boxes)  # no box starts on a target
    assert all(tuple(cell[w]) == COLOURS["wall"] for w in map(tuple, np.argwhere(env.level.walls)))
    for t in range(40):
        _, reward, terminated, truncated, _ = env.step(NOOP)
        assert reward == pytest.approx(-0.1) and not terminated
        assert truncated == (t == 39)  # Room6x6's cap: 40 steps
    env.reset()
    assert env.level_seed >= TRAIN_SEEDS  # training levels never meet an evaluation seed range
