"""A local stand-in for the Hugging Face Hub, for tests of `zoo push` and `zoo pull`.

It speaks the HTTP API that huggingface_hub 2.x calls for ``create_repo``, ``create_branch``,
``upload_folder`` / ``create_commit`` (the preupload endpoint answers ``uploadMode: "regular"``
for every file, so contents travel base64-encoded inside the NDJSON commit and neither LFS nor
Xet storage is involved), ``model_info`` / ``repo_info``, ``list_repo_tree`` and the
``resolve`` URLs behind ``hf_hub_download`` / ``snapshot_download``. Clients reach it through
``endpoint=`` or ``HF_ENDPOINT``; nothing in huggingface_hub is patched.

Storage is a directory: ``blobs/<git sha1>`` holds file contents, ``repos/<org>/<name>.json``
each repo's branches and commits. A commit records its whole file tree, so every old revision
stays downloadable, and its id is a 40-hex sha1 over tree, parent, message and time, as in git.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

TOKEN = "hf_zoo_test_token"
"""The write token the test server accepts (sent by clients as ``Authorization: Bearer``)."""


def git_blob_id(data: bytes) -> str:
    """The git object id of a file's bytes (what the Hub reports as a regular file's ``oid`` and ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubError(Exception):
    """An HTTP error answer, with the ``X-Error-Code`` huggingface_hub maps to its exception types."""

    def __init__(self, status: int, message: str, code: str | None = None, commit: str | None = None):
        super().__init__(message)
        self.status, self.code, self.commit = status, code, commit


