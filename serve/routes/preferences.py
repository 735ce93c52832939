"""``GET/PUT /v1/users/{user_id}/preferences``: the users' hide-sellers preference."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from serve.auth import PreferencesCaller
from serve.routes.deps import ServiceDep
from serve.routes.score import ERRORS
from serve.schemas import ID_PATTERN, MAX_ID_CHARS, PreferencesIn, PreferencesOut
from serve.store import repo

router = APIRouter(tags=["preferences"])

UserId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS, pattern=ID_PATTERN)]


@router.get("/v1/users/{user_id}/preferences", response_model=PreferencesOut, responses=ERRORS)
async def get_preferences(user_id: UserId, service: ServiceDep, _caller: PreferencesCaller) -> PreferencesOut:
    """A user's preferences; users who never set any get the defaults (``updated_at`` null)."""

    def read(session: Session) -> PreferencesOut:
        row = repo.get_preference(session, user_id)
        if row is None:
            return PreferencesOut(user_id=user_id, hide_seller_posts=False, updated_at=None)
        return PreferencesOut(
            user_id=user_id, hide_seller_posts=row.hide_seller_posts, updated_at=row.updated_at
        )

    return await run_in_threadpool(service.with_store, "read preferences", read, write=False)


@router.put("/v1/users/{user_id}/preferences", response_model=PreferencesOut, responses=ERRORS)
async def put_preferences(
    user_id: UserId, body: PreferencesIn, service: ServiceDep, _caller: PreferencesCaller
) -> PreferencesOut:
    """Set a user's preferences (the whole object: today only ``hide_seller_posts``)."""

    def write(session: Session) -> PreferencesOut:
        row = repo.set_preference(session, user_id, body.hide_seller_posts)
        return PreferencesOut(
            user_id=user_id, hide_seller_posts=row.hide_seller_posts, updated_at=row.updated_at
        )

    return await run_in_threadpool(service.with_store, "write preferences", write)
