"""Learner clusters: Ward chooses k at the largest fusion jump, k-means assigns, deterministically."""

from __future__ import annotations

import numpy as np

from transforms.sequences.clusters import choose_k, cluster_learners

STYLES = np.array([[0.7, 0.2, 0.05, 0.05], [0.05, 0.7, 0.2, 0.05], [0.05, 0.05, 0.2, 0.7]])


def _learners(per_style: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    truth = np.repeat(np.arange(len(STYLES)), per_style)
    counts = np.vstack([rng.multinomial(60, STYLES[s]) for s in truth])
    return counts, truth


def test_three_separated_styles_are_found():
    counts, truth = _learners(40)
    outcome = cluster_learners(counts, k=None, k_max=6, ward_sample=2000, seed=1)
    assert outcome is not None and outcome.k == 3
    assert outcome.k_chosen_by == "largest jump in Ward fusion heights"
    # every true style lands in exactly one cluster and each cluster holds one style
    pairs = {(int(t), int(c)) for t, c in zip(truth, outcome.labels, strict=True)}
    assert len(pairs) == 3 and len({c for _, c in pairs}) == 3
    np.testing.assert_allclose(np.sort(outcome.centroid_proportions[:, 0]), np.sort(STYLES[:, 0]), atol=0.05)
    assert outcome.sizes.tolist() == [40, 40, 40]


def test_sampled_ward_and_fixed_k_are_deterministic():
    counts, _ = _learners(300)
    first = cluster_learners(counts, k=None, k_max=6, ward_sample=100, seed=7)
    again = cluster_learners(counts, k=None, k_max=6, ward_sample=100, seed=7)
    assert first is not None and again is not None and first.ward_sample_size == 100
    assert np.array_equal(first.labels, again.labels) and first.k == 3
    fixed = cluster_learners(counts, k=2, k_max=6, ward_sample=2000, seed=7)
    assert fixed is not None and fixed.k == 2 and fixed.k_chosen_by == "fixed in the scheme"


def test_choose_k_takes_the_largest_jump():
    heights = np.array([0.1, 0.2, 0.25, 0.3, 2.0, 2.2])  # merging into 2 clusters costs the big jump
    assert choose_k(heights, k_max=5) == 3


def test_too_few_learners():
    assert cluster_learners(np.array([[3, 1], [1, 3]]), k=None, k_max=4, ward_sample=100, seed=1) is None
