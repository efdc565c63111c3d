"""Agents: the DQN family's agent and the parts every agent shares (roles, network spec, RNG state,
weights)."""
