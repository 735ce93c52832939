"""Merge the parts of a new outside holdout and drop the posts a model may already have met.

An outside holdout judges a release only if its posts are new to everything the release was
built from. Its writers share a register with the training writers and with each other, so now and
then a post lands a few characters away from a training post, a dev post or a post of a holdout
that already set thresholds or judged; such a post measures memory, not reading. A post is dropped
when its character-trigram Jaccard similarity to any reference post is at least 0.5 (normalized
text, so a full-width or traditional copy counts as the same post), and when it repeats an earlier
post of the holdout. The reference is the hand-written training rounds, the dev set and every
``--against`` file (the threshold posts and the holdouts used before).

Counts only are printed: nobody building the model reads a holdout's texts. The kept rows are
written unchanged, in their parts' order.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from model.normalize import normalize

#: Jaccard similarity of character-trigram sets at and above which a post counts as already met.
SIMILARITY = 0.5


def trigrams(text: str) -> frozenset[str]:
    """Character trigrams of the normalized text (a text under three characters is its own gram)."""
    norm = normalize(text).text
    return frozenset(norm[i : i + 3] for i in range(max(1, len(norm) - 2)))


class TrigramIndex:
    """Reference posts by trigram, so a candidate is compared only with posts it shares a gram with."""

    def __init__(self, texts: Iterable[str]) -> None:
        self._grams: list[frozenset[str]] = []
        self._posts_by_gram: dict[str, list[int]] = {}
        for text in texts:
            self.add(text)

    def __len__(self) -> int:
        return len(self._grams)

    def add(self, text: str) -> None:
        grams = trigrams(text)
        for gram in grams:
            self._posts_by_gram.setdefault(gram, []).append(len(self._grams))
        self._grams.append(grams)

    def is_near(self, text: str, threshold: float = SIMILARITY) -> bool:
        """Whether some reference post is at least ``threshold`` similar to ``text``."""
        grams = trigrams(text)
        shared = Counter(i for gram in grams for i in self._posts_by_gram.get(gram, ()))
        return any(n / len(grams | self._grams[i]) >= threshold for i, n in shared.items())


@dataclass
class CleanedHoldout:
    """The kept rows and, per part, how many were kept or dropped and why."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    kept: Counter[str] = field(default_factory=Counter)
    near_reference: Counter[str] = field(default_factory=Counter)
    repeats: Counter[str] = field(default_factory=Counter)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a holdout file, checked as `feedguard eval --holdout` checks them (a bad row stops)."""
    from eval.holdout import load_holdout

    load_holdout(path)  # raises HoldoutError naming every bad line
    lines = Path(path).read_text(encoding="utf-8-sig").split("\n")
    return [json.loads(line) for line in lines if line.strip()]


def clean_parts(
    parts: Sequence[Path], reference: TrigramIndex, threshold: float = SIMILARITY
) -> CleanedHoldout:
    """Every part's rows in order, less those near a reference post and those repeating a kept one."""
    result = CleanedHoldout()
    seen: set[str] = set()
    for part in parts:
        name = str(part)
        for row in read_rows(part):
            if reference.is_near(row["text"], threshold):
                result.near_reference[name] += 1
                continue
            norm = normalize(row["text"]).text
            if norm in seen:
                result.repeats[name] += 1
                continue
            seen.add(norm)
            result.rows.append(row)
            result.kept[name] += 1
    return result


def reference_texts(handwritten_rounds: int, with_dev: bool, against: Sequence[Path]) -> list[str]:
    """Texts a new holdout must stay clear of: training rounds, dev set, and each ``against`` file."""
    from data.build import load_handwritten_rows
    from data.devset import load_devset

    texts = [row["text"] for row in load_handwritten_rows(handwritten_rounds)] if handwritten_rounds else []
    if with_dev:
        texts += [row["text"] for row in load_devset()]
    for path in against:
        texts += [row["text"] for row in read_rows(path)]
    return texts


app = typer.Typer(
    help="Merge a new outside holdout's parts, dropping posts near training, dev or used holdouts."
)


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _read_hardneg(paths: Sequence[Path]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in paths:
        try:
            names = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: cannot read hard-negative situations ({err})") from None
        if not isinstance(names, dict):
            raise ValueError(f"{path}: must be a JSON object mapping post id to situation")
        merged.update(names)
    return merged


@app.command()
def main(
    part: Annotated[
        list[Path], typer.Option(help="A part of the new holdout (JSON Lines, `--holdout` format); repeat.")
    ],
    out: Annotated[Path, typer.Option(help="Folder for holdout_clean.jsonl (and hardneg.json).")],
    against: Annotated[
        list[Path] | None,
        typer.Option(help="Posts to stay clear of (used holdouts, threshold posts); repeat."),
    ] = None,
    hardneg: Annotated[
        list[Path] | None,
        typer.Option(help="JSON object of hard-negative id -> situation; kept ids are written."),
    ] = None,
    handwritten_rounds: Annotated[
        int | None,
        typer.Option(help="Hand-written training rounds to stay clear of (0: none; default: every round)."),
    ] = None,
    dev: Annotated[bool, typer.Option(help="Stay clear of the hand-written dev set.")] = True,
    threshold: Annotated[
        float, typer.Option(help="Trigram Jaccard at which a post counts as met.")
    ] = SIMILARITY,
) -> None:
    """Write OUT/holdout_clean.jsonl and print counts (never texts) as one JSON line."""
    from data.build import HANDWRITTEN_ROUNDS

    if handwritten_rounds is None:
        handwritten_rounds = len(HANDWRITTEN_ROUNDS)
    if not 0 <= handwritten_rounds <= len(HANDWRITTEN_ROUNDS):
        _fail(f"--handwritten-rounds must be in 0..{len(HANDWRITTEN_ROUNDS)}; got {handwritten_rounds}.")
    if not 0 < threshold <= 1:
        _fail(f"--threshold must be in (0, 1]; got {threshold}.")
    if out.exists() and not out.is_dir():
        _fail(f"--out must be a folder; {out} is a file.")
    target = out / "holdout_clean.jsonl"
    if any(p.resolve() == target.resolve() for p in part):
        _fail(f"--out would overwrite the part {target}; pick another folder.")
    try:
        situations = _read_hardneg(hardneg or [])
        reference = TrigramIndex(reference_texts(handwritten_rounds, dev, against or []))
        cleaned = clean_parts(part, reference, threshold)
    except (FileNotFoundError, ValueError) as err:
        _fail(str(err))
    out.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in cleaned.rows), encoding="utf-8"
    )
    kept_ids = {r.get("id") for r in cleaned.rows}
    counts: dict[str, Any] = {
        "reference_posts": len(reference),
        "parts": {
            str(p): {
                "kept": cleaned.kept[str(p)],
                "near_reference": cleaned.near_reference[str(p)],
                "repeats": cleaned.repeats[str(p)],
            }
            for p in part
        },
        "kept": len(cleaned.rows),
        "normal": sum(1 for r in cleaned.rows if not r["labels"]),
        "sellers": sum(1 for r in cleaned.rows if r["labels"]),
    }
    if hardneg:
        kept_situations = {k: v for k, v in situations.items() if k in kept_ids}
        (out / "hardneg.json").write_text(
            json.dumps(kept_situations, ensure_ascii=False, indent=0), encoding="utf-8"
        )
        counts["hard_negatives"] = len(kept_situations)
    typer.echo(json.dumps(counts, ensure_ascii=False))


if __name__ == "__main__":
    app()
