"""Per-category auto-resolve gates: answer on our own only where testing showed ≥ 98 % precision.

One confidently wrong automatic reply costs more than a hundred drafts, and categories differ: a
model can be near-perfect on "track my order" and unreliable on "I was charged twice". So instead of
one global threshold, each category gets the lowest calibrated-confidence threshold at which the
automatic path was right at least ``target`` of the time on labelled dev data (the tenant's own
examples, held out from training). A category where no threshold reaches the target, or where too
few dev predictions back the claim, gets no automatic path: its messages become drafts (suggest).

Gates are recomputed whenever the model changes (they describe that model's confidences), and each
:class:`Gate` keeps its evidence (precision, support, count) so an admin can see why a category is or
is not automatic. The tenant setting ``auto_gates`` maps category → threshold (``None`` = suggest);
:func:`auto_allowed` is the check the decide node applies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

DEFAULT_TARGET = 0.98
DEFAULT_MIN_SUPPORT = 10  # fewer automatic dev answers than this prove nothing about 98 %


@dataclass(frozen=True)
class Gate:
    category: str
    threshold: float | None  # lowest calibrated confidence allowed to auto-resolve; None = suggest only
    precision: float | None  # automatic-path precision on dev at ``threshold`` (at the best cut if disabled)
    support: int  # dev predictions of this category at or above the threshold
    predicted: int  # all dev predictions of this category that reached the automatic path
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def choose_gates(
    labels: Sequence[str],
    predicted: Sequence[str | None],
    confidence: Sequence[float],
    target: float = DEFAULT_TARGET,
    min_support: int = DEFAULT_MIN_SUPPORT,
    categories: Sequence[str] | None = None,
    disabled: Sequence[str] = (),
) -> dict[str, Gate]:
    """Gates from labelled dev predictions; pure, deterministic.

    ``predicted[i]`` is the category the automatic path would answer for example ``i`` (``None`` when
    something else already routes it away, e.g. the out-of-scope flag or a request for a person).
    Labels may name things no category covers (``"oos"``): such an example landing on a category
    is a wrong automatic answer for that category, which is how out-of-scope traffic tightens gates.
    ``disabled`` categories (human requests, say) never get an automatic path.
    """
    if not len(labels) == len(predicted) == len(confidence):
        raise ValueError("labels, predicted and confidence must have the same length")
    names = sorted(set(categories) if categories is not None else {p for p in predicted if p is not None})
    gates: dict[str, Gate] = {}
    for name in names:
        rows = sorted(
            ((float(c), lbl == name) for lbl, p, c in zip(labels, predicted, confidence, strict=True) if p == name),
            key=lambda r: -r[0],
        )
        if name in disabled:
            gates[name] = Gate(name, None, None, 0, len(rows), "automatic answers disabled for this category")
            continue
        best: tuple[float, float, int] | None = None  # lowest passing threshold, its precision, support
        top_precision: float | None = None
        right = 0
        for i, (conf, ok) in enumerate(rows):
            right += ok
            # A cut is only possible between distinct confidences: all tied rows pass together.
            if i + 1 < len(rows) and rows[i + 1][0] == conf:
                continue
            support = i + 1
            precision = right / support
            if support >= min_support:
                top_precision = precision if top_precision is None else max(top_precision, precision)
                if precision >= target:
                    best = (conf, precision, support)
        if best is not None:
            threshold, precision, support = best
            gates[name] = Gate(name, round(threshold, 6), round(precision, 4), support, len(rows),
                               f"precision {precision:.3f} ≥ {target:.2f} on {support} dev answers")
        elif len(rows) < min_support:
            gates[name] = Gate(name, None, None, 0, len(rows),
                               f"only {len(rows)} dev predictions (< {min_support}): not enough evidence")
        else:
            gates[name] = Gate(name, None, None if top_precision is None else round(top_precision, 4), 0, len(rows),
                               f"no threshold reaches precision {target:.2f} (best {top_precision or 0:.3f})")
    return gates


def gates_setting(gates: Mapping[str, Gate]) -> dict[str, float | None]:
    """The tenant setting ``auto_gates``: category → threshold, ``None`` meaning suggest only."""
    return {name: gate.threshold for name, gate in sorted(gates.items())}


def auto_allowed(setting: Mapping[str, float | None] | None, category: str, confidence: float) -> bool:
    """May the automatic path answer this category at this calibrated confidence?

    No gates configured means the tenant has not measured anything yet: the older global thresholds
    decide alone (returns True). Once gates exist, an unlisted category has no evidence and is refused.
    """
    if not setting:
        return True
    threshold = setting.get(category)
    return threshold is not None and confidence >= float(threshold)
