"""Synthetic friend-feed post generator: composable parts, template families, hard negatives, evasion.

Public API: :class:`GeneratedPost`, :func:`generate_posts`, :func:`list_families`, :func:`family_label`.
The family id of each post is the unit of the train/test split (whole families are held out).
"""

from __future__ import annotations

from data.generator.compose import GeneratedPost, family_label, generate_posts, list_families

__all__ = ["GeneratedPost", "family_label", "generate_posts", "list_families"]
