"""One router per resource; handlers stay thin (logic lives in ``model/`` and ``serve.store``)."""

from serve.routes import feed, health, preferences, reports, score

ROUTERS = (score.router, feed.router, preferences.router, reports.router, health.router)

__all__ = ["ROUTERS"]
