"""Monte Carlo tree search over a batch of trees, with the model injected as functions (as mctx).

The search never looks inside positions: it asks ``root_fn`` to evaluate the roots and
``recurrent_fn`` to take one action in a batch of positions, so the same code searches a perfect
game model (:mod:`zoo_alphazero.models`), random rollouts, or a learned model (MuZero). Each
simulation descends every tree to one leaf, and the leaves of all ``B`` trees are expanded in one
``recurrent_fn`` call, so a network sees a batch, not single positions.

Values are always seen from the player to move at a node. An edge's value to the player who took
it is ``reward + discount * value(child)``: for alternating two-player games the model returns
``discount = -1`` (the child's mover is the opponent), ``0`` when the game ended (the reward is the
outcome), and a single-player model would return its ``γ``.

Shapes: ``B`` trees, ``N`` nodes per tree (node 0 is the root), ``A`` actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal, NamedTuple

import numpy as np

Embedding = Any
"""Whatever the model uses for a position: a NamedTuple of arrays with leading axis ``B``."""


class ModelOutput(NamedTuple):
    """What the model says about a batch of new positions.

    prior_logits: float32 ``[B, A]``; ``-inf`` marks actions that are not legal there.
    value: float32 ``[B]``; the position's value to its player to move (ignored where terminal).
    reward: float32 ``[B]``; the transition's reward to the player who acted (0 at the root).
    discount: float32 ``[B]``; what multiplies the position's value, seen by the player who acted:
        -1 between alternating players, 0 where the game ended.
    """

    prior_logits: np.ndarray
    value: np.ndarray
    reward: np.ndarray
    discount: np.ndarray


RootFn = Callable[[Embedding], ModelOutput]
"""``root_fn(embedding [B]) -> ModelOutput`` (reward and discount unused)."""
RecurrentFn = Callable[[Embedding, np.ndarray], tuple[ModelOutput, Embedding]]
"""``recurrent_fn(embedding [B], action int [B]) -> (output, next embedding [B])``."""


@dataclass(frozen=True)
class SearchConfig:
    """How the search selects and explores.

    rule: ``puct`` (AlphaZero: ``Q + c * P * sqrt(N) / (1 + n)``) or ``uct`` (UCB1 for pure Monte
        Carlo search with uniform priors: unvisited first, then ``Q + c * sqrt(ln N / n)``).
    c: the exploration constant of the rule.
    dirichlet_alpha, noise_fraction: root prior ``(1 - f) * P + f * Dir(alpha)`` over legal moves
        (self-play only: 0 disables).
    fpu: the value assumed for an unvisited child under ``puct`` (first-play urgency).
    """

    rule: Literal["puct", "uct"] = "puct"
    c: float = 1.25
    dirichlet_alpha: float = 0.0
    noise_fraction: float = 0.0
    fpu: float = 0.0


@dataclass(frozen=True)
class Tree:
    """``B`` search trees as arrays (frozen: every function returns a new tree, sharing nothing
    it changed).

    node_visits int32 ``[B, N]``; node_value float32 ``[B, N]``: mean backed-up value to the node's
    player to move; parent, action_in int32 ``[B, N]`` (-1 at the root and in unused slots);
    terminal bool ``[B, N]``; children int32 ``[B, N, A]`` (-1: not expanded); prior float32
    ``[B, N, A]`` (0 on illegal actions); child_visits int32, child_value float32 (the child's
    node_value), child_reward, child_discount float32 ``[B, N, A]``; size int32 ``[B]``: nodes in
    use; embedding: the model's positions with leading axes ``[B, N]``.
    """

    node_visits: np.ndarray
    node_value: np.ndarray
    parent: np.ndarray
    action_in: np.ndarray
    terminal: np.ndarray
    children: np.ndarray
    prior: np.ndarray
    child_visits: np.ndarray
    child_value: np.ndarray
    child_reward: np.ndarray
    child_discount: np.ndarray
    size: np.ndarray
    embedding: Embedding

    @property
    def batch(self) -> int:
        return self.node_visits.shape[0]

    @property
    def capacity(self) -> int:
        return self.node_visits.shape[1]

    @property
    def num_actions(self) -> int:
        return self.children.shape[2]

    def root_q(self) -> np.ndarray:
        """float32 ``[B, A]``: each root action's mean value to the root's player (0 if unvisited)."""
        return _q(self, np.arange(self.batch), np.zeros(self.batch, np.int64), fpu=0.0)

    def root_value(self) -> np.ndarray:
        """float32 ``[B]``: the root's backed-up value to its player to move."""
        return self.node_value[:, 0].copy()


