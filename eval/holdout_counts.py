"""Normal posts given a label and sellers given none, per release, from `feedguard score` on a holdout.

Why: every release judgment states, beside macro-F1, how many of a holdout's normal posts a release
labels and how many of its sellers it lets through, since that is what a user's feed and a
moderator's queue feel. Those counts come from the analyst's command, `feedguard score` (the policy's
own decisions, 64 posts per call), joined with the holdout's labels by id; `feedguard eval` scores
the holdout as one length-bucketed run, so under dynamic INT8 its flag rate can differ by a post.

    feedguard score --release R --in HOLDOUT --out S.jsonl
    python -m eval.holdout_counts --holdout HOLDOUT --scores r22=S.jsonl [--scores NAME=FILE ...]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from eval.holdout import HoldoutError, load_holdout

app = typer.Typer(
    help="Normal posts labelled and sellers missed per release on a holdout.", add_completion=False
)


def read_scores(path: Path) -> dict[str, dict[str, Any]]:
    """``{id: row}`` of a `feedguard score` output; ``ValueError`` names the first bad line."""
    rows: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: line {number}: not valid JSON ({err.msg})") from None
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("id"), str)
            or not isinstance(row.get("labels"), list)
        ):
            raise ValueError(f"{path}: line {number}: not a `feedguard score` row (needs 'id' and 'labels')")
        if row["id"] in rows:
            raise ValueError(f"{path}: line {number}: id {row['id']!r} scored twice")
        rows[row["id"]] = row
    return rows


def holdout_counts(truth: Mapping[str, bool], scored: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """Counts for one release: ``truth`` maps each holdout id to whether it is a seller post.

    A normal post counts as labelled when the release gives it any label (so `label`, `review` and
    `hide` all count); ``normal_hidden`` counts those it hides from every viewer.
    """
    missing = [post_id for post_id in truth if post_id not in scored]
    extra = [post_id for post_id in scored if post_id not in truth]
    if missing or extra:
        raise ValueError(
            f"the scores do not cover the holdout: {len(missing)} of its ids unscored"
            f" (first {missing[:1]}), {len(extra)} ids not in it (first {extra[:1]}); score the holdout file itself"
        )
    normal = [post_id for post_id, seller in truth.items() if not seller]
    sellers = [post_id for post_id, seller in truth.items() if seller]
    return {
        "normal": len(normal),
        "normal_labelled": sum(1 for i in normal if scored[i]["labels"]),
        "normal_hidden": sum(1 for i in normal if scored[i].get("action") == "hide"),
        "sellers": len(sellers),
        "sellers_missed": sum(1 for i in sellers if not scored[i]["labels"]),
    }


def _named(spec: str) -> tuple[str, Path]:
    name, sep, path = spec.partition("=")
    if not sep or not name or not path:
        raise ValueError(f"--scores takes NAME=FILE (for example r22=scores.jsonl); got {spec!r}")
    return name, Path(path)


@app.command()
def main(
    holdout: Annotated[
        Path, typer.Option(help="The holdout file (`feedguard eval --holdout` format, every row with an id).")
    ],
    scores: Annotated[
        list[str], typer.Option(help="NAME=FILE: `feedguard score` output on that holdout; repeat.")
    ],
) -> None:
    """Print one JSON line: per release name, normal posts labelled and hidden, sellers missed."""
    try:
        split = load_holdout(holdout)
        if not split.ids:
            raise ValueError(f"{holdout}: every row needs an 'id' to be joined with `feedguard score` output")
        truth = {post_id: bool(row.any()) for post_id, row in zip(split.ids, split.y, strict=True)}
        out = {}
        for spec in scores:
            name, path = _named(spec)
            if not path.is_file():
                raise ValueError(f"--scores {name}: no such file {path}")
            out[name] = holdout_counts(truth, read_scores(path))
    except (HoldoutError, ValueError) as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    typer.echo(json.dumps(out))


if __name__ == "__main__":
    app()
