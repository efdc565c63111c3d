"""Publishing: loading agents, agent folders and model cards, the Hugging Face Hub, the registry of
pretrained agents, leaderboards and their page."""
