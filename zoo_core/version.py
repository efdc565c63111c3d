"""The zoo's version, one place (checkpoints and leaderboard entries record it)."""

__version__ = "0.1.0"
