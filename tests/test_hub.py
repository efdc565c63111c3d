"""`zoo push` / `zoo pull` against a local Hub stand-in: commits, pinned revisions, the cache,
offline mode, tampering, and registry agents (bundled and Hub-backed)."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from conftest import assert_one_line_error, run_zoo
from huggingface_hub import HfApi
from safetensors.torch import load_file, save_file

from zoo_core.cli import main as cli
from zoo_core.errors import ZooError
from zoo_core.publishing import hub as zoo_hub
from zoo_core.publishing import publish, sources
from zoo_core.publishing.agent_folder import write_model_card
from zoo_core.running.checkpoint import MANIFEST, sha256_file

pytest_plugins = ["hub_server"]  # the hub, hf_env, exported_agent and agent_folder fixtures

REPO = "zoo-test/dqn-cartpole"
HEX40 = re.compile(r"\b[0-9a-f]{40}\b")


@pytest.fixture(autouse=True)
def _no_leaderboards(tmp_path, monkeypatch):
    """No leaderboard vouches for the test agents, whatever the repository's leaderboards hold."""
    monkeypatch.setenv("ZOO_LEADERBOARDS_DIR", str(tmp_path / "no-leaderboards"))


def _push(hub, folder: Path, repo: str = REPO, **kwargs) -> str:
    return publish.push(folder, repo, endpoint=hub.url, token=hub.token, **kwargs)


def _download(hub, tmp_path: Path, revision: str | None = None, repo: str = REPO) -> Path:
    return zoo_hub.download(repo, revision, endpoint=hub.url, cache_dir=tmp_path / "cache", token=hub.token)


def _zoo_here(capsys, *args: str) -> subprocess.CompletedProcess:
    """The CLI in this process (no endpoint of its own: for commands that fail or work offline)."""
    capsys.readouterr()
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out, err)


def _one_line(exc: pytest.ExceptionInfo, *needles: str) -> None:
    message = str(exc.value)
    assert "\n" not in message and all(n in message for n in needles), message


