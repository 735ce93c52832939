"""The policy file: how calibrated scores become an action.

The text model gives three raw scores. Two questions sit between those and what the
feed does, and both are decisions about *data*, not code, so they live in one JSON
file (``policy.json``, next to the model in the release) that training writes and
serving reads:

1. **Calibration.** Per label, a monotone map from the model's logit ``z`` to a
   probability: ``p = sigmoid(scale * z + bias)``. ``temperature`` scaling is the case
   ``bias = 0, scale = 1 / T``; ``platt`` scaling fits both; ``identity`` is ``scale = 1,
   bias = 0``. Calibrated scores are what the service reports.
2. **Thresholds.** Per action and label, the smallest calibrated score at which the
   action's stated precision target was met on the data named in ``chosen_on``
   (validation + the hand-written dev set). A threshold of ``null`` means the target
   could not be met there, so that action never fires for that label.

Action rules (:meth:`Policy.decide`), strongest first:

* ``hide``   -- any *deception* label (``deception_labels``: recruitment, fake_proof)
  is at or over its ``hide`` threshold;
* ``review`` -- any deception label is at or over its ``review`` threshold;
* ``label``  -- any label is at or over its ``label`` threshold;
* ``allow``  -- otherwise.

Hard selling alone is allowed but labelled: the platform confines sellers, it acts on
deception. ``seller`` (what the users' hide-sellers preference uses) is the largest
of the three calibrated scores.

``rules`` holds the further knobs the Scorer's fusion reads (near-duplicate account
counts, account-history bumps), so that no threshold is a constant in code. This
module needs numpy only: the feed service embeds it without torch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model.labels import ACTIONS, LABELS

POLICY_FORMAT = "feedguard-policy/1"
CALIBRATION_METHODS = ("identity", "temperature", "platt")
#: Actions that have thresholds (``allow`` is what is left).
THRESHOLD_ACTIONS = ("label", "review", "hide")
#: Clip probabilities this far from 0 and 1 before turning them back into logits.
_PROB_EPS = 1e-7


@dataclass(frozen=True)
class LabelCalibration:
    """``p = sigmoid(scale * logit + bias)`` for one label."""

    method: str = "identity"
    scale: float = 1.0
    bias: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in CALIBRATION_METHODS:
            raise ValueError(
                f"The 'method' parameter of LabelCalibration must be one of {', '.join(CALIBRATION_METHODS)};"
                f" got {self.method!r} instead."
            )
        for name in ("scale", "bias"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ValueError(
                    f"The {name!r} parameter of LabelCalibration must be a finite number; got {value!r} instead."
                )
        if self.scale <= 0:
            # A non-positive scale would flip or flatten the ranking the thresholds were chosen on.
            raise ValueError(
                f"The 'scale' parameter of LabelCalibration must be > 0; got {self.scale!r} instead."
            )

    def apply(self, logits: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for an array of logits."""
        z = self.scale * np.asarray(logits, dtype=np.float64) + self.bias
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "scale": float(self.scale), "bias": float(self.bias)}


@dataclass(frozen=True)
class Decision:
    """What to do with one post, and which labels were over their ``label`` threshold."""

    action: str
    labels_over: tuple[str, ...]
    #: Deception labels that triggered ``review`` or ``hide`` (empty otherwise).
    escalated_by: tuple[str, ...] = ()


