"""Run the service (keyword scorer, real duplicate indexes) for the review tests that need a process.

    python tests/support/review_server.py HOME PORT

The kill test starts this, SIGKILLs it between decisions, and starts it again on the same HOME.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvicorn
from support.review_fixtures import make_app, settings_for


def main() -> None:
    home, port = Path(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        make_app(settings_for(home)), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )


if __name__ == "__main__":
    main()
