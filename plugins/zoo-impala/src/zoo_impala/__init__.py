"""zoo-impala: IMPALA's off-policy actor-critic. So far: the V-trace targets (`vtrace`)."""

from zoo_impala.vtrace import vtrace

__all__ = ["vtrace"]
