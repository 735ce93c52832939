"""The one `feedguard` command: each area contributes a typer app; this file only wires them together."""
from __future__ import annotations

import typer

app = typer.Typer(help="FeedGuard: scores friend-feed posts for micro-business spam.", no_args_is_help=True)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
