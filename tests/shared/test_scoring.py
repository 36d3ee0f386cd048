"""Scoring: hand-worked numbers (DESIGN.md "Domain") and properties of every interval."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared import scoring
from shared.scoring import ces, csat, is_unhappy, nps, smiley, wilson_interval

# --- NPS: hand-worked -----------------------------------------------------------------------


def test_nps_five_promoters_three_passives_two_detractors() -> None:
    # score = (5 − 2) / 10 = 30.0 %
    # adjusted Wald: n' = 13, p' = 5.75/13 = 0.442308, d' = 2.75/13 = 0.211538
    #   p' − d' = 3/13 = 0.230769; p' + d' = 8.5/13 = 0.653846; (p' − d')² = 9/169 = 0.053254
    #   half = 1.96 · sqrt(0.600592 / 13) = 1.96 · 0.214940 = 0.421283
    #   low = 0.230769 − 0.421283 = −0.190514 → −19.1; high = 0.652052 → 65.2
    result = nps({10: 3, 9: 2, 8: 2, 7: 1, 6: 1, 0: 1})
    assert result is not None
    assert result.score == 30.0
    assert result.ci95 == (-19.1, 65.2)
    assert (result.promoters, result.passives, result.detractors, result.n) == (5, 3, 2, 10)


def test_nps_protocol_example() -> None:
    # PROTOCOL.md: 190 P, 120 S, 102 D, n = 412 → 88/412 = 0.213592 → 21.4
    # n' = 415, p' = 190.75/415 = 0.459639, d' = 102.75/415 = 0.247590, p' − d' = 0.212048
    # half = 1.96 · sqrt((0.707229 − 0.044964) / 415) = 1.96 · 0.039948 = 0.078297
    # → 0.133751 .. 0.290345 → 13.4 .. 29.0
    result = nps({10: 190, 8: 120, 3: 102})
    assert result is not None
    assert (result.score, result.ci95) == (21.4, (13.4, 29.0))


def test_nps_single_promoter_shows_the_formula_pulls_towards_zero() -> None:
    # n' = 4, p' = 1.75/4 = 0.4375, d' = 0.75/4 = 0.1875, p' − d' = 0.25
    # half = 1.96 · sqrt((0.625 − 0.0625) / 4) = 1.96 · 0.375 = 0.735 → −0.485 .. 0.985
    # (the only case where the adjusted interval leaves out the raw score: n = 1)
    result = nps({10: 1})
    assert result is not None
    assert result.score == 100.0
    assert result.ci95 == (-48.5, 98.5)


def test_nps_boundaries_of_the_groups() -> None:
    # 9 and 10 promote, 7 and 8 are passive, 0..6 detract
    result = nps({v: 1 for v in range(11)})
    assert result is not None
    assert (result.promoters, result.passives, result.detractors) == (2, 2, 7)
    assert result.score == round(100 * (2 - 7) / 11, 1) == -45.5


def test_nps_all_promoters_is_clipped_at_100() -> None:
    # n = 100: p' = 100.75/103 = 0.978155, d' = 0.007282, diff = 0.970874
    # half = 1.96 · sqrt((0.985437 − 0.942596) / 103) = 1.96 · 0.020395 = 0.039974
    # high = 1.010848 → clipped to 1 → 100.0; low = 0.930900 → 93.1
    result = nps({10: 100})
    assert result is not None
    assert result.ci95 == (93.1, 100.0)


# --- CSAT and Wilson: hand-worked -------------------------------------------------------------


def test_csat_eight_of_ten() -> None:
    # p = 0.8, z² = 3.8416, denom = 1 + 0.38416 = 1.38416
    # centre = (0.8 + 0.19208) / 1.38416 = 0.716738
    # half = 1.96 · sqrt(0.016 + 0.009604) / 1.38416 = 1.96 · 0.160012 / 1.38416 = 0.226581
    # → 0.490157 .. 0.943319 → 49.0 .. 94.3
    result = csat({5: 5, 4: 3, 3: 1, 1: 1})
    assert result is not None
    assert (result.score, result.ci95, result.n) == (80.0, (49.0, 94.3), 10)


def test_csat_protocol_example() -> None:
    # 94/120 = 0.783333 → 78.3; denom = 1.032013; centre = 0.799340/1.032013 = 0.774544
    # half = 1.96 · sqrt(0.0014144 + 0.0000667) / 1.032013 = 0.073090 → 70.1 .. 84.8
    result = csat({5: 60, 4: 34, 2: 26})
    assert result is not None
    assert (result.score, result.ci95) == (78.3, (70.1, 84.8))


def test_wilson_interval_by_hand() -> None:
    # 8/10 as above: 0.490157 .. 0.943319
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490157, abs=1e-6)
    assert high == pytest.approx(0.943319, abs=1e-6)


def test_wilson_interval_at_the_edges_contains_the_estimate() -> None:
    # 0/11 and 11/11 leave float noise (2.8e-17, 0.9999999999999999) without clamping
    assert wilson_interval(0, 11)[0] == 0.0
    assert wilson_interval(6, 6)[1] == 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


# --- CES: hand-worked -------------------------------------------------------------------------


def test_ces_mean_sd_and_interval() -> None:
    # answers 2, 4, 6, 6, 7: mean = 25/5 = 5.0
    # deviations −3, −1, 1, 1, 2 → squares sum 16, sample variance 16/4 = 4, sd = 2
    # half = 1.96 · 2 / sqrt(5) = 1.753077 → 3.246923 .. 6.753077 → 3.25 .. 6.75
    # easy (5–7): 6, 6, 7 → 3/5 = 60.0
    result = ces({2: 1, 4: 1, 6: 2, 7: 1}, scale=7)
    assert result is not None
    assert result.mean == 5.0
    assert result.mean_ci95 == (3.25, 6.75)
    assert result.easy_share == 60.0
    assert (result.n, result.scale) == (5, 7)


@pytest.mark.parametrize(
    ("counts", "scale", "expected"),
    [
        # 1 and 7: mean 4, variance (9 + 9)/1 = 18, half = 1.96 · sqrt(18)/sqrt(2) = 5.88
        # → −1.88 .. 9.88, clipped to the scale
        ({1: 1, 7: 1}, 7, (1.0, 7.0)),
        # 1 and 5: mean 3, variance 8, half = 1.96 · 2 = 3.92 → −0.92 .. 6.92 → 1 .. 5
        ({1: 1, 5: 1}, 5, (1.0, 5.0)),
        # no spread: the interval is the mean itself
        ({6: 4}, 7, (6.0, 6.0)),
    ],
)
def test_ces_interval_is_clipped_to_the_scale(
    counts: dict[int, int], scale: int, expected: tuple[float, float]
) -> None:
    result = ces(counts, scale)
    assert result is not None
    assert result.mean_ci95 == expected


@pytest.mark.parametrize("scale", [5, 7])
def test_ces_single_answer_interval_is_the_whole_scale(scale: int) -> None:
    result = ces({3: 1}, scale)
    assert result is not None
    assert (result.mean, result.mean_ci95, result.n) == (3.0, (1.0, float(scale)), 1)


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (7, 25.0),  # 5–7 easy: only the 5 → 1/4
        (5, 50.0),  # 4–5 easy: the 4 and the 5 → 2/4
    ],
)
def test_ces_easy_share_depends_on_the_scale(scale: int, expected: float) -> None:
    result = ces({3: 2, 4: 1, 5: 1}, scale)
    assert result is not None
    assert result.easy_share == expected


# --- smiley: hand-worked ----------------------------------------------------------------------


def test_smiley_five_faces() -> None:
    # positive = faces 4 and 5: 3 + 3 = 6 of n = 10 (the middle face 3 counts in n) → 60.0
    # Wilson 6/10: centre = 0.79208/1.38416 = 0.572246
    # half = 1.96 · sqrt(0.024 + 0.009604) / 1.38416 = 1.96 · 0.183314 / 1.38416 = 0.259576
    # → 0.312670 .. 0.831822 → 31.3 .. 83.2
    result = smiley({1: 1, 2: 1, 3: 2, 4: 3, 5: 3}, scale=5)
    assert result is not None
    assert result.positive_share == 60.0
    assert result.ci95 == (31.3, 83.2)
    assert result.counts == [1, 1, 2, 3, 3]
    assert result.n == 10


def test_smiley_three_faces_middle_is_neutral() -> None:
    # only face 3 is positive: 3 of 10 → 30.0
    # Wilson 3/10: centre = 0.49208/1.38416 = 0.355508
    # half = 1.96 · sqrt(0.021 + 0.009604) / 1.38416 = 0.247719 → 10.8 .. 60.3
    result = smiley({1: 2, 2: 5, 3: 3}, scale=3)
    assert result is not None
    assert (result.positive_share, result.ci95, result.n) == (30.0, (10.8, 60.3), 10)


def test_smiley_four_faces_upper_half() -> None:
    # faces 3 and 4 are positive: 2 of 4 → 50.0
    result = smiley({1: 1, 2: 1, 3: 1, 4: 1}, scale=4)
    assert result is not None
    assert result.positive_share == 50.0


def test_smiley_protocol_example() -> None:
    # 300/330 = 0.909091 → 90.9; denom = 1.011641; centre = 0.914912/1.011641 = 0.904384
    # half = 1.96 · sqrt(0.00025044 + 0.00000882) / 1.011641 = 0.031196 → 87.3 .. 93.6
    result = smiley({1: 10, 2: 20, 3: 100, 4: 200}, scale=4)
    assert result is not None
    assert (result.positive_share, result.ci95) == (90.9, (87.3, 93.6))


def test_smiley_counts_are_listed_by_face_whatever_the_mapping_order() -> None:
    result = smiley({4: 7, 1: 1, 3: 0}, scale=4)
    assert result is not None
    assert result.counts == [1, 0, 0, 7]


@pytest.mark.parametrize(
    "score",
    [
        lambda c: nps(c),
        lambda c: csat(c),
        lambda c: ces(c, 7),
        lambda c: smiley(c, 5),
    ],
    ids=["nps", "csat", "ces", "smiley"],
)
@pytest.mark.parametrize("counts", [{}, {3: 0, 5: 0}])
def test_no_answers_gives_none(score: object, counts: dict[int, int]) -> None:
    assert callable(score)
    assert score(counts) is None


@pytest.mark.parametrize(
    ("kind", "scale", "unhappy", "not_unhappy"),
    [
        ("nps", 11, 6, 7),
        ("smiley", 3, 1, 2),
        ("smiley", 4, 2, 3),
        ("smiley", 5, 2, 3),
        ("ces", 7, 3, 4),
        ("ces", 5, 2, 3),
        ("csat", 5, 2, 3),
    ],
)
def test_is_unhappy_boundary(kind: str, scale: int, unhappy: int, not_unhappy: int) -> None:
    assert is_unhappy(kind, scale, unhappy)
    assert not is_unhappy(kind, scale, not_unhappy)
    assert is_unhappy(kind, scale, 0 if kind == "nps" else 1)


# --- properties -------------------------------------------------------------------------------

tallies = st.integers(min_value=0, max_value=300)
nps_counts = st.dictionaries(st.integers(0, 10), tallies, max_size=11).filter(
    lambda c: sum(c.values()) > 0
)


@settings(max_examples=200)
@given(nps_counts)
def test_nps_interval_is_within_bounds_and_around_the_adjusted_estimate(
    counts: dict[int, int],
) -> None:
    result = nps(counts)
    assert result is not None
    low, high = result.ci95
    assert -100.0 <= low <= high <= 100.0
    assert -100.0 <= result.score <= 100.0
    assert result.promoters + result.passives + result.detractors == result.n
    adjusted = round(100 * (result.promoters - result.detractors) / (result.n + 3), 1)
    assert low <= adjusted <= high
    if result.n >= 2:  # n = 1 is the known exception, see the hand-worked test above
        assert low <= result.score <= high


@settings(max_examples=200)
@given(tallies, tallies, tallies)
def test_nps_swapping_promoters_and_detractors_mirrors_it(p: int, s: int, d: int) -> None:
    forward = nps({10: p, 8: s, 0: d})
    backward = nps({10: d, 8: s, 0: p})
    if p + s + d == 0:
        assert forward is None and backward is None
        return
    assert forward is not None and backward is not None
    assert backward.score == -forward.score
    assert backward.ci95 == (-forward.ci95[1], -forward.ci95[0])


@settings(max_examples=200)
@given(nps_counts, st.sampled_from([9, 10]))
def test_adding_a_promoter_never_lowers_nps(counts: dict[int, int], value: int) -> None:
    before = nps(counts)
    after = nps({**counts, value: counts.get(value, 0) + 1})
    assert before is not None and after is not None
    assert after.score >= before.score
    assert after.promoters == before.promoters + 1


@settings(max_examples=200)
@given(st.dictionaries(st.integers(1, 5), tallies, max_size=5).filter(lambda c: sum(c.values())))
def test_csat_interval_contains_the_score_within_0_100(counts: dict[int, int]) -> None:
    result = csat(counts)
    assert result is not None
    assert 0.0 <= result.ci95[0] <= result.score <= result.ci95[1] <= 100.0


@settings(max_examples=200)
@given(st.integers(0, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_contains_the_proportion(k_n: tuple[int, int]) -> None:
    k, n = k_n
    low, high = wilson_interval(k, n)
    if n == 0:
        assert (low, high) == (0.0, 1.0)
    else:
        assert 0.0 <= low <= k / n <= high <= 1.0


@settings(max_examples=200)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_mirrors_k_and_n_minus_k(k_n: tuple[int, int]) -> None:
    k, n = k_n
    low, high = wilson_interval(k, n)
    mirror_low, mirror_high = wilson_interval(n - k, n)
    assert low == pytest.approx(1 - mirror_high, abs=1e-12)
    assert high == pytest.approx(1 - mirror_low, abs=1e-12)


@settings(max_examples=200)
@given(
    st.integers(1, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(2, 20),
)
def test_more_answers_at_the_same_proportion_narrow_wilson(
    k_n: tuple[int, int], factor: int
) -> None:
    k, n = k_n
    low, high = wilson_interval(k, n)
    more_low, more_high = wilson_interval(k * factor, n * factor)
    assert more_high - more_low < high - low


@settings(max_examples=200)
@given(
    st.sampled_from([5, 7]).flatmap(
        lambda scale: st.tuples(
            st.dictionaries(st.integers(1, scale), tallies, max_size=scale).filter(
                lambda c: sum(c.values()) > 0
            ),
            st.just(scale),
        )
    )
)
def test_ces_interval_contains_the_mean_within_the_scale(
    counts_scale: tuple[dict[int, int], int],
) -> None:
    counts, scale = counts_scale
    result = ces(counts, scale)
    assert result is not None
    low, high = result.mean_ci95
    assert 1.0 <= low <= result.mean <= high <= scale
    assert 0.0 <= result.easy_share <= 100.0


smiley_counts = st.sampled_from([3, 4, 5]).flatmap(
    lambda scale: st.tuples(
        st.dictionaries(st.integers(1, scale), tallies, max_size=scale).filter(
            lambda c: sum(c.values()) > 0
        ),
        st.just(scale),
    )
)


@settings(max_examples=200)
@given(smiley_counts)
def test_smiley_interval_contains_the_share(counts_scale: tuple[dict[int, int], int]) -> None:
    counts, scale = counts_scale
    result = smiley(counts, scale)
    assert result is not None
    assert 0.0 <= result.ci95[0] <= result.positive_share <= result.ci95[1] <= 100.0
    assert len(result.counts) == scale
    assert sum(result.counts) == result.n


@settings(max_examples=200)
@given(smiley_counts)
def test_adding_a_happy_face_never_lowers_the_share(
    counts_scale: tuple[dict[int, int], int],
) -> None:
    counts, scale = counts_scale
    before = smiley(counts, scale)
    after = smiley({**counts, scale: counts.get(scale, 0) + 1}, scale)
    assert before is not None and after is not None
    assert after.positive_share >= before.positive_share
    assert after.n == before.n + 1


@pytest.mark.parametrize(
    ("now", "before", "expected"),
    [
        ((50.0, 60.0), (30.0, 45.0), 1),
        ((10.0, 20.0), (30.0, 45.0), -1),
        ((40.0, 60.0), (30.0, 45.0), 0),
    ],
)
def test_clear_move_needs_intervals_apart(
    now: tuple[float, float], before: tuple[float, float], expected: int
) -> None:
    assert scoring.clear_move(now, before) == expected


def test_is_happy_uses_the_scores_cut_offs() -> None:
    assert [scoring.is_happy("nps", 11, v) for v in (8, 9)] == [False, True]
    assert [scoring.is_happy("csat", 5, v) for v in (3, 4)] == [False, True]
    assert [scoring.is_happy("ces", 7, v) for v in (4, 5)] == [False, True]
    assert [scoring.is_happy("smiley", 3, v) for v in (2, 3)] == [False, True]
