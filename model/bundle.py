"""The release bundle: INT8 ONNX model + tokenizer + policy file (+ the n-gram model it is
blended with, when the build chose a blend, + the slower model unsure posts escalate to, when the
build made a cascade), checked by one manifest.

Training, evaluation, the service and the batch job all load the model through
:func:`load_bundle`, so they cannot disagree about the labels, the tokenizer or the
maximum length, and a file changed after the release was built is refused instead of
silently scored with. No torch here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model.labels import LABELS
from model.ngram_model import NGRAM_FILES, NgramModel
from model.onnx_classifier import OnnxTextClassifier
from model.packed_weights import unpack_file, unpacked_name
from model.text_cascade import CascadeTextClassifier, Route, check_band, check_window
from model.text_ensemble import BlendedTextClassifier, check_ngram_weight
from model.tokenizer import CHAR_MAP_FILE, TOKENIZER_FILE, PostTokenizer

RELEASE_DIR = Path(__file__).parent / "release"
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
#: Fields every manifest must carry; ``files`` and ``labels`` are filled in by write_manifest.
REQUIRED_FIELDS = ("model_file", "policy_file", "max_length")
#: Optional fields of a blended release: the n-gram model's folder and its weight in the blend.
NGRAM_DIR_FIELD, NGRAM_WEIGHT_FIELD = "ngram_dir", "ngram_weight"
#: Optional field of a cascade release (``model.text_cascade``): an object naming the slow model's
#: ONNX file (``model_file``), what escalates a post (a logit ``band`` around 0, or a ``window`` per
#: label: exactly one of them), and the slow model's own n-gram weight (``ngram_weight``, 0 for
#: none); ``model_role`` and ``encoder_layers`` describe it.
ESCALATION_FIELD = "escalation"
#: Optional field: a file of weights several of the release's ONNX models read as external data
#: (``model.onnx_export.share_initializers``); a cascade stores the table both halves hold once.
#: A name ending in ``.xz`` is that file packed (``model.packed_weights``), unpacked at load.
SHARED_WEIGHTS_FIELD, SHARED_WEIGHTS_FILE = "shared_weights_file", "shared_weights.bin"
ESCALATION_KEYS = ("model_file", "ngram_weight")
ESCALATION_ROUTES = ("band", "window")
_BUILD_HINT = "run `feedguard model build`"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hashed_files(directory: Path) -> list[Path]:
    """Files the manifest covers: everything but the manifest, dotfiles and Markdown documentation.

    The model card is excluded so that editing prose never makes a release unloadable.
    """
    return sorted(
        p
        for p in directory.rglob("*")
        if p.is_file()
        and p.name != MANIFEST
        and p.suffix.lower() != ".md"
        and not any(part.startswith(".") for part in p.relative_to(directory).parts)
    )


def write_manifest(directory: Path, **fields: Any) -> Path:
    """Write ``manifest.json`` into ``directory`` with the sha256 of every file present there.

    Pass at least ``model_file``, ``policy_file`` and ``max_length``; add provenance such as
    ``data_manifest_hash``, ``seed``, ``code_version``. Call it last, after all files are in place.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ValueError(
            f"The 'directory' parameter of write_manifest must be an existing folder; got {directory}."
        )
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing:
        raise ValueError(f"write_manifest needs the fields {', '.join(missing)}; got only {sorted(fields)}.")
    for key in ("model_file", "policy_file"):
        if not (directory / str(fields[key])).is_file():
            raise ValueError(
                f"The '{key}' field of write_manifest must name a file in {directory}; got {fields[key]!r} instead."
            )
    escalation = fields.get(ESCALATION_FIELD)
    if escalation is not None:
        _check_escalation(escalation, "write_manifest")
        if not (directory / str(escalation["model_file"])).is_file():
            raise ValueError(
                f"The escalation 'model_file' of write_manifest must name a file in {directory};"
                f" got {escalation['model_file']!r} instead."
            )
    if "labels" in fields and tuple(fields["labels"]) != LABELS:
        raise ValueError(
            f"The 'labels' field of write_manifest must be {list(LABELS)}; got {fields['labels']!r}."
        )
    manifest = {
        "format": MANIFEST_FORMAT,
        **fields,
        "labels": list(LABELS),
        "files": {p.relative_to(directory).as_posix(): sha256_file(p) for p in _hashed_files(directory)},
    }
    path = directory / MANIFEST
    path.write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    return path


def _check_escalation(escalation: Any, where: str) -> dict:
    """The manifest's escalation object, checked, or a ValueError naming ``where`` and the fix."""
    if (
        not isinstance(escalation, dict)
        or any(key not in escalation for key in ESCALATION_KEYS)
        or sum(key in escalation for key in ESCALATION_ROUTES) != 1
    ):
        raise ValueError(
            f"The '{ESCALATION_FIELD}' field of {where} must be an object with model_file, ngram_weight and"
            f" one of band or window; got {escalation!r} instead; {_BUILD_HINT}."
        )
    if "band" in escalation:
        check_band(escalation["band"], f"{where} ({ESCALATION_FIELD})")
    else:
        check_window(escalation["window"], f"{where} ({ESCALATION_FIELD})")
    check_ngram_weight(escalation["ngram_weight"], f"{where} ({ESCALATION_FIELD})")
    return escalation


def escalation_route(escalation: dict) -> Route:
    """What routes a post to a cascade's slow model: the manifest escalation's band or its window."""
    return escalation["band"] if "band" in escalation else escalation["window"]


def describe_route(escalation: dict) -> str:
    """Which posts a cascade re-scores, in the words reports and cards use."""
    if "band" in escalation:
        return f"posts within {float(escalation['band']):g} of the boundary"
    return "posts inside the fast model's window around a label cut"