class HubServer:
    """The Hub stand-in: a ``ThreadingHTTPServer`` on 127.0.0.1 in a background thread.

    :param root: storage directory (blobs and repos).
    :param token: token required for writes and for reading private repos (None: open server).
    """

    def __init__(self, root: Path, token: str | None = TOKEN):
        self.root = Path(root)
        (self.root / "blobs").mkdir(parents=True, exist_ok=True)
        self.token = token
        self.requests = 0  # requests answered, so tests can prove that offline mode made none
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> HubServer:
        """Bind a free port and serve in a daemon thread."""
        hub = self

        class Handler(_Handler):
            server_hub = hub

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (clients then get "connection refused")."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    @property
    def url(self) -> str:
        """The endpoint, e.g. ``http://127.0.0.1:54321`` (what ``HF_ENDPOINT`` is set to)."""
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    # -- storage ---------------------------------------------------------------------------------

    def _repo_path(self, repo_id: str) -> Path:
        return self.root / "repos" / f"{repo_id}.json"

    def load(self, repo_id: str) -> dict[str, Any]:
        """A repo's state: ``{"private", "branches": {name: commit}, "commits": {id: commit}}``."""
        path = self._repo_path(repo_id)
        if not path.is_file():
            raise HubError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return json.loads(path.read_text())

    def _save(self, repo_id: str, repo: dict[str, Any]) -> None:
        path = self._repo_path(repo_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(repo, indent=1))
        tmp.replace(path)  # readers never see half a file

    def _put_blob(self, data: bytes) -> str:
        oid = git_blob_id(data)
        (self.root / "blobs" / oid).write_bytes(data)
        return oid

    def blob(self, oid: str) -> bytes:
        """A stored file's bytes."""
        return (self.root / "blobs" / oid).read_bytes()

    @staticmethod
    def resolve(repo: dict[str, Any], revision: str) -> str:
        """A branch name or full commit id -> commit id."""
        if revision in repo["branches"]:
            return repo["branches"][revision]
        if revision in repo["commits"]:
            return revision
        raise HubError(404, f"Invalid rev id: {revision}", "RevisionNotFound")

    def _commit(self, repo: dict[str, Any], parent: str | None, files: dict[str, str], message: str) -> str:
        tree = hashlib.sha1("".join(f"{p}\0{o}\n" for p, o in sorted(files.items())).encode()).hexdigest()
        text = f"tree {tree}\nparent {parent}\ntime {time.time_ns()}\n\n{message}"
        oid = hashlib.sha1(b"commit %d\0" % len(text) + text.encode()).hexdigest()
        repo["commits"][oid] = {"parent": parent, "message": message, "files": files, "time": time.time()}
        return oid

    def create_repo(self, repo_id: str, private: bool = False) -> bool:
        """Create a repo with an empty first commit on ``main``; False if it exists."""
        with self._lock:
            if self._repo_path(repo_id).is_file():
                return False
            repo: dict[str, Any] = {"private": private, "branches": {}, "commits": {}}
            repo["branches"]["main"] = self._commit(repo, None, {}, "initial commit")
            self._save(repo_id, repo)
            return True

    def apply_commit(
        self,
        repo_id: str,
        branch: str,
        message: str,
        added: dict[str, bytes],
        deleted: Sequence[str] = (),
        parent: str | None = None,
    ) -> str:
        """Add/replace ``added`` and remove ``deleted`` (files or folders) on ``branch``; the new commit id."""
        with self._lock:
            repo = self.load(repo_id)
            if branch not in repo["branches"]:
                raise HubError(404, f"Invalid rev id: {branch}", "RevisionNotFound")
            head = repo["branches"][branch]
            if parent is not None and parent != head:
                raise HubError(412, f"A commit has happened since {parent}; the head of {branch} is {head}")
            files = dict(repo["commits"][head]["files"])
            for path in deleted:
                folder = path.rstrip("/") + "/"
                files = {p: o for p, o in files.items() if p != path.rstrip("/") and not p.startswith(folder)}
            for path, data in added.items():
                files[_safe_path(path)] = self._put_blob(data)
            oid = self._commit(repo, head, files, message)
            repo["branches"][branch] = oid
            self._save(repo_id, repo)
            return oid

    def create_branch(self, repo_id: str, branch: str, start: str | None = None) -> bool:
        """Point a new branch at ``start`` (default: main's head); False if it exists."""
        with self._lock:
            repo = self.load(repo_id)
            if branch in repo["branches"]:
                return False
            repo["branches"][branch] = self.resolve(repo, start or "main")
            self._save(repo_id, repo)
            return True

    def tamper(self, repo_id: str, path: str, data: bytes, revision: str = "main") -> None:
        """Serve other bytes for ``path`` at an existing commit, without a new commit id.

        What a compromised mirror or CDN does: the revision a user pinned now answers with
        different content, so only the agent's own manifest can tell.
        """
        with self._lock:
            repo = self.load(repo_id)
            commit = repo["commits"][self.resolve(repo, revision)]
            commit["files"][path] = self._put_blob(data)
            self._save(repo_id, repo)

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """``{path: bytes}`` of a repo at a revision."""
        repo = self.load(repo_id)
        return {p: self.blob(o) for p, o in repo["commits"][self.resolve(repo, revision)]["files"].items()}


def _safe_path(path: str) -> str:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise HubError(400, f"Invalid path in repo: {path!r}")
    return path


