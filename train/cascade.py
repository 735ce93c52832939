"""`feedguard model cascade`: two releases composed into one: the fast one on every post, the slow one
on the posts the fast one is unsure of.

Why: the 12-layer release holds the hand-written sellers that every 4- and 6-layer student missed
more of, but it is a third as fast; a student release is fast but misses them. Most posts sit far
from the fast release's cuts, where the two agree, so the slow model is paid for only on the few
near a cut. Unlike ``feedguard model build --escalate-band`` (one build's own student and teacher,
a band around 0), this takes two finished releases, so a released model whose work dir is gone can
still be the slow half, and it places each label's window around the fast release's own ``label``
cut: from ``lower`` below it to ``upper`` above it in the fast release's calibrated log-odds. A
seller the fast model misses sits below its cut, so ``lower`` is the wider side.

The composed release ships the fast model as ``model.onnx``, the slow one as ``escalation.onnx``,
one tokenizer, normalizer table and n-gram model (both sources must have the same ones), and a new
policy fitted on the cascade's logits as served over the selection posts (validation, the
hand-written dev set and, when given, the threshold posts), with the slow release's calibration
settings and fusion rules. Nothing is trained; the models compute as their sources do, and a
weight both hold byte for byte (the word-embedding table, in r20) is stored once, in
``shared_weights.bin`` (ONNX external data), so the cascade does not carry it twice, and that file
is packed with xz (``shared_weights.bin.xz``, ``model.packed_weights``), unpacked in memory at load.
"""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model.bundle import (
    ESCALATION_FIELD,
    MANIFEST,
    NGRAM_DIR_FIELD,
    NGRAM_WEIGHT_FIELD,
    SHARED_WEIGHTS_FIELD,
    SHARED_WEIGHTS_FILE,
    load_bundle,
    read_manifest,
    sha256_file,
    write_manifest,
)
from model.labels import LABELS
from model.ngram_model import NgramModel
from model.onnx_export import EMBEDDING_BLOCK, share_initializers, store_word_embeddings_4bit
from model.packed_weights import pack_file, unpacked_name
from model.policy import Policy
from model.text_cascade import escalated
from model.tokenizer import CHAR_MAP_FILE, TOKENIZER_FILE, PostTokenizer
from train.baseline import NgramBaseline
from train.calibrate import CalibrationConfig, build_policy
from train.release import CARD_FILE, release_size_mb
from train.shrink import (
    COMPOSED_FIELD,
    check_out_folder,
    demoted_card,
    figure_sections,
    measure_against_source,
    replace_release,
    reproduce_section,
)

FAST_MODEL_FILE, SLOW_MODEL_FILE, POLICY_FILE = "model.onnx", "escalation.onnx", "policy.json"
#: The smallest tensor worth storing once for both models (the 4-bit table's per-block scales are 0.45 MB).
SHARE_MIN_BYTES = 64 << 10
#: Manifest field saying how the word-embedding table is stored when not as the sources stored it.
EMBEDDING_STORAGE_FIELD = "embedding_storage"
#: How far apart the two sources' n-gram weights may be and still count as one model (float32 vs
#: float64 storage of the same fit differ by about 1e-7).
NGRAM_TOLERANCE = 1e-5
#: The card's timing rows for the two releases timed side by side.
SLOW_ROW, CASCADE_ROW = "the slow release alone (as served)", "this cascade (as served)"
#: Manifest fields that describe one model, kept per source under ``composed_from``.
_SOURCE_FIELDS = (
    "model_role",
    "encoder_layers",
    NGRAM_WEIGHT_FIELD,
    "seed",
    "data_manifest_hash",
    "code_version",
)