@dataclass
class ModelBundle:
    """A verified release: where it is, its manifest, the ready classifier and the policy file."""

    directory: Path
    manifest: dict
    #: What the release scores with: the INT8 encoder, the encoder blended with the n-gram model,
    #: or a cascade of two of those.
    classifier: OnnxTextClassifier | BlendedTextClassifier | CascadeTextClassifier
    policy_path: Path


def read_manifest(directory: Path = RELEASE_DIR) -> dict:
    """Parse and hash-check ``manifest.json``; raise with what to do when anything is off."""
    directory = Path(directory)
    path = directory / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"No model release in {directory} (no {MANIFEST}); {_BUILD_HINT}.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err}); {_BUILD_HINT}.") from err
    if manifest.get("format") != MANIFEST_FORMAT:
        raise ValueError(
            f"{path} has format {manifest.get('format')!r}; expected {MANIFEST_FORMAT}; {_BUILD_HINT}."
        )
    if tuple(manifest.get("labels", ())) != LABELS:
        raise ValueError(f"{path} lists labels {manifest.get('labels')}; this code expects {list(LABELS)}.")
    missing = [name for name in REQUIRED_FIELDS if name not in manifest]
    if missing:
        raise ValueError(f"{path} lacks the fields {', '.join(missing)}; {_BUILD_HINT}.")
    if (NGRAM_DIR_FIELD in manifest) != (NGRAM_WEIGHT_FIELD in manifest):
        raise ValueError(
            f"{path} must carry both {NGRAM_DIR_FIELD} and {NGRAM_WEIGHT_FIELD} or neither; {_BUILD_HINT}."
        )
    needed = [manifest["model_file"], manifest["policy_file"], TOKENIZER_FILE, CHAR_MAP_FILE]
    if NGRAM_DIR_FIELD in manifest:
        check_ngram_weight(manifest[NGRAM_WEIGHT_FIELD], str(path))
        needed += [f"{manifest[NGRAM_DIR_FIELD]}/{name}" for name in NGRAM_FILES]
    if ESCALATION_FIELD in manifest:
        escalation = _check_escalation(manifest[ESCALATION_FIELD], str(path))
        if escalation["ngram_weight"] and NGRAM_DIR_FIELD not in manifest:
            raise ValueError(
                f"{path} blends its escalation model with an n-gram model but has no {NGRAM_DIR_FIELD};"
                f" {_BUILD_HINT}."
            )
        needed.append(escalation["model_file"])
    if SHARED_WEIGHTS_FIELD in manifest:
        needed.append(manifest[SHARED_WEIGHTS_FIELD])
    files = manifest.get("files", {})
    for name in needed:
        if name not in files:
            raise ValueError(f"{path} does not hash {name!r}; {_BUILD_HINT}.")
    for name, expected in files.items():
        file = directory / name
        if not file.is_file():
            raise FileNotFoundError(f"The release file {file} is missing; {_BUILD_HINT}.")
        actual = sha256_file(file)
        if actual != expected:
            raise ValueError(
                f"The release file {file} has sha256 {actual[:12]}…, the manifest says {expected[:12]}…; "
                f"it changed after the release was built; {_BUILD_HINT}."
            )
    return manifest


def describe_model(manifest: dict) -> str:
    """What a release scores with, in a few words (benchmark reports name the model they timed)."""
    text = f"{manifest.get('model_role', '?')}, {manifest.get('encoder_layers', '?')} encoder layers"
    if NGRAM_WEIGHT_FIELD in manifest:
        text += f" + n-gram model at {float(manifest[NGRAM_WEIGHT_FIELD]):.1f}"
    escalation = manifest.get(ESCALATION_FIELD)
    if escalation:
        text += (
            f"; {describe_route(escalation)} re-scored by the"
            f" {escalation.get('model_role', '?')} ({escalation.get('encoder_layers', '?')} layers"
        )
        weight = float(escalation["ngram_weight"])
        text += f" + n-gram model at {weight:.1f})" if weight else ")"
    return text


def load_bundle(directory: Path = RELEASE_DIR, *, intra_op_threads: int | None = None) -> ModelBundle:
    """Load and verify a release: hashes, labels, tokenizer, ONNX session; the one way to get the model."""
    directory = Path(directory)
    manifest = read_manifest(directory)
    tokenizer = PostTokenizer.load(directory)
    ngram = NgramModel.load(directory / manifest[NGRAM_DIR_FIELD]) if NGRAM_DIR_FIELD in manifest else None
    shared = manifest.get(SHARED_WEIGHTS_FIELD)
    location = unpacked_name(shared) if shared else None
    # Freed once both sessions are made: onnxruntime copies what it reads.
    external_files = {location: unpack_file(directory / shared)} if location else None

    def served(model_file: str, ngram_weight: float) -> OnnxTextClassifier | BlendedTextClassifier:
        encoder = OnnxTextClassifier(
            directory / model_file,
            tokenizer,
            int(manifest["max_length"]),
            intra_op_threads=intra_op_threads,
            external_files=external_files,
        )
        return BlendedTextClassifier(encoder, ngram, ngram_weight) if ngram and ngram_weight else encoder

    classifier: OnnxTextClassifier | BlendedTextClassifier | CascadeTextClassifier = served(
        manifest["model_file"], manifest.get(NGRAM_WEIGHT_FIELD, 0.0)
    )
    escalation = manifest.get(ESCALATION_FIELD)
    if escalation:
        slow = served(escalation["model_file"], escalation["ngram_weight"])
        classifier = CascadeTextClassifier(classifier, slow, escalation_route(escalation))
    return ModelBundle(directory, manifest, classifier, directory / manifest["policy_file"])