class _Handler(BaseHTTPRequestHandler):
    """Routes the Hub's REST and file URLs to :class:`HubServer`."""

    server_hub: HubServer

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- plumbing --------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        hub = self.server_hub
        url = urlsplit(self.path)
        # Split before unquoting: a revision like refs/pr/1 arrives as one %2F-quoted segment.
        parts = [unquote(p) for p in url.path.strip("/").split("/")]
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with hub._lock:
            hub.requests += 1
        try:
            self._route(method, parts, query, body)
        except HubError as err:
            headers = {"X-Error-Message": str(err)}
            if err.code:
                headers["X-Error-Code"] = err.code
            if err.commit:
                headers["X-Repo-Commit"] = err.commit
            self._json({"error": str(err)}, err.status, headers, head=method == "HEAD")

    def _json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None, head: bool = False) -> None:
        self._send(json.dumps(data).encode(), status, {"Content-Type": "application/json", **(headers or {})}, head)

    def _send(self, body: bytes, status: int, headers: dict[str, str], head: bool = False) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _authorized(self) -> bool:
        token = self.server_hub.token
        return token is None or self.headers.get("Authorization") == f"Bearer {token}"

    def _require_write(self) -> None:
        if not self._authorized():
            raise HubError(401, "Invalid credentials in Authorization header")

    def _readable(self, repo_id: str) -> dict[str, Any]:
        repo = self.server_hub.load(repo_id)
        if repo["private"] and not self._authorized():
            raise HubError(401, f"Repository {repo_id} not found", "RepoNotFound")
        return repo

    # -- routes ----------------------------------------------------------------------------------

    def _route(self, method: str, parts: list[str], query: dict[str, str], body: bytes) -> None:
        hub = self.server_hub
        if method == "POST" and parts == ["api", "validate-yaml"]:
            return self._json({"errors": [], "warnings": []})
        if method == "POST" and parts == ["api", "repos", "create"]:
            return self._create_repo(json.loads(body))
        if len(parts) >= 4 and parts[0] == "api" and parts[1] == "models":
            repo_id, action, rest = f"{parts[2]}/{parts[3]}", (parts[4:5] or [""])[0], parts[5:]
            if method == "GET" and action == "":
                return self._info(repo_id, "main")
            if method == "GET" and action == "revision" and len(rest) == 1:
                return self._info(repo_id, rest[0])
            if method == "GET" and action == "tree" and rest:
                return self._tree(repo_id, rest[0], "/".join(rest[1:]), query.get("recursive") in ("1", "true", "True"))
            if method == "POST" and action == "preupload" and len(rest) == 1:
                return self._preupload(repo_id, rest[0], json.loads(body))
            if method == "POST" and action == "commit" and len(rest) == 1:
                return self._commit(repo_id, rest[0], body, query)
            if method == "POST" and action == "branch" and len(rest) == 1:
                self._require_write()
                start = (json.loads(body) if body else {}).get("startingPoint")
                if not hub.create_branch(repo_id, rest[0], start):
                    raise HubError(409, f"Branch {rest[0]} already exists")
                return self._json({})
        if method in ("GET", "HEAD") and len(parts) >= 5 and parts[2] == "resolve":
            return self._resolve(f"{parts[0]}/{parts[1]}", parts[3], "/".join(parts[4:]), head=method == "HEAD")
        raise HubError(404, f"no route for {method} /{'/'.join(parts)}")

    def _create_repo(self, payload: dict[str, Any]) -> None:
        self._require_write()
        if payload.get("type", "model") != "model" or not payload.get("organization"):
            raise HubError(400, "this test hub serves model repos named org/name only")
        repo_id = f"{payload['organization']}/{payload['name']}"
        url = f"{self.server_hub.url}/{repo_id}"
        if not self.server_hub.create_repo(repo_id, payload.get("visibility") == "private"):
            # huggingface_hub's exist_ok=True reads the url from the 409 answer
            return self._json({"error": "You already created this model repo", "url": url}, 409)
        self._json({"url": url, "name": repo_id, "id": repo_id})

    def _info(self, repo_id: str, revision: str) -> None:
        repo = self._readable(repo_id)
        oid = self.server_hub.resolve(repo, revision)
        commit = repo["commits"][oid]
        self._json(
            {
                "id": repo_id,
                "modelId": repo_id,
                "sha": oid,
                "private": repo["private"],
                "lastModified": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(commit["time"])),
                "tags": [],
                "siblings": [{"rfilename": p} for p in sorted(commit["files"])],
            }
        )

    def _tree(self, repo_id: str, revision: str, folder: str, recursive: bool) -> None:
        hub = self.server_hub
        repo = self._readable(repo_id)
        files = repo["commits"][hub.resolve(repo, revision)]["files"]
        prefix = f"{folder.strip('/')}/" if folder else ""
        entries, folders = [], set()
        for path, oid in sorted(files.items()):
            if not path.startswith(prefix):
                continue
            rel = path[len(prefix) :]
            if "/" in rel and not recursive:
                folders.add(prefix + rel.split("/")[0])
                continue
            for i in range(rel.count("/")):  # recursive listings name every folder too
                folders.add(prefix + "/".join(rel.split("/")[: i + 1]))
            entries.append({"type": "file", "path": path, "oid": oid, "size": len(hub.blob(oid))})
        if folder and not entries and not folders:
            raise HubError(404, f"{folder} does not exist", "EntryNotFound")
        dirs = [{"type": "directory", "path": d, "oid": git_blob_id(d.encode())} for d in sorted(folders)]
        self._json(dirs + entries)

    def _preupload(self, repo_id: str, revision: str, payload: dict[str, Any]) -> None:
        self._require_write()
        repo = self._readable(repo_id)
        files = repo["commits"][self.server_hub.resolve(repo, revision)]["files"]
        self._json(
            {
                "files": [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": files.get(f["path"])}
                    for f in payload["files"]
                ]
            }
        )

    def _commit(self, repo_id: str, revision: str, body: bytes, query: dict[str, str]) -> None:
        self._require_write()
        self._readable(repo_id)
        if query.get("create_pr"):
            raise HubError(400, "this test hub has no pull requests")
        message, parent, added, deleted = "", None, {}, []
        for line in body.splitlines():
            item = json.loads(line)
            value = item["value"]
            if item["key"] == "header":
                message, parent = value["summary"], value.get("parentCommit")
            elif item["key"] == "file":
                added[value["path"]] = base64.b64decode(value["content"])
            elif item["key"] in ("deletedFile", "deletedFolder"):
                deleted.append(value["path"])
            else:  # lfsFile and copies: the preupload answer never asks for them
                raise HubError(400, f"unsupported commit operation {item['key']}")
        oid = self.server_hub.apply_commit(repo_id, revision, message, added, deleted, parent)
        url = f"{self.server_hub.url}/{repo_id}/commit/{oid}"
        self._json({"success": True, "commitOid": oid, "commitUrl": url, "hookOutput": "", "pullRequestUrl": None})

    def _resolve(self, repo_id: str, revision: str, path: str, head: bool) -> None:
        hub = self.server_hub
        repo = self._readable(repo_id)
        commit = hub.resolve(repo, revision)
        oid = repo["commits"][commit]["files"].get(path)
        if oid is None:
            raise HubError(404, f"Entry not found: {path}", "EntryNotFound", commit=commit)
        headers = {
            "Content-Type": "application/octet-stream",
            "X-Repo-Commit": commit,
            "ETag": f'"{oid}"',
            "Accept-Ranges": "none",
        }
        self._send(hub.blob(oid), 200, headers, head)


