"""AlphaZero for Agent Zoo: MCTS with an injected model, self-play, tic-tac-toe and Connect Four, an arena."""
