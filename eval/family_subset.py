"""Macro-F1 of a report's models on a synthetic split without some generator families.

Why: session 34's round of hand-written posts was written toward families `test` was missing, so
`test` as a whole could no longer say whether it helped on ideas nobody wrote toward. This reads a
`feedguard eval` report's metrics.json (its per-family error counts) and gives each model's macro-F1
on the split with and without the named families, the same counts the report's tables come from.

    python -m eval.family_subset --metrics OUT/metrics.json --split test --without fake_proof/expert_vouch [--without ...]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from eval.text_metrics import macro_f1_without_groups

app = typer.Typer(help="Macro-F1 of a report's models without some generator families.", add_completion=False)


def family_subset(metrics: dict[str, Any], split: str, without: list[str]) -> dict[str, dict[str, Any]]:
    """Per model of the report: macro-F1 on ``split`` whole and without ``without``, and posts kept."""
    out: dict[str, dict[str, Any]] = {}
    for model, splits in metrics.items():
        per_family = (splits.get(split) or {}).get("per_family_errors") if isinstance(splits, dict) else None
        if not per_family:
            continue
        kept = sum(v["posts"] for f, v in per_family.items() if f not in without)
        out[model] = {
            "whole": round(macro_f1_without_groups(per_family), 4),
            "without": round(macro_f1_without_groups(per_family, without), 4),
            "posts_kept": kept,
        }
    if not out:
        raise ValueError(
            f"No model in the report has per-family errors on {split!r} (synthetic splits only)."
        )
    return out


@app.command()
def main(
    metrics: Annotated[Path, typer.Option(help="metrics.json of a `feedguard eval` report.")],
    without: Annotated[list[str], typer.Option(help="A generator family to leave out; repeat.")],
    split: Annotated[str, typer.Option(help="The synthetic split: test, evasion or validation.")] = "test",
) -> None:
    """Print one JSON line: per model, macro-F1 on the split whole and without the families."""
    try:
        report = json.loads(metrics.read_text(encoding="utf-8"))
        typer.echo(json.dumps(family_subset(report, split, without)))
    except OSError as err:
        typer.echo(f"error: --metrics: cannot read {metrics}: {err.strerror}", err=True)
        raise typer.Exit(2) from None
    except (json.JSONDecodeError, AttributeError) as err:
        typer.echo(f"error: --metrics: {metrics} is not a feedguard eval metrics.json ({err})", err=True)
        raise typer.Exit(2) from None
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None


if __name__ == "__main__":
    app()
