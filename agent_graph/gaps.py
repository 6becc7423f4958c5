"""Grouping customer questions into topics by embedding: the core of knowledge-base gap reports.

Pure (vectors in, cluster labels out) so the same code serves the product (questions that ended in a
handoff or a weak retrieval become topics for admins) and ``python -m bench.gaps`` (which measures it
on BANKING77 against the true intents).

Why agglomerative clustering with a cosine distance threshold: nobody knows how many gap topics a
week of handoffs holds, so the method must not be told a cluster count; a distance threshold is a
property of the embedding space (how far apart two phrasings of one need are), so one value
calibrated on labelled data transfers to a tenant's unlabelled questions. Average linkage is used
because single linkage chains unrelated questions through intermediate ones and complete linkage
splits a topic whenever two of its phrasings are far apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Cosine distance at which two groups stop merging: the best mean ARI (0.71) over three BANKING77
# samples of 10 intents × 20 utterances (bench.gaps seeds 0-2) on a 0.30-0.90 grid; 0.45-0.60 are
# within a few points. bench.gaps re-chooses it on other intents for the number it reports.
DEFAULT_DISTANCE_THRESHOLD = 0.5


@dataclass(frozen=True)
class Cluster:
    label: int
    size: int
    members: list[int]  # row indices into the input, in input order
    representatives: list[int]  # members closest to the cluster's mean direction, best first


@dataclass(frozen=True)
class Clustering:
    labels: np.ndarray  # (n,) cluster label per input row; labels are 0..k-1, largest cluster first
    clusters: list[Cluster]  # largest first

    @property
    def n_clusters(self) -> int:
        return len(self.clusters)


def cluster(vectors: np.ndarray, *, distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD,
            n_representatives: int = 3) -> Clustering:
    """Clusters L2-normalised vectors; every row gets a label (callers drop small clusters if they wish)."""
    x = np.asarray(vectors, dtype=np.float32)
    n = len(x)
    if n == 0:
        return Clustering(np.zeros(0, dtype=np.int64), [])
    if n == 1:
        raw = np.zeros(1, dtype=np.int64)
    else:
        from sklearn.cluster import AgglomerativeClustering

        raw = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average",
                                      distance_threshold=distance_threshold).fit_predict(x)
    # Renumber by size (ties by first appearance) so label 0 is always the biggest topic.
    ids, first, counts = np.unique(raw, return_index=True, return_counts=True)
    order = sorted(range(len(ids)), key=lambda i: (-counts[i], first[i]))
    relabel = {int(ids[i]): new for new, i in enumerate(order)}
    labels = np.array([relabel[int(r)] for r in raw], dtype=np.int64)
    clusters: list[Cluster] = []
    for k in range(len(ids)):
        members = np.flatnonzero(labels == k)
        centre = x[members].mean(axis=0)
        centre /= max(float(np.linalg.norm(centre)), 1e-12)
        ranked = members[np.argsort(-(x[members] @ centre), kind="stable")]
        clusters.append(Cluster(k, len(members), members.tolist(), ranked[:n_representatives].tolist()))
    return Clustering(labels, clusters)


def choose_threshold(vectors: np.ndarray, truth: Sequence[str],
                     candidates: Sequence[float] = tuple(np.round(np.arange(0.30, 0.91, 0.05), 2))
                     ) -> tuple[float, float]:
    """The threshold with the best adjusted Rand index on labelled data, and that ARI.

    Use it on a calibration sample, never on the data the result is reported for.
    """
    from sklearn.metrics import adjusted_rand_score

    best = (float(candidates[0]), -1.0)
    for t in candidates:
        ari = float(adjusted_rand_score(truth, cluster(vectors, distance_threshold=float(t)).labels))
        if ari > best[1]:
            best = (float(t), ari)
    return best