def escalation_window(policy: Policy, lower: float, upper: float) -> dict[str, list[float]]:
    """Per label, the fast logits whose calibrated log-odds lie within ``(-lower, +upper)`` of the label cut.

    The policy's calibration is ``p = sigmoid(scale * z + bias)``, so the window in the fast
    model's own logits ``z`` is exact: ``((cut - lower - bias) / scale, (cut + upper - bias) / scale)``.
    """
    for name, value in (("lower", lower), ("upper", upper)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
            raise ValueError(
                f"The {name!r} parameter of escalation_window must be a positive number; got {value!r}."
            )
    window = {}
    for label in LABELS:
        cut = policy.thresholds["label"].get(label)
        if cut is None:
            raise ValueError(
                f"The fast release's policy has no 'label' cut for {label}; a cascade's window sits around it."
            )
        cal = policy.calibration[label]
        cut_odds = math.log(cut / (1.0 - cut))
        window[label] = [(cut_odds - lower - cal.bias) / cal.scale, (cut_odds + upper - cal.bias) / cal.scale]
    return window


def calibration_config_of(policy: Policy) -> CalibrationConfig:
    """The settings a policy was fitted with (targets, method, support, bags), to fit another the same way."""
    chosen = policy.chosen_on
    return CalibrationConfig(
        label_precision=policy.targets.get("label"),
        review_precision=policy.targets.get("review", 0.97),
        hide_precision=policy.targets.get("hide", 0.99),
        method=chosen.get("method", "platt"),
        min_support=int(chosen.get("min_support", 5)),
        deception_labels=tuple(policy.deception_labels),
        label_bags=int(chosen.get("label_bags", 0)),
        bag_seed=int(chosen.get("bag_seed", 0)),
    )


def _same_ngram(fast: Path, slow: Path) -> bool:
    """Whether two n-gram folders hold one model: the same vocabulary and settings, weights within tolerance."""
    a, b = NgramModel.load(fast), NgramModel.load(slow)
    return (
        a.config == b.config
        and a.vocabulary_ == b.vocabulary_
        and all(
            x.shape == y.shape and np.allclose(x, y, rtol=0, atol=NGRAM_TOLERANCE)
            for x, y in ((a.idf_, b.idf_), (a.coef_, b.coef_), (a.intercept_, b.intercept_))
        )
    )


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def check_sources(
    fast: Path, slow: Path, fast_manifest: Mapping[str, Any], slow_manifest: Mapping[str, Any]
) -> None:
    """Refuse two releases that cannot share one tokenizer, one normalizer table and one n-gram model."""
    for where, manifest in ((fast, fast_manifest), (slow, slow_manifest)):
        if ESCALATION_FIELD in manifest:
            raise ValueError(f"{where} is already a cascade; compose two single-model releases.")
    if fast.resolve() == slow.resolve():
        raise ValueError("--fast and --slow are the same release; a cascade needs two.")
    # Compared parsed: an indented and a compact file can hold one tokenizer.
    for name in (TOKENIZER_FILE, CHAR_MAP_FILE):
        if _json(fast / name) != _json(slow / name):
            raise ValueError(
                f"--fast and --slow have different {name} files; a cascade tokenizes and normalizes each post once,"
                " so both releases must come from one vocabulary."
            )
    if int(fast_manifest["max_length"]) != int(slow_manifest["max_length"]):
        raise ValueError(
            f"--fast reads {fast_manifest['max_length']} tokens and --slow {slow_manifest['max_length']};"
            " a cascade needs one max_length."
        )
    both_blend = NGRAM_DIR_FIELD in fast_manifest and NGRAM_DIR_FIELD in slow_manifest
    if both_blend and not _same_ngram(
        fast / fast_manifest[NGRAM_DIR_FIELD], slow / slow_manifest[NGRAM_DIR_FIELD]
    ):
        raise ValueError(
            "--fast and --slow blend different n-gram models; a cascade ships one, so both must be the same fit."
        )


def _source_record(directory: Path, manifest: Mapping[str, Any]) -> dict[str, Any]:
    return {"manifest_sha256": sha256_file(directory / MANIFEST)} | {
        key: manifest[key] for key in _SOURCE_FIELDS if key in manifest
    }


def _assemble(
    partial: Path, fast: Path, slow: Path, fast_m: Mapping[str, Any], slow_m: Mapping[str, Any]
) -> None:
    """Copy the files both halves need into ``partial``; the n-gram model is the slow release's when it has one."""
    partial.mkdir(parents=True)
    shutil.copy2(fast / fast_m["model_file"], partial / FAST_MODEL_FILE)
    shutil.copy2(slow / slow_m["model_file"], partial / SLOW_MODEL_FILE)
    PostTokenizer.load(slow).save(partial)  # re-saved, not copied: releases before r21 wrote it indented
    ngram_source = slow / slow_m[NGRAM_DIR_FIELD] if NGRAM_DIR_FIELD in slow_m else None
    if ngram_source is None and NGRAM_DIR_FIELD in fast_m:
        ngram_source = fast / fast_m[NGRAM_DIR_FIELD]
    if ngram_source is not None:  # rewritten in the current format: the same model, fewer bytes
        NgramBaseline.load(ngram_source).save(partial / "ngram")
    shutil.copy2(slow / slow_m["policy_file"], partial / POLICY_FILE)  # replaced by the cascade's own below


def compose_cascade(
    fast: Path,
    slow: Path,
    out: Path,
    *,
    lower: float,
    upper: float,
    selection: Mapping[str, Any],
    embedding_bits: int = 8,
    splits: Mapping[str, Any] | None = None,
    bench_texts: Sequence[str] = (),
    bench_work: Path | None = None,
    threads: int | None = None,
    quiet_below: float | None = None,
    command: str = "",
    code_version: str = "unknown",
    chosen_on: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``out``: the cascade of ``fast`` and ``slow`` with a policy fitted on its logits.

    ``selection`` (``eval.text_report.EvalSplit`` by source name; the threshold posts under
    ``train.release.THRESHOLD_SOURCE``) is what the policy is fitted on, each source weighing the
    same; ``splits`` are scored by the cascade and by ``slow`` for the card, with the share of
    posts escalated; ``bench_texts`` times both as served in one run (with ``bench_work``'s
    PyTorch teacher beside them, for the speed-up column). Nothing is left at ``out`` on failure.
    """
    fast, slow, out = Path(fast), Path(slow), Path(out)
    if embedding_bits not in (4, 8):
        raise ValueError(
            f"The 'embedding_bits' parameter of compose_cascade must be 8 or 4; got {embedding_bits!r}."
        )
    fast_m, slow_m = read_manifest(fast), read_manifest(slow)  # hash-checked
    check_sources(fast, slow, fast_m, slow_m)
    check_out_folder(out, [fast, slow])
    if not selection:
        raise ValueError("The 'selection' parameter of compose_cascade must name at least one split.")
    fast_policy, slow_policy = (
        Policy.load(fast / fast_m["policy_file"]),
        Policy.load(slow / slow_m["policy_file"]),
    )
    window = escalation_window(fast_policy, lower, upper)
    partial = out.parent / f".{out.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        _assemble(partial, fast, slow, fast_m, slow_m)
        models = [partial / FAST_MODEL_FILE, partial / SLOW_MODEL_FILE]
        if embedding_bits == 4:
            for model in models:
                store_word_embeddings_4bit(model)
        shared = share_initializers(models, SHARED_WEIGHTS_FILE, min_bytes=SHARE_MIN_BYTES)
        shared_file, unpacked_growth_mb = None, 0.0
        if shared:
            raw_bytes = (partial / SHARED_WEIGHTS_FILE).stat().st_size
            packed = pack_file(partial / SHARED_WEIGHTS_FILE)
            shared_file, unpacked_growth_mb = packed.name, (raw_bytes - packed.stat().st_size) / 1e6
        fields: dict[str, Any] = {
            key: slow_m[key]
            for key in ("base_model", "data_manifest_hash", "data_code_version", "seed")
            if key in slow_m
        } | {
            "model_file": FAST_MODEL_FILE,
            "policy_file": POLICY_FILE,
            "max_length": int(slow_m["max_length"]),
            "model_role": fast_m.get("model_role", "?"),
            "encoder_layers": fast_m.get("encoder_layers", "?"),
            "code_version": code_version,
        }
        if (partial / "ngram").is_dir():
            fields |= {
                NGRAM_DIR_FIELD: "ngram",
                NGRAM_WEIGHT_FIELD: float(fast_m.get(NGRAM_WEIGHT_FIELD, 0.0)),
            }
        fields[ESCALATION_FIELD] = {
            "model_file": SLOW_MODEL_FILE,
            "window": window,
            "ngram_weight": float(slow_m.get(NGRAM_WEIGHT_FIELD, 0.0)),
            "model_role": slow_m.get("model_role", "?"),
            "encoder_layers": slow_m.get("encoder_layers", "?"),
        }
        if shared_file:
            fields[SHARED_WEIGHTS_FIELD] = shared_file
        if embedding_bits == 4:
            fields[EMBEDDING_STORAGE_FIELD] = f"4-bit, blocks of {EMBEDDING_BLOCK} per row (both models)"
        fields[COMPOSED_FIELD] = {
            "fast": _source_record(fast, fast_m),
            "slow": _source_record(slow, slow_m),
            "lower": float(lower),
            "upper": float(upper),
        }
        write_manifest(partial, **fields)  # the slow release's policy for now, so the cascade can load
        bundle = load_bundle(partial, intra_op_threads=threads)
        scored = {name: bundle.classifier.scored(rows.texts) for name, rows in selection.items()}
        policy = build_policy(
            np.concatenate([logits for logits, _ in scored.values()]),
            np.concatenate([rows.y for rows in selection.values()]),
            [name for name, rows in selection.items() for _ in range(len(rows.texts))],
            calibration_config_of(slow_policy),
            rules=slow_policy.rules,
            chosen_on={
                **(dict(chosen_on) if chosen_on else {}),
                "model": "cascade",
                "splits": list(selection),
                "escalation": {"window": window, "lower": float(lower), "upper": float(upper)},
            },
        )
        policy.save(partial / POLICY_FILE)
        write_manifest(partial, **fields)
        size_mb = release_size_mb(partial)
        result: dict[str, Any] = {
            "window": window,
            "size_mb": size_mb,
            "loaded_mb": size_mb + unpacked_growth_mb,
            "escalated": {name: float(unsure.mean()) for name, (_, unsure) in scored.items()},
        }
        if splits:  # the loaded cascade reads the new policy file: Policy.load(bundle.policy_path)
            result["figures"] = measure_against_source(
                load_bundle(slow, intra_op_threads=threads), bundle, splits
            )
            result["escalated"] |= {
                name: float(escalated(bundle.classifier.fast.logits(rows.texts), window).mean())
                for name, rows in splits.items()
            }
        if bench_texts:
            from eval.bench_text import run_text_bench

            result["bench"] = run_text_bench(
                bench_work,
                bench_texts,
                max_length=int(slow_m["max_length"]),
                threads=threads,
                releases={SLOW_ROW: slow, CASCADE_ROW: partial},
                quiet_below=quiet_below,
            )
        (partial / CARD_FILE).write_text(
            render_card(result, fields, policy, _cards(fast, slow), command), encoding="utf-8"
        )
        replace_release(out, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return result


def _cards(fast: Path, slow: Path) -> dict[str, str]:
    return {
        name: (d / CARD_FILE).read_text(encoding="utf-8") if (d / CARD_FILE).is_file() else ""
        for name, d in (("fast", fast), ("slow", slow))
    }


def _loaded_note(result: Mapping[str, Any]) -> str:
    loaded = result["loaded_mb"]
    return f" ({loaded:.1f} MB once loaded)" if loaded > result["size_mb"] + 0.05 else ""


def _shared_note(fields: Mapping[str, Any]) -> str:
    note = ""
    if SHARED_WEIGHTS_FIELD in fields:
        note += (
            ", and the weights both models hold byte for byte (the word-embedding table) are stored once, in"
            f" `{fields[SHARED_WEIGHTS_FIELD]}`, which both ONNX files read as external data"
        )
        if unpacked_name(fields[SHARED_WEIGHTS_FIELD]):
            note += " (xz-compressed, lossless; unpacked in memory when the release loads)"

    if EMBEDDING_STORAGE_FIELD in fields:
        note += (
            f"; the word-embedding table is stored {fields[EMBEDDING_STORAGE_FIELD]}, not in the sources' 8 bits,"
            " so both models score from a rounded table and the figures below are this release's own"
        )
    return note


def render_card(
    result: Mapping[str, Any],
    fields: Mapping[str, Any],
    policy: Policy,
    source_cards: Mapping[str, str],
    command: str,
) -> str:
    """The cascade's card: what it is, its own figures beside the slow release's, speed, then both sources' cards."""
    composed, escalation = fields[COMPOSED_FIELD], fields[ESCALATION_FIELD]
    fast, slow = composed["fast"], composed["slow"]

    def describe(record: Mapping[str, Any]) -> str:
        weight = record.get(NGRAM_WEIGHT_FIELD)
        blend = f" + n-gram at {float(weight):.1f}" if weight else ""
        return (
            f"{record.get('model_role', '?')}, {record.get('encoder_layers', '?')} encoder layers{blend}"
            f" (manifest sha256 `{record['manifest_sha256']}`)"
        )

    window_rows = [
        f"| {label} | {low:.2f} | {high:.2f} |" for label, (low, high) in escalation["window"].items()
    ]
    parts = [
        "# FeedGuard text model — model card",
        "",
        f"This release is a **cascade of two released models**, composed by `feedguard model cascade`"
        f" (`train.cascade`); nothing was trained for it. Every post is scored by the fast model, {describe(fast)};"
        f" a post goes on to the slow model, {describe(slow)}, when for some label the fast model's calibrated"
        f" log-odds lie between {composed['lower']:g} below and {composed['upper']:g} above the fast release's own"
        " `label` cut. The served logits are the slow model's on those posts and the fast model's elsewhere;"
        " this release's policy (calibration and thresholds) is fitted on them as served, over"
        f" {', '.join(f'{n} ({c})' for n, c in policy.chosen_on.get('rows', {}).items())} posts, each source"
        " weighing the same, with the slow release's calibration settings and fusion rules."
        f" One tokenizer, normalizer table and n-gram model serve both{_shared_note(fields)}."
        f" Release size {result['size_mb']:.1f} MB on disk{_loaded_note(result)}.",
        "",
        "Escalation window in the fast model's blended logits (`manifest.json` → `escalation.window`):",
        "",
        "| label | from | to |",
        "| --- | --- | --- |",
        *window_rows,
        "",
        "Share of posts the slow model re-scores: "
        + ", ".join(f"{name} {share:.1%}" for name, share in result["escalated"].items())
        + ".",
        "",
        "## Policy",
        "",
        policy.thresholds_markdown(),
        "",
    ]
    figures = result.get("figures")
    if figures:
        parts += figure_sections(
            figures,
            headline="this release as served; calibrated, policy `label` thresholds",
            beside="Beside the slow release alone (the `source` rows; each release read by its own policy)",
        )
        parts += _detail_sections(figures)
    if result.get("bench"):
        from eval.bench_text import bench_table

        parts += ["## Speed, in one run", "", bench_table(result["bench"]), ""]
    parts += ["## Known weaknesses", "", *[f"- {note}" for note in weaknesses(result, fields)], ""]
    base = fields.get("base_model") or {}
    if base:
        parts += [
            "## Base model",
            "",
            f"{base.get('name', '?')} ({base.get('package', '?')}); licence: {base.get('licence', '?')}."
            " Both halves are fine-tuned from it.",
            "",
        ]
    if command:
        parts += reproduce_section(
            command,
            "From the two source releases (their own cards, below, name the commands that built them):",
            "The same sources give the same model, tokenizer and n-gram files byte for byte and the same policy;"
            " the manifest's code version and this card's timings are the run's own.",
        )
    for name, title in (("slow", "The slow model as built"), ("fast", "The fast model as built")):
        if source_cards.get(name, "").strip():
            parts += [f"## {title}: its release's card", "", demoted_card(source_cards[name]), ""]
    return "\n".join(parts)


def _detail_sections(figures: Mapping[str, Any]) -> list[str]:
    """Per label and split, and recall per evasion trick beside the slow release's."""
    from eval.text_report import BUILD_SPLIT_ORDER, per_label_table, trick_table

    release = figures["release"]
    splits = [s for s in BUILD_SPLIT_ORDER if s in release]
    both = {"this release": release, "the slow release alone": figures["source"]}
    parts = ["## Per label and split (this release as served)", "", per_label_table(release, splits), ""]
    parts += ["## Recall per evasion trick", ""]
    for split, title in (("evasion", "Evasion split"), ("dev", "Hand-written dev set")):
        if split in release:
            parts += [f"{title}:", "", trick_table(both, split), ""]
    return parts


def weaknesses(result: Mapping[str, Any], fields: Mapping[str, Any]) -> list[str]:
    """What a cascade cannot do that its slow half alone could, read off its own figures where it can."""
    composed = fields[COMPOSED_FIELD]
    notes = [
        "A post the fast model is sure of never reaches the slow one: a seller it scores more than"
        f" {composed['lower']:g} below its cut (calibrated log-odds) stays missed even where the slow model"
        " would catch it, so on sellers unlike its training posts the cascade can miss more than the slow"
        " model alone.",
        f"Ships both encoders: {result['size_mb']:.1f} MB.",
    ]
    models = (result.get("bench") or {}).get("models", {})
    cascade, slow = models.get(CASCADE_ROW), models.get(SLOW_ROW)
    if cascade and slow:
        notes.append(
            f"A post that goes on waits for both models: at batch 1 the p99 latency is"
            f" {cascade['p99_ms_batch1']:.1f} ms against {slow['p99_ms_batch1']:.1f} ms for the slow release alone,"
            " and the throughput falls as the share of posts re-scored rises (seller-heavy traffic re-scores most)."
        )
    rows = result.get("escalated", {})
    if rows:
        busiest = max(rows, key=rows.get)
        notes.append(f"Most re-scored: {busiest}, {rows[busiest]:.1%} of its posts.")
    notes.append(
        "The policy is fitted on the selection posts it names, so its figures there (dev, validation, threshold"
        " posts) flatter it; only holdouts written after them judge it. Each source's own weaknesses (its"
        " training data, its test families) are in its card below."
    )
    return notes