def _softmax(logits: np.ndarray) -> np.ndarray:
    finite = np.isfinite(logits)
    top = np.where(finite, logits, -np.inf).max(-1, keepdims=True)
    shifted = np.where(finite, logits - np.where(np.isfinite(top), top, 0.0), -np.inf)
    e = np.exp(shifted)
    total = e.sum(-1, keepdims=True)
    return np.where(total > 0, e / np.maximum(total, 1e-30), 0.0).astype(np.float32)


def _map(fn: Callable[[np.ndarray], np.ndarray], embedding: Embedding) -> Embedding:
    return type(embedding)(*(fn(x) for x in embedding))


def init_tree(root: ModelOutput, embedding: Embedding, capacity: int) -> Tree:
    """New trees holding only their expanded roots (visited once, with the model's value)."""
    b, a = root.prior_logits.shape
    n = capacity
    node_value = np.zeros((b, n), np.float32)
    node_value[:, 0] = root.value
    node_visits = np.zeros((b, n), np.int32)
    node_visits[:, 0] = 1
    prior = np.zeros((b, n, a), np.float32)
    prior[:, 0] = _softmax(root.prior_logits)
    terminal = np.zeros((b, n), bool)
    terminal[:, 0] = ~np.isfinite(root.prior_logits).any(-1)  # a finished game: nothing to search

    def slots(x: np.ndarray) -> np.ndarray:
        out = np.zeros((b, n, *x.shape[1:]), x.dtype)
        out[:, 0] = x
        return out

    return Tree(
        node_visits=node_visits, node_value=node_value,
        parent=np.full((b, n), -1, np.int32), action_in=np.full((b, n), -1, np.int32),
        terminal=terminal, children=np.full((b, n, a), -1, np.int32), prior=prior,
        child_visits=np.zeros((b, n, a), np.int32), child_value=np.zeros((b, n, a), np.float32),
        child_reward=np.zeros((b, n, a), np.float32), child_discount=np.zeros((b, n, a), np.float32),
        size=np.ones(b, np.int32), embedding=_map(slots, embedding),
    )


def _q(tree: Tree, rows: np.ndarray, node: np.ndarray, fpu: float) -> np.ndarray:
    """``[len(rows), A]``: the value of each action at ``node`` (one per row) to its player to move."""
    visited = tree.child_visits[rows, node] > 0
    q = tree.child_reward[rows, node] + tree.child_discount[rows, node] * tree.child_value[rows, node]
    return np.where(visited, q, np.float32(fpu)).astype(np.float32)


def _scores(tree: Tree, rows: np.ndarray, node: np.ndarray, config: SearchConfig) -> np.ndarray:
    """``[len(rows), A]``: the selection rule's score of each action at ``node``; ``-inf`` where illegal."""
    prior = tree.prior[rows, node]
    n_a = tree.child_visits[rows, node].astype(np.float32)
    n = tree.node_visits[rows, node].astype(np.float32)[:, None]
    q = _q(tree, rows, node, config.fpu)
    if config.rule == "puct":
        score = q + config.c * prior * np.sqrt(n) / (1.0 + n_a)
    else:
        bonus = config.c * np.sqrt(np.log(np.maximum(n, 1.0)) / np.maximum(n_a, 1.0))
        score = np.where(n_a > 0, q + bonus, np.inf)
    return np.where(prior > 0, score, -np.inf)


def _add_noise(tree: Tree, config: SearchConfig, rng: np.random.Generator) -> Tree:
    """Mix Dirichlet noise into the root priors over their legal actions."""
    prior = tree.prior.copy()
    legal = prior[:, 0] > 0
    # Gamma draws normalised per row are Dirichlet over each row's legal actions.
    g = rng.gamma(config.dirichlet_alpha, size=legal.shape) * legal
    noise = g / np.maximum(g.sum(-1, keepdims=True), 1e-30)
    mixed = (1 - config.noise_fraction) * prior[:, 0] + config.noise_fraction * noise
    prior[:, 0] = np.where(legal, mixed, 0.0)
    return replace(tree, prior=prior)


