"""zoo-impala: IMPALA's off-policy actor-critic. So far: V-trace and the loss on its targets."""

from zoo_impala.losses import ImpalaLoss, impala_loss, importance_ratios
from zoo_impala.vtrace import vtrace

__all__ = ["ImpalaLoss", "impala_loss", "importance_ratios", "vtrace"]
