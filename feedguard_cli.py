"""The one `feedguard` command.

Each area owns its verbs in its own typer app; this module only wires them together,
which is why it is the one place that imports from every area.
"""

from __future__ import annotations

import typer

from data.batch_cli import app as batch_data_app
from data.cli import app as data_app
from eval.cli import app as eval_app
from eval.demo import app as demo_app
from model.images_cli import app as images_app
from model.score_cli import app as score_app
from serve.batch.cli import app as batch_app
from serve.cli import app as serve_app
from serve.review.cli import app as users_app
from train.cli import app as model_app

app = typer.Typer(
    help="FeedGuard: scores friend-feed posts for micro-business (微商) spam.",
    no_args_is_help=True,
    add_completion=False,
)

# Verb groups: `feedguard data build`, ...
app.add_typer(data_app, name="data")
app.add_typer(model_app, name="model")
app.add_typer(images_app, name="images")
app.add_typer(users_app, name="users")
# `feedguard batch score` (serve: Ray job) and `feedguard batch generate` (data: synthetic day).
batch_app.registered_commands.extend(batch_data_app.registered_commands)
app.add_typer(batch_app, name="batch")


def _merge_top_level(source: typer.Typer) -> None:
    """Expose a group's commands as top-level verbs (`feedguard serve`, not `feedguard serve serve`)."""
    app.registered_commands.extend(source.registered_commands)


_merge_top_level(score_app)
_merge_top_level(eval_app)
_merge_top_level(serve_app)
_merge_top_level(demo_app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