def search(
    tree: Tree,
    recurrent_fn: RecurrentFn,
    num_simulations: int,
    config: SearchConfig = SearchConfig(),
    rng: np.random.Generator | None = None,
) -> Tree:
    """Run ``num_simulations`` more simulations in every tree (roots already expanded).

    Each simulation: select by the rule from the root down to an unexpanded action or a terminal
    node; expand the unexpanded ones with one batched ``recurrent_fn`` call; back the leaf's value up
    the path, flipping it through each edge's discount.

    :param tree: from :func:`init_tree` or :func:`advance`; grown here if it is too small.
    :param rng: for the root noise (needed when ``config.noise_fraction > 0``). The noise is mixed
        into the root priors on every call, so self-play searches each root once per move.
    """
    if config.noise_fraction > 0:
        if rng is None:
            raise ValueError("root noise needs an rng")
        tree = _add_noise(tree, config, rng)
    tree = grow(tree, int(tree.size.max()) + num_simulations)
    tree = replace(tree, **{f: getattr(tree, f).copy() for f in _ARRAYS}, embedding=_map(np.copy, tree.embedding))
    rows = np.arange(tree.batch)
    for _ in range(num_simulations):
        node, action, expand = _select(tree, config)
        leaf = node.copy()
        value = np.zeros(tree.batch, np.float32)  # a terminal node's value to its (non-)mover: 0
        if expand.any():
            idx = np.flatnonzero(expand)
            parent, a = node[idx], action[idx]
            leaves = type(tree.embedding)(*(x[idx, parent] for x in tree.embedding))
            out, emb = recurrent_fn(leaves, a)
            new = tree.size[idx]
            tree.size[idx] += 1
            done = out.discount == 0
            tree.children[idx, parent, a] = new
            tree.parent[idx, new] = parent
            tree.action_in[idx, new] = a
            tree.terminal[idx, new] = done
            tree.prior[idx, new] = np.where(done[:, None], 0.0, _softmax(out.prior_logits))
            tree.child_reward[idx, parent, a] = out.reward
            tree.child_discount[idx, parent, a] = out.discount
            for store, x in zip(tree.embedding, emb, strict=True):
                store[idx, new] = x
            leaf[idx] = new
            value[idx] = np.where(done, 0.0, out.value)
        _backup(tree, rows, leaf, value)
    return tree


_ARRAYS = ("node_visits", "node_value", "parent", "action_in", "terminal", "children", "prior",
           "child_visits", "child_value", "child_reward", "child_discount", "size")