@pytest.fixture
def hub(tmp_path_factory) -> Iterator[HubServer]:
    """A running :class:`HubServer` with a fresh store, stopped after the test."""
    server = HubServer(tmp_path_factory.mktemp("hub")).start()
    yield server
    server.stop()


@pytest.fixture
def hf_env(hub, tmp_path, monkeypatch) -> dict[str, str]:
    """Points huggingface_hub at ``hub`` with its caches under ``tmp_path`` (the user's stay untouched).

    The variables reach ``zoo`` subprocesses; in-process calls pass ``endpoint=`` and
    ``cache_dir=`` themselves, since huggingface_hub reads these variables once, at import.
    :returns: the variables set.
    """
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_XET_CACHE", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                 "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_TOKEN_PATH"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "HF_ENDPOINT": hub.url,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_TOKEN": TOKEN,
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="module")
def exported_agent(tmp_path_factory) -> Path:
    """A real agent folder from ``zoo export`` of a tiny CartPole run (trained once per module)."""
    from conftest import TINY

    import zoo_core
    from zoo_core.publishing.agent_folder import export_agent

    root = tmp_path_factory.mktemp("exported")
    zoo_core.train("dqn", "CartPole-v1", 300, seed=3, out=root / "run", overrides=TINY + ["run.eval_every=300"])
    return export_agent(root / "run", root / "agent", episodes=2, video=False)


@pytest.fixture
def agent_folder(exported_agent, tmp_path) -> Path:
    """A fresh copy of :func:`exported_agent` that a test may change."""
    import shutil

    return Path(shutil.copytree(exported_agent, tmp_path / "agent"))
