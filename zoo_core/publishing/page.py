"""The static leaderboard page: `index.html` with one ranked table and one score plot per env.

Drawn from the leaderboard files as they are (no re-evaluation; `zoo leaderboard verify` does that).
Every file is written atomically, so a browser or web server never sees half a page.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

from zoo_core.publishing.leaderboard import Board
from zoo_core.running.atomic import atomic_path

__all__ = ["plot_board", "render"]

_STYLE = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{padding:.3rem .7rem;border-bottom:1px solid #ddd;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:.9em}img{max-width:100%}"""


def plot_board(board: Board, out_png: Path) -> None:
    """Score plot of a board's entries, best at the top: IQM with its CI as error bars, mean as a marker."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    entries = board.ranked()[::-1]  # barh-style: the first row is drawn at the bottom
    ys = range(len(entries))
    iqms = [e["iqm"] for e in entries]
    errors = [[e["iqm"] - e["ci"][0] for e in entries], [e["ci"][1] - e["iqm"] for e in entries]]
    fig = Figure(figsize=(7, 1.2 + 0.45 * len(entries)), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.errorbar(iqms, ys, xerr=errors, fmt="o", capsize=4, label="IQM, 95% CI")
    ax.plot([e["mean"] for e in entries], ys, "x", color="black", label="mean")
    # A board ranked by success names each entry's success rate beside it (the order's first key).
    ax.set_yticks(list(ys), [f"{e['name']} ({board.success_text(e)} success)" if board.success else e["name"]
                             for e in entries])
    protocol = board.eval_protocol
    ax.set_xlabel(f"return over {protocol.episodes} episodes" if board.metric == "return" else
                  f"{board.metric} over {protocol.episodes} held-out items (lower is better)" if board.lower_is_better
                  else f"{board.metric} over {protocol.episodes} held-out items")
    ax.set_title(board.env_id)
    ax.grid(True, axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.margins(x=0.08, y=0.3)  # keep end markers off the frame
    # Beside the axes, so it never covers a marker.
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize="small")
    with atomic_path(out_png, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")


def _protocol_html(board: Board) -> str:
    p = board.protocol
    cap = f"{p['max_steps']} steps" if p["max_steps"] else "none beyond the env's own"
    b = p["bootstrap"]
    items = [
        f"{p['episodes']} episodes; episode i is reset with seed {p['seed']} + i" if board.metric == "return" else
        f"{board.metric} on {p['episodes']} held-out items; item i is the env's reset with seed {p['seed']} + i; "
        + ("lower is better" if board.lower_is_better else "higher is better"),
        (f"actions sampled from the agent's policy, each draw from the episode's own generator; ε = {p['epsilon']}"
         if p.get("sample") else f"ε = {p['epsilon']}" + (" (greedy)" if p["epsilon"] == 0 else "")),
        f"step cap per episode: {cap}; env time limit: {p['time_limit'] or 'none'}",
        f"env (outermost first): <code>{html.escape(' → '.join(p['wrappers']))}</code>",
        *(["ranked by the success rate (the fraction of episodes the env reports as successes), then IQM"]
          if board.success else []),
        f"IQM {b['confidence']:.0%} CI: stratified bootstrap, {b['reps']} resamples, strata of "
        f"{b['stratum_size']} consecutive episodes, rng seed {b['seed']}",
        f"protocol sha256 <code>{board.sha256[:16]}…</code>",
    ]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _table_html(board: Board) -> str:
    if not board.entries:
        return "<p><em>No entries yet.</em></p>"
    rows = []
    for i, e in enumerate(board.ranked(), 1):
        agent = e["agent"] + (f"@{e['commit'][:12]}" if e.get("commit") else "")
        cells = [
            f'<td class="num">{i}</td>',
            f"<td>{html.escape(e['name'])}</td>",
            f"<td><code>{html.escape(agent)}</code></td>",
            f'<td class="num">{board.iqm_text(e)}</td>',
            f'<td class="num">{board.mean_text(e)}</td>',
            *([f'<td class="num">{board.success_text(e)}</td>'] if board.success else []),
            f"<td><code>{e['files']['model.safetensors'][:12]}</code></td>",
            f"<td>{html.escape(str(e.get('date', '')))}</td>",
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    columns = ("#", "name", "agent", "IQM [95% CI]", "mean ± std", *(("success",) if board.success else ()),
               "model sha256", "date")
    head = "".join(f"<th>{h}</th>" for h in columns)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def render(boards: Sequence[Board], out: Path) -> list[Path]:
    """Write `out/index.html` and `out/<env>.png` for each board that has entries; returns the files."""
    out = Path(out)
    written = []
    sections = []
    for board in boards:
        stem = board.path.stem
        plot = ""
        if board.entries:
            png = out / f"{stem}.png"
            plot_board(board, png)
            written.append(png)
            plot = f'<img src="{html.escape(png.name)}" alt="scores on {html.escape(board.env_id)}">'
        sections.append(
            f'<h2 id="{html.escape(stem)}">{html.escape(board.env_id)}</h2>'
            f"<p>{html.escape(board.description)}</p>{_protocol_html(board)}{_table_html(board)}{plot}"
        )
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Agent Zoo leaderboards</title><style>{_STYLE}</style></head>
<body><h1>Agent Zoo leaderboards</h1>
<p>Every score was produced by the zoo re-evaluating the agent under the leaderboard's fixed protocol;
none is self-reported. Ranked by IQM (interquartile mean). Re-check them all with
<code>zoo leaderboard verify</code>.</p>
{"".join(sections) or "<p>No leaderboards.</p>"}
</body></html>
"""
    index = out / "index.html"
    with atomic_path(index, suffix=".html") as tmp:
        tmp.write_text(page, encoding="utf-8")
    return [index, *written]
