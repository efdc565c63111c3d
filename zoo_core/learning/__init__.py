"""Learning parts: value-learning math, n-step returns, replay, networks and their specification, value
distributions, exploration and optimiser state. Pure pieces an agent composes; nothing here runs a loop."""