def _check_threshold(action: str, label: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= float(value) <= 1.0:
        raise ValueError(
            f"The threshold for action {action!r} and label {label!r} must be a number in [0, 1] or null;"
            f" got {value!r} instead."
        )
    return float(value)


@dataclass(frozen=True)
class Policy:
    """Calibration, thresholds and fusion rules, as loaded from ``policy.json``."""

    thresholds: Mapping[str, Mapping[str, float | None]]
    calibration: Mapping[str, LabelCalibration] = field(
        default_factory=lambda: {label: LabelCalibration() for label in LABELS}
    )
    targets: Mapping[str, float] = field(default_factory=dict)
    deception_labels: tuple[str, ...] = ("recruitment", "fake_proof")
    rules: Mapping[str, Any] = field(default_factory=dict)
    chosen_on: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.calibration) != set(LABELS):
            raise ValueError(
                f"The 'calibration' parameter of Policy must have exactly the labels {', '.join(LABELS)};"
                f" got {', '.join(sorted(self.calibration))} instead."
            )
        for label in self.deception_labels:
            if label not in LABELS:
                raise ValueError(
                    f"The 'deception_labels' parameter of Policy must name labels from {', '.join(LABELS)};"
                    f" got {label!r} instead."
                )
        if set(self.thresholds) != set(THRESHOLD_ACTIONS):
            raise ValueError(
                f"The 'thresholds' parameter of Policy must have exactly the actions"
                f" {', '.join(THRESHOLD_ACTIONS)}; got {', '.join(sorted(self.thresholds))} instead."
            )
        clean: dict[str, dict[str, float | None]] = {}
        for action in THRESHOLD_ACTIONS:
            wanted = LABELS if action == "label" else self.deception_labels
            given = self.thresholds[action]
            if set(given) != set(wanted):
                raise ValueError(
                    f"The thresholds for action {action!r} must cover exactly the labels {', '.join(wanted)};"
                    f" got {', '.join(sorted(given))} instead."
                )
            clean[action] = {label: _check_threshold(action, label, given[label]) for label in wanted}
        object.__setattr__(self, "thresholds", clean)
        for action, target in self.targets.items():
            if action not in THRESHOLD_ACTIONS or not 0.0 < float(target) <= 1.0:
                raise ValueError(
                    f"The 'targets' parameter of Policy must map actions {', '.join(THRESHOLD_ACTIONS)} to a"
                    f" precision in (0, 1]; got {action!r}: {target!r} instead."
                )

    # ------------------------------------------------------------------ scores
    def calibrate(
        self, logits_or_probs: np.ndarray | Sequence[Sequence[float]], *, kind: str = "probs"
    ) -> np.ndarray:
        """Calibrated probabilities, shape ``(n, len(LABELS))``.

        ``kind="probs"`` (the default) takes what ``predict_proba`` returns (sigmoid of the
        logits) and inverts the sigmoid first; ``kind="logits"`` takes raw logits. The two
        give the same result up to float rounding near 0 and 1.
        """
        values = np.asarray(logits_or_probs, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(LABELS):
            raise ValueError(
                f"The 'logits_or_probs' parameter of Policy.calibrate must have shape (n, {len(LABELS)});"
                f" got {values.shape} instead."
            )
        if kind == "probs":
            if values.size and (np.nanmin(values) < 0.0 or np.nanmax(values) > 1.0):
                raise ValueError(
                    "The 'logits_or_probs' parameter of Policy.calibrate must hold probabilities in [0, 1]"
                    " when kind='probs'; got values outside it instead (pass kind='logits' for logits)."
                )
            clipped = np.clip(values, _PROB_EPS, 1.0 - _PROB_EPS)
            logits = np.log(clipped) - np.log1p(-clipped)
        elif kind == "logits":
            logits = values
        else:
            raise ValueError(
                f"The 'kind' parameter of Policy.calibrate must be 'probs' or 'logits'; got {kind!r} instead."
            )
        if not np.all(np.isfinite(logits)):
            raise ValueError(
                "The 'logits_or_probs' parameter of Policy.calibrate must be finite; got NaN/inf."
            )
        out = np.empty_like(logits)
        for j, label in enumerate(LABELS):
            out[:, j] = self.calibration[label].apply(logits[:, j])
        return out

    @staticmethod
    def seller(scores: Mapping[str, float]) -> float:
        """The aggregate seller score: the largest of the three label scores."""
        return max(float(scores[label]) for label in LABELS)

    def decide(self, scores: Mapping[str, float]) -> Decision:
        """Map one post's calibrated scores to an action (rules in the module docstring)."""
        checked = self._check_scores(scores)
        labels_over = tuple(
            label
            for label in LABELS
            if (t := self.thresholds["label"][label]) is not None and checked[label] >= t
        )
        for action in ("hide", "review"):
            over = tuple(
                label
                for label in self.deception_labels
                if (t := self.thresholds[action][label]) is not None and checked[label] >= t
            )
            if over:
                return Decision(action=action, labels_over=labels_over, escalated_by=over)
        return Decision(action="label" if labels_over else "allow", labels_over=labels_over)

    def decide_many(self, probs: np.ndarray) -> list[Decision]:
        """:meth:`decide` for every row of a calibrated ``(n, len(LABELS))`` array."""
        return [self.decide(dict(zip(LABELS, row, strict=True))) for row in np.asarray(probs, dtype=float)]

    def rule(self, name: str) -> Any:
        """One fusion rule value; a clear error names the policy key when it is missing."""
        if name not in self.rules:
            raise KeyError(
                f"The policy file has no rule {name!r}; known rules: {', '.join(sorted(self.rules)) or 'none'}."
            )
        return self.rules[name]

    @staticmethod
    def _check_scores(scores: Mapping[str, float]) -> dict[str, float]:
        if not isinstance(scores, Mapping):
            raise ValueError(
                f"The 'scores' parameter of Policy.decide must be a mapping of label to score;"
                f" got {type(scores).__name__} instead."
            )
        checked: dict[str, float] = {}
        for label in LABELS:
            if label not in scores:
                raise ValueError(
                    f"The 'scores' parameter of Policy.decide must have label {label!r}; it is missing."
                )
            value = float(scores[label])
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"The 'scores' parameter of Policy.decide must hold probabilities in [0, 1];"
                    f" got {label}={scores[label]!r} instead."
                )
            checked[label] = value
        return checked

    def missing_cuts(self) -> list[tuple[str, str]]:
        """``(action, label)`` pairs whose threshold is None: that action never fires for that label.

        Deception is what moderators must review (DOMAIN.md), so a release whose ``review``
        never fires for a deception label sends those posts nowhere but the ``label`` tag;
        whoever publishes a release should be told, not find it in a table.
        """
        return [
            (action, label)
            for action, per in self.thresholds.items()
            for label, thr in per.items()
            if thr is None
        ]

    def thresholds_markdown(self) -> str:
        """Thresholds with the precision/recall they reached where chosen (for the model card and report)."""

        def fmt(v: Any) -> str:
            return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.3f}"

        lines = [
            "| action | precision target | label | threshold | precision there | recall there | posts over |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for action in THRESHOLD_ACTIONS:
            for label, thr in self.thresholds[action].items():
                m = self.metrics.get("thresholds", {}).get(action, {}).get(label, {})
                target = self.targets.get(action)
                lines.append(
                    f"| {action} | {fmt(target)} | {label} | {fmt(thr) if thr is not None else 'never (target not met)'}"
                    f" | {fmt(m.get('precision'))} | {fmt(m.get('recall'))} | {m.get('support', '–')} |"
                )
        return "\n".join(lines)

    # ------------------------------------------------------------------ files
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": POLICY_FORMAT,
            "labels": list(LABELS),
            "actions": list(ACTIONS),
            "deception_labels": list(self.deception_labels),
            "calibration": {label: self.calibration[label].to_dict() for label in LABELS},
            "targets": {action: float(v) for action, v in self.targets.items()},
            "thresholds": {action: dict(values) for action, values in self.thresholds.items()},
            "rules": dict(self.rules),
            "chosen_on": dict(self.chosen_on),
            "metrics": dict(self.metrics),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> Policy:
        if raw.get("format") != POLICY_FORMAT:
            raise ValueError(
                f"The policy 'format' must be {POLICY_FORMAT!r}; got {raw.get('format')!r} instead."
            )
        if tuple(raw.get("labels", ())) != LABELS:
            raise ValueError(
                f"The policy 'labels' must be {list(LABELS)} (this code's label list);"
                f" got {raw.get('labels')!r} instead."
            )
        calibration = {label: LabelCalibration(**raw["calibration"][label]) for label in LABELS}
        return cls(
            thresholds=raw["thresholds"],
            calibration=calibration,
            targets=raw.get("targets", {}),
            deception_labels=tuple(raw.get("deception_labels", ())),
            rules=raw.get("rules", {}),
            chosen_on=raw.get("chosen_on", {}),
            metrics=raw.get("metrics", {}),
        )

    @classmethod
    def load(cls, path: Path | str) -> Policy:
        """Read and check a policy file."""
        path = Path(path)
        if not path.is_file():
            raise ValueError(
                f"The 'path' parameter of Policy.load must be an existing policy.json; got {str(path)!r} instead"
                " (run `feedguard model build` to create a release)."
            )
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise ValueError(f"The policy file {str(path)!r} is not valid JSON: {err}.") from err
        try:
            return cls.from_dict(raw)
        except (KeyError, TypeError) as err:
            raise ValueError(
                f"The policy file {str(path)!r} is missing or mistypes a field: {err!r}."
            ) from err

    def save(self, path: Path | str) -> Path:
        """Write the policy as pretty JSON (stable key order, so diffs review well)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path
