"""Learner clusters from behaviour-frequency profiles: Ward to choose k, then k-means.

This is a generic, defensible two-step design (lsa-method.md §4). Hou's papers report
"behaviour cluster analysis" without the details, so outputs say "generic design", never
"Hou's procedure". Ward's linkage needs O(n²) memory, so it runs on a fixed-seed sample of at
most ``ward_sample`` learners; k-means then assigns every learner, starting from the Ward
centroids, which makes it deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.cluster.vq import kmeans2

from transforms.reporting.i18n import N_

DESIGN_LABEL = N_("generic two-step design (Ward's linkage to choose k, then k-means); not Hou's published procedure")


@dataclass(frozen=True)
class Clustering:
    k: int
    k_chosen_by: str  # "fixed in the scheme" or "largest jump in Ward fusion heights"
    labels: np.ndarray  # cluster 1..k per learner (profile row)
    centroid_proportions: np.ndarray  # k × K mean code proportions
    grand_mean: np.ndarray  # K
    fusion_heights: np.ndarray  # the last Ward merge heights, highest first (k = 1, 2, …)
    ward_sample_size: int
    sizes: np.ndarray


def profiles(counts: np.ndarray) -> np.ndarray:
    """Each learner's share of each code among their coded events."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.zeros_like(counts, dtype=np.float64), where=totals > 0)


def _standardize(features: np.ndarray) -> np.ndarray:
    spread = features.std(axis=0)
    return np.divide(features - features.mean(axis=0), spread, out=np.zeros_like(features), where=spread > 0)


def choose_k(heights: np.ndarray, k_max: int) -> int:
    """The k before the largest jump in fusion height (the agglomeration-coefficient elbow).

    ``heights`` are merge heights in increasing order; going from k to k−1 clusters costs
    heights[-(k-1)], so the jump into k−1 clusters is heights[-(k-1)] − heights[-k].
    """
    candidates = range(2, min(k_max, len(heights)) + 1)
    jumps = {k: heights[-(k - 1)] - heights[-k] for k in candidates}
    return max(jumps, key=lambda k: (jumps[k], -k))


def cluster_learners(
    counts: np.ndarray, k: int | None, k_max: int, ward_sample: int, seed: int
) -> Clustering | None:
    """Cluster learners (rows of ``counts``: events per code). ``None`` when there are too few."""
    proportions = profiles(counts.astype(np.float64))
    n = proportions.shape[0]
    if n < 3 or (k is not None and n <= k):
        return None
    features = _standardize(proportions)
    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(n, size=ward_sample, replace=False)) if n > ward_sample else np.arange(n)
    tree = linkage(features[sample], method="ward")
    heights = tree[:, 2]
    chosen_by = N_("fixed in the scheme") if k is not None else N_("largest jump in Ward fusion heights")
    k = k if k is not None else choose_k(heights, k_max)
    ward_labels = fcluster(tree, t=k, criterion="maxclust")
    k = int(ward_labels.max())  # ties in heights can give fewer clusters than asked
    start = np.vstack([features[sample][ward_labels == c].mean(axis=0) for c in range(1, k + 1)])
    _, labels = kmeans2(features, start, minit="matrix", iter=50, seed=seed, missing="warn")
    labels = _renumber_by_size(labels, k)
    centroids = np.vstack([proportions[labels == c].mean(axis=0) if (labels == c).any() else
                           np.full(proportions.shape[1], np.nan) for c in range(1, k + 1)])
    return Clustering(
        k=k, k_chosen_by=chosen_by, labels=labels, centroid_proportions=centroids,
        grand_mean=proportions.mean(axis=0), fusion_heights=heights[::-1][: max(k_max, k) + 1],
        ward_sample_size=int(sample.size), sizes=np.bincount(labels, minlength=k + 1)[1:],
    )


def _renumber_by_size(labels: np.ndarray, k: int) -> np.ndarray:
    """Clusters 1..k, largest first, so the numbering does not depend on k-means internals."""
    sizes = np.bincount(labels, minlength=k)
    order = np.argsort(-sizes, kind="stable")
    rank = np.empty(k, dtype=np.int64)
    rank[order] = np.arange(1, k + 1)
    return rank[labels]
