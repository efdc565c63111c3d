"""R2D2 (Kapturowski et al. 2019): recurrent DQN with stored-state sequence replay and burn-in."""

from zoo_r2d2.learning import burn_in_unroll, gather_time, n_step_bootstrap, sequence_priority
from zoo_r2d2.sequence_replay import SequenceBatch, SequenceReplay

__all__ = [
    "SequenceBatch",
    "SequenceReplay",
    "burn_in_unroll",
    "gather_time",
    "n_step_bootstrap",
    "sequence_priority",
]
__version__ = "0.1.0"