def _pulled_names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def _dead_endpoint() -> str:
    """A local URL nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_push_creates_the_repo_and_prints_the_commit(hub, hf_env, agent_folder):
    proc = run_zoo("push", str(agent_folder), "--repo", REPO, env=hf_env)
    assert proc.returncode == 0, proc.stderr
    commit = re.search(r"^commit: ([0-9a-f]{40})$", proc.stdout, re.M).group(1)
    assert commit == hub.load(REPO)["branches"]["main"]
    assert f"url: {hub.url}/{REPO}/tree/{commit}" in proc.stdout
    assert f"zoo pull hf:{REPO}@{commit}" in proc.stdout
    manifest = json.loads((agent_folder / MANIFEST).read_text())
    on_hub = hub.files(REPO)
    assert set(on_hub) == {*manifest["files"], MANIFEST}  # agent.pt too: the Open RL Leaderboard runs it
    for name in on_hub:
        assert on_hub[name] == (agent_folder / name).read_bytes(), name
    assert "verified: false" in on_hub["README.md"].decode()
    dev = _push(hub, agent_folder, revision="dev")
    assert dev == hub.load(REPO)["branches"]["dev"] == commit  # a new branch, from main; nothing changed


def test_push_puts_a_leaderboard_verified_score_in_the_card(hub, agent_folder, tmp_path, monkeypatch):
    import zoo_core.publishing.publish

    entry = {"leaderboard": "CartPole-v1", "mean": 432.1, "std": 5.0}
    monkeypatch.setattr(zoo_core.publishing.publish, "verified_score", lambda folder: entry)
    card = hub.files(REPO, _push(hub, agent_folder))["README.md"].decode()
    assert "verified: true" in card and '"432.10 +/- 5.00"' in card
    assert (agent_folder / "README.md").read_text() == card  # the local folder's card and manifest too
    assert _download(hub, tmp_path).name == hub.load(REPO)["branches"]["main"]


def test_pull_by_hub_id_copies_the_verified_folder(hub, hf_env, agent_folder, tmp_path, capsys):
    commit = _push(hub, agent_folder)
    out = tmp_path / "pulled"
    proc = run_zoo("pull", f"hf:{REPO}", "--out", str(out), env=hf_env)
    assert proc.returncode == 0, proc.stderr
    assert f"verified agent folder: {out}" in proc.stdout
    assert f"commit: {commit} (resolved from main)" in proc.stdout
    expected = {p.name for p in agent_folder.iterdir()} - {"agent.pt"}  # the pickle-based export is never fetched
    assert _pulled_names(out) == expected
    for name in expected:
        assert (out / name).read_bytes() == (agent_folder / name).read_bytes()
        assert not (out / name).is_symlink()
    assert _pulled_names(Path(hf_env["HF_HOME"]) / "hub" / f"models--{REPO.replace('/', '--')}" / "snapshots") == {
        commit
    }
    assert_one_line_error(_zoo_here(capsys, "pull", f"hf:{REPO}", "--out", str(out)), "not an empty directory")


def test_pinned_revision_gets_the_old_bytes(hub, agent_folder, tmp_path):
    first = _push(hub, agent_folder)
    old = {name: (agent_folder / name).read_bytes() for name in ("model.safetensors", "README.md", MANIFEST)}
    weights = load_file(str(agent_folder / "model.safetensors"))
    save_file({k: v + 1 for k, v in weights.items()}, str(agent_folder / "model.safetensors"))
    (agent_folder / "learning_curve.png").unlink()
    write_model_card(agent_folder, None)  # a consistent folder again: new manifest
    second = _push(hub, agent_folder)
    assert HEX40.fullmatch(first) and HEX40.fullmatch(second) and first != second
    assert "learning_curve.png" not in hub.files(REPO)  # the push mirrors the folder: stale files go

    pinned = _download(hub, tmp_path, first)
    assert pinned.name == first
    for name, data in old.items():
        assert (pinned / name).read_bytes() == data, name
    assert (pinned / "learning_curve.png").is_file()
    latest = _download(hub, tmp_path)
    assert latest.name == second
    assert (latest / "model.safetensors").read_bytes() == (agent_folder / "model.safetensors").read_bytes()
    assert not (latest / "learning_curve.png").exists()
    assert sources.locate(str(latest)).commit is None  # a local path has no commit


def test_offline_mode_serves_fetched_revisions_from_the_cache(hub, hf_env, agent_folder):
    commit = _push(hub, agent_folder)
    cache = Path(hf_env["HF_HOME"]) / "hub"  # where the zoo subprocesses look
    assert zoo_hub.download(REPO, endpoint=hub.url, cache_dir=cache).name == commit
    requests = hub.requests
    offline = dict(hf_env, HF_HUB_OFFLINE="1")
    for ident in (f"hf:{REPO}", f"hf:{REPO}@{commit}"):
        proc = run_zoo("pull", ident, env=offline)
        assert proc.returncode == 0, proc.stderr
        assert f"commit: {commit}" in proc.stdout
    assert hub.requests == requests  # not one request went out
    assert_one_line_error(run_zoo("pull", f"hf:{REPO}@dev", env=offline), "HF_HUB_OFFLINE", "no complete copy")
    url = hub.url
    hub.stop()  # a network failure falls back to the cache too
    for revision in (None, commit):
        assert zoo_hub.download(REPO, revision, endpoint=url, cache_dir=cache).name == commit


def test_a_file_tampered_with_on_the_server_is_refused(hub, hf_env, agent_folder, tmp_path):
    commit = _push(hub, agent_folder)
    weights = (agent_folder / "model.safetensors").read_bytes()
    hub.tamper(REPO, "model.safetensors", weights[:-8] + bytes(8))  # same size, same commit id
    with pytest.raises(ZooError, match="model.safetensors is truncated or corrupted"):
        _download(hub, tmp_path, commit)
    proc = run_zoo("pull", f"hf:{REPO}@{commit}", env=hf_env)
    assert_one_line_error(proc, "model.safetensors is truncated or corrupted (sha256 mismatch)")


def test_files_the_manifest_does_not_list_or_lacks_are_refused(hub, agent_folder, tmp_path):
    _push(hub, agent_folder)
    api = HfApi(endpoint=hub.url, token=hub.token)
    added = api.upload_file(path_or_fileobj=b"{}", path_in_repo="extra.json", repo_id=REPO).oid
    with pytest.raises(ZooError, match="extra.json is not in the manifest"):
        _download(hub, tmp_path, added)
    api.delete_file("extra.json", repo_id=REPO)
    removed = api.delete_file("results.json", repo_id=REPO).oid
    with pytest.raises(ZooError, match="results.json is missing"):
        _download(hub, tmp_path, removed)
    api.upload_file(path_or_fileobj=b"x", path_in_repo="notes.txt", repo_id=REPO)  # never downloaded
    api.delete_file(MANIFEST, repo_id=REPO)
    with pytest.raises(ZooError, match="is not a zoo agent folder"):
        _download(hub, tmp_path)


def test_bad_ids_unknown_repos_and_revisions_are_one_line_errors(hub, hf_env, agent_folder, tmp_path, capsys):
    commit = _push(hub, agent_folder)
    (tmp_path / "empty").mkdir()
    for args, needle in [
        (["pull", "hf:just-a-name"], "not a Hub id"),
        (["pull", "registry:nope"], "no agent 'nope'"),
        (["push", str(agent_folder), "--repo", REPO, "--revision", commit], "not a commit id"),
        (["push", str(tmp_path / "empty"), "--repo", REPO], "no valid manifest.json"),
        (["push", str(agent_folder), "--repo", "not a repo id"], "not a valid repo id"),
        (["push", str(agent_folder)], "--repo"),
    ]:
        assert_one_line_error(_zoo_here(capsys, *args), needle)
    assert_one_line_error(run_zoo("pull", "hf:zoo-test/nope", env=hf_env), "no such repo")
    down = dict(hf_env, HF_ENDPOINT=_dead_endpoint())
    assert_one_line_error(run_zoo("pull", f"hf:{REPO}", env=down), "cannot be reached", "no complete copy")

    cache = tmp_path / "cache"
    for revision in ("0" * 40, "no-such-branch"):
        with pytest.raises(ZooError) as exc:
            zoo_hub.download(REPO, revision, endpoint=hub.url, cache_dir=cache)
        _one_line(exc, f"has no revision '{revision}'")
    with pytest.raises(ZooError) as exc:
        publish.push(agent_folder, "zoo-test/other", endpoint=hub.url, token="hf_wrong")
    _one_line(exc, "refused", "401")
    with pytest.raises(ZooError) as exc:
        publish.push(agent_folder, REPO, endpoint=_dead_endpoint(), token=hub.token)
    _one_line(exc, "cannot reach the Hub")


def _registry(root: Path, entries: list[dict]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "index.json").write_text(json.dumps({"format": 1, "agents": entries}))


def _pins(folder: Path) -> dict[str, str]:
    return {name: sha256_file(folder / name) for name in json.loads((folder / MANIFEST).read_text())["files"]}


def test_registry_agents_bundled_and_hub_backed(hub, hf_env, agent_folder, tmp_path, monkeypatch, capsys):
    commit = _push(hub, agent_folder)
    root = tmp_path / "registry"
    shutil.copytree(agent_folder, root / "agents" / "cp", ignore=shutil.ignore_patterns("agent.pt"))
    base = {"hub_repo": None, "revision": None, "bundled": None, "files": _pins(agent_folder)}
    _registry(root, [
        dict(base, id="cp-bundled", bundled="agents/cp", revision=commit),
        dict(base, id="cp-hub", hub_repo=REPO, revision=commit),
        dict(base, id="cp-escape", bundled="../../etc"),
        dict(base, id="cp-changed", hub_repo=REPO, revision=commit,
             files=dict(base["files"], **{"config.json": "0" * 64})),
    ])
    env = dict(hf_env, ZOO_REGISTRY_DIR=str(root))
    monkeypatch.setenv("ZOO_REGISTRY_DIR", str(root))
    proc = _zoo_here(capsys, "pull", "registry:cp-bundled")  # no Hub involved
    assert proc.returncode == 0, proc.stderr
    assert f"verified agent folder: {(root / 'agents' / 'cp').resolve()}" in proc.stdout
    proc = run_zoo("pull", "registry:cp-hub", env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"commit: {commit}\n" in proc.stdout and "snapshots" in proc.stdout
    assert_one_line_error(run_zoo("pull", "registry:cp-changed", env=env), "config.json does not match the sha256")

    with pytest.raises(ZooError, match="outside the registry"):
        sources.fetch("registry:cp-escape")
    (root / "agents" / "cp" / "README.md").write_text("edited")  # manifest and pins both catch it
    with pytest.raises(ZooError, match="README.md is truncated or corrupted"):
        sources.fetch("registry:cp-bundled")
