"""The Ray backend: the same learner, actors as Ray actors on a real local Ray runtime."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import zoo_core

SMALL = [
    "impala.num_actors=2", "impala.envs_per_actor=2", "impala.unroll_length=10", "impala.batch_size=2",
    "impala.hidden=16,16", "run.eval_every=0", "run.eval_episodes=2", "run.log_every=40",
]


def test_ray_and_local_processes_learn_the_same_weights(tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        zoo_core.train("impala", "CartPole-v1", 400, seed=5, out=tmp_path / "ray",
                       overrides=SMALL + ["run.backend=ray"])
    finally:
        ray.shutdown()
    zoo_core.train("impala", "CartPole-v1", 400, seed=5, out=tmp_path / "local", overrides=SMALL)
    a = load_file(str(tmp_path / "ray/checkpoints/step_000000000400/model.safetensors"))
    b = load_file(str(tmp_path / "local/checkpoints/step_000000000400/model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_without_ray_the_cli_says_how_to_get_it(tmp_path):
    # A child process where `import ray` fails, as on a machine without the extra.
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from zoo_core.cli.main import main\n"
        f"sys.exit(main(['train', 'impala', '--env', 'CartPole-v1', '--steps', '80', '--backend', 'ray', "
        f"'--out', {str(tmp_path / 'r')!r}, '--no-progress']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "pip install 'zoo-impala[ray]'" in proc.stderr and proc.stderr.count("\n") == 1


def test_address_without_the_ray_backend_is_refused(tmp_path):
    from zoo_core.cli.main import main

    assert main(["train", "impala", "--env", "CartPole-v1", "--address", "10.0.0.1:6379",
                 "--out", str(tmp_path / "r"), "--no-progress"]) == 2


def test_the_dqn_family_refuses_the_ray_backend(tmp_path, capsys):
    from zoo_core.cli.main import main

    assert main(["train", "dqn", "--env", "CartPole-v1", "--steps", "50", "--backend", "ray",
                 "--out", str(tmp_path / "r"), "--no-progress"]) == 2
    assert "needs an actor-learner algorithm such as impala" in capsys.readouterr().err