def _select(tree: Tree, config: SearchConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Descend every tree. Returns ``node [B]`` where each stopped, ``action [B]`` to expand from it,
    and ``expand [B]``: False where the descent ended on a terminal node (``node`` is that node)."""
    node = np.zeros(tree.batch, np.int64)
    action = np.zeros(tree.batch, np.int64)
    active = ~tree.terminal[:, 0]
    expand = active.copy()
    while active.any():
        idx = np.flatnonzero(active)
        a = _scores(tree, idx, node[idx], config).argmax(-1)
        child = tree.children[idx, node[idx], a]
        action[idx] = a
        new_leaf = child < 0
        # Stop at an unexpanded action (expand it) or on a terminal child (back its value up again).
        stepped = idx[~new_leaf]
        node[stepped] = child[~new_leaf]
        hit_terminal = tree.terminal[stepped, node[stepped]]
        expand[stepped[hit_terminal]] = False
        active[idx[new_leaf]] = False
        active[stepped[hit_terminal]] = False
    return node, action, expand


def _backup(tree: Tree, rows: np.ndarray, leaf: np.ndarray, value: np.ndarray) -> None:
    """Add ``value`` (to the leaf's player to move) along each path, converting it at each edge."""
    node, g = leaf.copy(), value.astype(np.float32)
    active = np.ones(len(rows), bool)
    while active.any():
        idx = rows[active]
        n = node[idx]
        visits = tree.node_visits[idx, n]
        tree.node_value[idx, n] = (tree.node_value[idx, n] * visits + g[idx]) / (visits + 1)
        tree.node_visits[idx, n] = visits + 1
        parent = tree.parent[idx, n]
        up = parent >= 0
        iu, p, a = idx[up], parent[up], tree.action_in[idx[up], n[up]]
        g[iu] = tree.child_reward[iu, p, a] + tree.child_discount[iu, p, a] * g[iu]
        tree.child_value[iu, p, a] = tree.node_value[iu, n[up]]
        tree.child_visits[iu, p, a] += 1
        node[iu] = p
        active[idx[~up]] = False


def grow(tree: Tree, capacity: int) -> Tree:
    """The same trees with room for ``capacity`` nodes each (unchanged if they have it)."""
    extra = capacity - tree.capacity
    if extra <= 0:
        return tree

    def pad(x: np.ndarray, fill: Any) -> np.ndarray:
        shape = (x.shape[0], extra, *x.shape[2:])
        return np.concatenate([x, np.full(shape, fill, x.dtype)], axis=1)

    fills = {"parent": -1, "action_in": -1, "children": -1}
    fields = {f: pad(getattr(tree, f), fills.get(f, 0)) for f in _ARRAYS if f != "size"}
    return replace(tree, **fields, embedding=_map(lambda x: pad(x, 0), tree.embedding))


def visit_policy(tree: Tree, temperature: float) -> np.ndarray:
    """float32 ``[B, A]``: root visit counts raised to ``1 / temperature`` and normalised; at
    temperature 0, all mass on the most visited action (ties split evenly)."""
    visits = tree.child_visits[:, 0].astype(np.float64)
    if temperature == 0:
        top = (visits == visits.max(-1, keepdims=True)) & (tree.prior[:, 0] > 0)
        pi = top.astype(np.float64)
    else:
        # Dividing by the max first keeps N ** (1/T) finite for small T.
        pi = (visits / np.maximum(visits.max(-1, keepdims=True), 1.0)) ** (1.0 / temperature)
    return (pi / np.maximum(pi.sum(-1, keepdims=True), 1e-30)).astype(np.float32)


def advance(tree: Tree, action: np.ndarray) -> tuple[Tree, np.ndarray]:
    """Tree reuse: each tree's subtree under the root's ``action`` becomes the new tree (its
    statistics kept, node 0 its root). Returns the trees and ``reused [B]``: False where the action
    was never expanded or led to a terminal node; those rows hold an empty root that the caller
    must refill (:func:`set_roots`)."""
    b, n = tree.batch, tree.capacity
    rows = np.arange(b)
    child = tree.children[rows, 0, np.asarray(action)]
    reused = (child >= 0) & ~tree.terminal[rows, np.maximum(child, 0)]
    # A node is kept if its chain of parents reaches the chosen child. Parents precede children,
    # so one pass in index order settles every node.
    keep = np.zeros((b, n), bool)
    keep[rows[reused], child[reused]] = True
    for j in range(1, n):
        p = tree.parent[:, j]
        keep[:, j] |= (p >= 0) & keep[rows, np.maximum(p, 0)]
    new_index = np.cumsum(keep, axis=1) - 1  # old node -> new node where kept
    size = keep.sum(1).astype(np.int32)
    # Kept nodes first, in their old order; the trees shrink to the largest subtree.
    n = max(int(size.max()), 1)
    order = np.argsort(~keep, axis=1, kind="stable")[:, :n]
    valid = np.arange(n)[None, :] < size[:, None]

    def gather(x: np.ndarray, fill: Any) -> np.ndarray:
        g = np.take_along_axis(x, order.reshape(b, n, *([1] * (x.ndim - 2))), axis=1)
        mask = valid.reshape(b, n, *([1] * (x.ndim - 2)))
        return np.where(mask, g, np.asarray(fill, x.dtype))

    def renumber(x: np.ndarray) -> np.ndarray:
        old = np.maximum(x, 0).reshape(b, -1)
        mapped = np.where(x >= 0, np.take_along_axis(new_index, old, 1).reshape(x.shape), -1)
        return mapped.astype(np.int32)

    parent = renumber(gather(tree.parent, -1))
    parent[:, 0] = -1
    action_in = gather(tree.action_in, -1)
    action_in[:, 0] = -1
    new = Tree(
        node_visits=gather(tree.node_visits, 0), node_value=gather(tree.node_value, 0),
        parent=np.where(valid, parent, -1).astype(np.int32), action_in=action_in,
        terminal=gather(tree.terminal, False), children=renumber(gather(tree.children, -1)),
        prior=gather(tree.prior, 0), child_visits=gather(tree.child_visits, 0),
        child_value=gather(tree.child_value, 0), child_reward=gather(tree.child_reward, 0),
        child_discount=gather(tree.child_discount, 0), size=np.maximum(size, 1),
        embedding=_map(lambda x: gather(x, 0), tree.embedding),
    )
    return new, reused


def set_roots(tree: Tree, rows: np.ndarray, root: ModelOutput, embedding: Embedding) -> Tree:
    """Replace the trees at ``rows`` (bool ``[B]``) with fresh roots (``root`` and ``embedding``
    have one entry per selected row)."""
    idx = np.flatnonzero(rows)
    if len(idx) == 0:
        return tree
    fresh = init_tree(root, embedding, tree.capacity)
    fields = {}
    for f in _ARRAYS:
        x = getattr(tree, f).copy()
        x[idx] = getattr(fresh, f)
        fields[f] = x

    def put(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        x = x.copy()
        x[idx] = y
        return x

    emb = type(tree.embedding)(*(put(x, y) for x, y in zip(tree.embedding, fresh.embedding, strict=True)))
    return replace(tree, **fields, embedding=emb)
