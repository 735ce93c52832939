"""`feedguard model shrink`: a release rewritten with its weights stored smaller; same model, same policy.

Why: a release's size is mostly FP32 weights that serving never needs at full width on disk: the
FFN down-projections, which every quantizer here keeps FP32 in compute (dynamic INT8 rounding of
their long-tailed inputs cost agreement), and the n-gram model's float64 coefficients. Storing
them as INT8 blocks (``model.onnx_export.store_weights_int8``; onnxruntime folds them back to
FP32 when it loads) and float32 takes a 12-layer release from about 60 to under 40 MB without a
retrain. A retrain gives another model every time (budget-planned steps follow the machine's
pace), so a released model whose work dir is gone can only be shrunk this way.

The model files are deterministic: the same release in gives the same bytes out (the manifest's
code version and the card's timings are the run's own). The policy file,
tokenizer, blend weight and thresholds are copied unchanged; the manifest records what was
re-stored and the sha256 of the source's manifest; the card says what changed, gives the
re-measured figures when ``data`` is passed, and keeps the source's card below.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from model.bundle import (
    ESCALATION_FIELD,
    MANIFEST,
    NGRAM_DIR_FIELD,
    ModelBundle,
    load_bundle,
    read_manifest,
    sha256_file,
    write_manifest,
)
from model.ngram_model import WEIGHTS_FILE
from model.onnx_export import WEIGHT_BLOCK, ffn_down_projections, store_weights_int8
from model.policy import Policy
from train.baseline import write_npz
from train.release import CARD_FILE, headline_table, release_size_mb

#: The manifest field a shrunk release carries (and a release to shrink must not).
STORAGE_FIELD = "weight_storage"
#: The manifest field of a cascade composed by `feedguard model cascade` (``train.cascade``): its sources.
COMPOSED_FIELD = "composed_from"


def store_ngram_weights_float32(path: Path) -> Path:
    """Rewrite an n-gram ``weights.npz`` with its float arrays as float32, in place.

    The scoring path multiplies them into float64 features and returns float32 logits, so the
    rounding moves a logit by about 1e-7 of its size; the file halves.
    """
    with np.load(path, allow_pickle=False) as arrays:
        stored = {
            name: arrays[name].astype(np.float32)
            if np.issubdtype(arrays[name].dtype, np.floating)
            else arrays[name]
            for name in arrays.files
        }
    return write_npz(path, stored)


def _check_paths(source: Path, out: Path, manifest: Mapping[str, Any]) -> None:
    if STORAGE_FIELD in manifest:
        raise ValueError(
            f"{source} is already a shrunk release ({STORAGE_FIELD} in its manifest); shrink the release it came from."
        )
    if COMPOSED_FIELD in manifest:
        raise ValueError(
            f"{source} is a cascade composed of two releases ({COMPOSED_FIELD} in its manifest);"
            " shrink each of them, then compose them again with `feedguard model cascade`."
        )
    check_out_folder(out, [source])


def check_out_folder(out: Path, sources: Sequence[Path]) -> None:
    """Refuse an ``out`` that is a source release or inside one, or a folder holding anything but a release."""
    for source in sources:
        if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
            raise ValueError(
                f"--out must not be the source release {source} or inside it; the source is kept as it is."
            )
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / MANIFEST).is_file())):
        raise ValueError(
            f"--out {out} exists and is neither an empty folder nor a release; pass a new folder or a release to replace."
        )


def replace_release(out: Path, partial: Path) -> None:
    """Put the finished ``partial`` folder at ``out``. What was there (an empty folder, or a release
    such as ``model/release``) is removed only after the new one has taken its place."""
    if not out.exists():
        partial.rename(out)
        return
    previous = out.parent / f".{out.name}.previous"
    shutil.rmtree(previous, ignore_errors=True)
    out.rename(previous)
    partial.rename(out)
    shutil.rmtree(previous)


def _onnx_files(manifest: Mapping[str, Any]) -> list[str]:
    escalation = manifest.get(ESCALATION_FIELD)
    return [manifest["model_file"], *([escalation["model_file"]] if escalation else [])]


def shrink_release(
    source: Path,
    out: Path,
    *,
    splits: Mapping[str, Any] | None = None,
    bench_texts: Sequence[str] = (),
    threads: int | None = None,
    quiet_below: float | None = None,
    command: str = "",
    code_version: str = "unknown",
) -> dict[str, Any]:
    """Write ``out``: the release at ``source`` with its weights stored smaller.

    ``splits`` (``eval.text_report.EvalSplit`` by name) are scored by both releases for the
    card's re-measured table, and both are timed as served on ``bench_texts`` in one run;
    ``command`` is the command line the card names. Returns the sizes and, when asked, the
    figures and the timings. Nothing is left at ``out`` when any step fails.
    """
    source, out = Path(source), Path(out)
    manifest = read_manifest(source)  # hash-checked: a changed file is refused, not shrunk
    _check_paths(source, out, manifest)
    partial = out.parent / f".{out.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(source, partial, ignore=shutil.ignore_patterns(MANIFEST, CARD_FILE))
        for model_file in _onnx_files(manifest):
            projections = ffn_down_projections(partial / model_file)
            if not projections:
                raise ValueError(f"{source / model_file} has no FFN down-projection to store smaller.")
            store_weights_int8(partial / model_file, projections)
        if NGRAM_DIR_FIELD in manifest:
            store_ngram_weights_float32(partial / manifest[NGRAM_DIR_FIELD] / WEIGHTS_FILE)
        fields = {k: v for k, v in manifest.items() if k not in ("files", "format", "labels")}
        fields[STORAGE_FIELD] = {
            "ffn_down_projections": f"INT8, one scale per {WEIGHT_BLOCK} input rows of each output column;"
            " FP32 in compute",
            "ngram_weights": "float32" if NGRAM_DIR_FIELD in manifest else "none",
            "source_manifest_sha256": sha256_file(source / MANIFEST),
            "code_version": code_version,
        }
        write_manifest(partial, **fields)
        result: dict[str, Any] = {
            "source_mb": release_size_mb(source),
            "size_mb": release_size_mb(partial),
            "source_manifest_sha256": fields[STORAGE_FIELD]["source_manifest_sha256"],
        }
        if splits:
            result["figures"] = measure_against_source(
                load_bundle(source, intra_op_threads=threads),
                load_bundle(partial, intra_op_threads=threads),
                splits,
            )
        if bench_texts:
            from eval.bench_text import run_text_bench

            result["bench"] = run_text_bench(
                None,
                bench_texts,
                max_length=int(manifest["max_length"]),
                threads=threads,
                releases={"the source (as served)": source, "this release (as served)": partial},
                quiet_below=quiet_below,
            )
        source_card = source / CARD_FILE
        (partial / CARD_FILE).write_text(
            render_card(
                result,
                source_card.read_text(encoding="utf-8") if source_card.is_file() else "",
                command,
            ),
            encoding="utf-8",
        )
        replace_release(out, partial)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return result


def measure_against_source(
    source: ModelBundle, release: ModelBundle, splits: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """Both releases as served (each calibrated by its own policy, read at its `label` thresholds).

    ``{"source": {split: summary}, "release": {...}}`` with paired intervals against the source
    (the release a shrunk or composed one was made from).
    """
    from eval.text_report import ModelScores, compute_metrics

    models = []
    for name, bundle in (("source", source), ("release", release)):
        policy = Policy.load(bundle.policy_path)
        scores = {
            split: policy.calibrate(bundle.classifier.logits(rows.texts), kind="logits")
            for split, rows in splits.items()
        }
        models.append(ModelScores(name, scores, policy.thresholds["label"]))
    return compute_metrics(splits, models, reference="source")


def demoted_card(card: str) -> str:
    """The source's card under a heading of this one: its title dropped, its sections one level down
    (a ``#`` inside a fenced block, a shell comment in a command, is left as written)."""
    lines = card.splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    out, fenced = [], False
    for line in lines:
        if line.startswith("```"):
            fenced = not fenced
        out.append(f"#{line}" if line.startswith("#") and not fenced else line)
    return "\n".join(out).strip()


def render_card(result: Mapping[str, Any], source_card: str, command: str) -> str:
    """The shrunk release's card: what changed, its own figures when measured, then the source's card."""
    parts = [
        "# FeedGuard text model — model card",
        "",
        "This release is the model of the release it was made from (manifest sha256"
        f" `{result['source_manifest_sha256']}`) with its weights stored smaller: the FFN"
        f" down-projection weights as INT8 with one scale per {WEIGHT_BLOCK} input rows of each output"
        " column, which onnxruntime folds back to FP32 when it loads the model (the compute is the"
        " source's, with those weights rounded), and the n-gram model's weights as float32. The tokenizer,"
        " the policy file (calibration and thresholds) and the blend weight are the source's, unchanged."
        f" Release size {result['size_mb']:.1f} MB (the source: {result['source_mb']:.1f} MB).",
        "",
    ]
    figures = result.get("figures")
    if figures:
        parts += figure_sections(
            figures,
            headline="this release, re-measured; calibrated, policy `label` thresholds",
            beside="Figures of these files beside the source's",
        )
    else:
        parts += [
            "## Figures",
            "",
            "Not re-measured here (the command ran without `--data`): every figure below is the source's.",
            "",
        ]
    if result.get("bench"):
        from eval.bench_text import bench_table

        parts += [
            "## Speed of these files and the source's, in one run",
            "",
            bench_table(result["bench"]),
            "",
        ]
    if command:
        parts += reproduce_section(
            command,
            "From the source release (its own card, below, names the command that built it):",
            "The same source gives the same model, n-gram, tokenizer and policy files, byte for byte; the"
            " manifest's code version and this card's timings are the run's own.",
        )
    if source_card.strip():
        parts += [
            "## The model as built: the source release's card",
            "",
            "Its figures, speed table included, are of the weights before they were stored smaller;"
            " `python -m eval.bench_text --data DATA --release THIS --release SOURCE` times both in one run.",
            "",
            demoted_card(source_card),
            "",
        ]
    return "\n".join(parts)


def figure_sections(figures: Mapping[str, Any], *, headline: str, beside: str) -> list[str]:
    """A derived release's card sections: its own headline table, then it beside its source, paired.

    ``figures`` is :func:`measure_against_source`'s result; the headline comes first so that the
    first figure a reader (or a test) finds on the card is this release's, not the source's.
    """
    from eval.text_report import BUILD_SPLIT_ORDER, PRECISION_NOTE, comparison_table, interval_tables

    splits = [s for s in BUILD_SPLIT_ORDER if s in figures["release"]]
    return [
        f"## Headline figures ({headline})",
        "",
        *headline_table(figures["release"], splits),
        "",
        f"## {beside}",
        "",
        comparison_table(figures, splits),
        "",
        PRECISION_NOTE,
        "",
        interval_tables(figures, splits, reference="source"),
        "",
    ]


def reproduce_section(command: str, lead: str, same: str) -> list[str]:
    """The card's "Reproduce" section: what the command starts from, the command, what a rerun gives again."""
    return ["## Reproduce", "", lead, "", "```", command, "```", "", same, ""]
