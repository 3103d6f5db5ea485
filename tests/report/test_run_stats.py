"""The report's statistics over runs, on hand-made runs and curves, against answers by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from bench.report import run_stats


def _runs(**columns: object) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "trial": list(range(n)),
        "status": ["complete"] * n,
        "steps": [100] * n,
        "wall_time": [2.0] * n,
        "steps_to_target": pd.array([None] * n, dtype="Int64"),
        "diverged_step": pd.array([None] * n, dtype="Int64"),
    }
    base.update(columns)
    return pd.DataFrame(base)


# --- convergence -----------------------------------------------------------------------------


def test_censored_runs_count_their_budget_and_divergence_towards_ert() -> None:
    runs = _runs(
        status=["complete", "complete", "complete", "diverged", "failed"],
        steps_to_target=pd.array([10, 20, None, None, None], dtype="Int64"),
        diverged_step=pd.array([None, None, None, 50, None], dtype="Int64"),
        auc=[0.0] * 5,
        final_loss=[1.0] * 5,
        best_loss=[1.0] * 5,
    )
    ttt = run_stats.time_to_target(runs)
    # The failed run has no result: it is not one of the runs.
    assert len(ttt) == 4
    assert ttt["reached"].tolist() == [True, True, False, False]
    assert ttt["steps"].isna().tolist() == [False, False, True, True]
    assert ttt["spent"].tolist() == [10, 20, 100, 50]
    # 2 s for 100 steps: 0.02 s a step.
    assert ttt["seconds"].iloc[0] == pytest.approx(0.2)
    # ERT = (10 + 20 + 100 + 50) / 2 runs that reached it.
    assert run_stats.ert(ttt["spent"], ttt["reached"]) == pytest.approx(90.0)
    assert run_stats.convergence(runs)["ert_seconds"] == pytest.approx(90 * 0.02)


def test_ert_is_infinite_when_nothing_reached_the_target() -> None:
    assert run_stats.ert([100, 100], [False, False]) == math.inf
    assert run_stats.ert([30], [True]) == 30.0


def test_censored_median_never_treats_an_unreached_target_as_reached() -> None:
    assert run_stats.censored_median([10, 20, 0], [True, True, False]) == 20.0
    assert run_stats.censored_median([10, 20, 30, 0], [True, True, True, False]) == 25.0
    # Half the runs never reached it: the median is "later than the budget".
    assert run_stats.censored_median([10, 20, 0, 0], [True, True, False, False]) == math.inf
    assert run_stats.censored_median([10, 0, 0], [True, False, False]) == math.inf
    assert math.isnan(run_stats.censored_median([], []))


def test_convergence_summary_of_one_configuration() -> None:
    runs = _runs(
        steps_to_target=pd.array([40, None], dtype="Int64"),
        auc=[-1.0, -3.0],
        final_loss=[0.5, 1.5],
        best_loss=[0.25, 0.75],
    )
    summary = run_stats.convergence(runs)
    assert summary["n"] == 2 and summary["reached"] == 1 and summary["budget"] == 100
    assert summary["median_steps"] == math.inf
    assert summary["ert_steps"] == pytest.approx(140.0)
    assert summary["auc"] == pytest.approx(-2.0)
    assert summary["final_loss"] == pytest.approx(1.0)
    assert summary["best_loss"] == pytest.approx(0.5)


# --- the best configuration ------------------------------------------------------------------


def test_best_trial_is_never_pruned_failed_or_diverged() -> None:
    runs = pd.DataFrame(
        {
            "trial": [0, 0, 1, 2, 3, 4],
            "status": ["complete", "complete", "pruned", "diverged", "failed", "complete"],
            "objective": [0.5, 0.5, math.nan, math.inf, math.nan, 0.5],
        }
    )
    assert run_stats.best_trial(runs) == 0  # ties: the lowest number
    runs.loc[5, "objective"] = 0.1
    assert run_stats.best_trial(runs) == 4
    assert run_stats.best_trial(runs[runs["trial"].isin([1, 2, 3])]) is None


def test_trial_scores_are_log_gaps_with_divergence_and_pruning_marked() -> None:
    runs = pd.DataFrame(
        {
            "trial": [0, 0, 1, 2, 3],
            "status": ["complete", "complete", "diverged", "pruned", "failed"],
            "objective": [0.1, 0.1, math.inf, math.nan, math.nan],
        }
    )
    scores = run_stats.trial_scores(runs, "final_loss", f_ref=-0.9)
    assert scores.index.tolist() == [0, 1, 2]  # failed trials explored nothing
    assert scores[0] == pytest.approx(0.0)  # log10(0.1 + 0.9)
    assert scores[1] == math.inf
    assert math.isnan(scores[2])
    steps = run_stats.trial_scores(runs.assign(objective=[100.0] * 5), "steps_to_target")
    assert steps[0] == pytest.approx(2.0)


# --- stability -------------------------------------------------------------------------------


def test_wilson_interval_matches_hand_computation() -> None:
    z2 = run_stats.Z95**2
    low, high = run_stats.wilson_interval(0, 10)
    assert low == 0.0
    assert high == pytest.approx(z2 / (10 + z2))
    low, high = run_stats.wilson_interval(5, 10)
    half = run_stats.Z95 * math.sqrt(0.25 / 10 + z2 / 400) / (1 + z2 / 10)
    assert (low, high) == pytest.approx((0.5 - half, 0.5 + half))
    assert (low, high) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    low, high = run_stats.wilson_interval(10, 10)
    assert high == 1.0 and low == pytest.approx(10 / (10 + z2))
    assert all(math.isnan(v) for v in run_stats.wilson_interval(0, 0))


def test_divergence_rate_over_finished_runs() -> None:
    runs = _runs(status=["complete", "diverged", "pruned", "failed"])
    rate = run_stats.divergence_rate(runs)
    assert (rate.k, rate.n) == (1, 3)
    assert rate.rate == pytest.approx(1 / 3)
    assert rate.low < rate.rate < rate.high


def test_divergence_onset_first_and_all_above() -> None:
    runs = _runs(
        lr=[0.1, 0.2, 0.4, 0.8, 0.8],
        status=["complete", "diverged", "complete", "diverged", "diverged"],
    )
    assert run_stats.divergence_onset(runs) == (0.2, 0.8)
    # A stable run at the same η as a diverged one: every run above that η diverged, not at it.
    ties = _runs(lr=[1.0, 2.0, 2.0, 3.0], status=["complete", "diverged", "complete", "diverged"])
    assert run_stats.divergence_onset(ties) == (2.0, 3.0)
    stable = _runs(lr=[0.1, 0.2], status=["complete", "complete"])
    assert all(math.isnan(v) for v in run_stats.divergence_onset(stable))
    top_stable = _runs(lr=[0.1, 0.2], status=["diverged", "complete"])
    onset = run_stats.divergence_onset(top_stable)
    assert onset.first == 0.1 and math.isnan(onset.all_above)


def test_binned_rate_counts_each_bin_with_its_interval() -> None:
    edges = np.array([1e-3, 1e-2, 1e-1, 1.0])
    table = run_stats.binned_rate([2e-3, 5e-3, 0.5, 1.0], [False, True, True, True], edges)
    assert table["n"].tolist() == [2, 2]  # the empty middle bin is dropped; 1.0 in the last
    assert table["rate"].tolist() == [0.5, 1.0]
    assert table["mid"].iloc[0] == pytest.approx(math.sqrt(1e-5))
    assert (table["ci_low"] <= table["rate"]).all() and (table["rate"] <= table["ci_high"]).all()


def test_log_bins_cover_the_values() -> None:
    edges = run_stats.log_bins([1e-4, 1e-2, 0.0, math.inf], 2)
    assert edges == pytest.approx([1e-4, 1e-3, 1e-2])
    assert run_stats.log_bins([0.5, 0.5], 1) == pytest.approx([0.5 / 10**0.5, 0.5 * 10**0.5])


def test_seed_spread_per_configuration() -> None:
    runs = pd.DataFrame(
        {
            "trial": [0, 0, 0, 0, 1, 1],
            "status": ["complete"] * 4 + ["complete", "diverged"],
            "final_loss": [1.0, 2.0, 3.0, 4.0, 5.0, 1e30],
        }
    )
    spread = run_stats.seed_spread(runs).set_index("trial")
    assert spread.loc[0, "mean"] == 2.5
    assert spread.loc[0, "std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    assert spread.loc[0, "iqr"] == pytest.approx(3.25 - 1.75)
    assert spread.loc[1, "diverged"] == 1 and spread.loc[1, "mean"] == 5.0
    assert math.isnan(spread.loc[1, "std"])


def test_tunability_bootstrap_is_seeded_and_matches_the_closed_form() -> None:
    scores = [1.0, 2.0, 3.0, 4.0]
    a = run_stats.expected_best_after_k(scores, [1, 2], n_boot=20000, seed=7)
    b = run_stats.expected_best_after_k(scores, [1, 2], n_boot=20000, seed=7)
    pd.testing.assert_frame_equal(a, b)
    # E[min of k draws with replacement] = Σ_i x_(i) [((n-i+1)/n)^k - ((n-i)/n)^k].
    assert a.loc[0, "mean"] == pytest.approx(2.5, abs=0.03)
    assert a.loc[1, "mean"] == pytest.approx(30 / 16, abs=0.03)
    constant = run_stats.expected_best_after_k([3.0] * 5, [1, 4], n_boot=50, seed=0)
    assert constant["mean"].tolist() == [3.0, 3.0]


def test_tunability_with_diverged_and_pruned_trials() -> None:
    # One trial of three has a result: k=1 mostly draws nothing usable, k=8 rarely.
    table = run_stats.expected_best_after_k([math.inf, math.nan, 1.0], [1, 8], n_boot=2000)
    assert table.loc[0, "median"] == math.inf
    assert table.loc[1, "median"] == 1.0
    assert table.loc[1, "mean"] == math.inf  # (2/3)^8 ≈ 4 % of the draws hold no result
    assert table.loc[1, "q25"] == 1.0


def test_share_within_tolerance_counts_pruned_and_diverged_in_the_space() -> None:
    scores = [0.0, 0.03, 0.5, math.inf, math.nan]
    assert run_stats.share_within(scores, math.log10(1.1)) == pytest.approx(2 / 5)
    assert math.isnan(run_stats.share_within([math.inf], 0.1))


def test_roughness_is_increases_over_decreases() -> None:
    assert run_stats.roughness([10.0, 5.0, 7.0, 2.0]) == pytest.approx(2 / 10)
    assert run_stats.roughness([3.0, 2.0, 1.0]) == 0.0
    assert run_stats.roughness([1.0, 2.0, 1.0]) == 1.0
    assert math.isnan(run_stats.roughness([1.0, 1.0]))
    assert math.isnan(run_stats.roughness([1.0, math.inf, 0.5]))


def test_run_roughness_orders_each_curve_by_step() -> None:
    curves = pd.DataFrame(
        {
            "study": ["s"] * 4,
            "trial": [0] * 4,
            "seed": [0] * 4,
            "step": [30, 0, 20, 10],
            "loss": [2.0, 10.0, 7.0, 5.0],
        }
    )
    table = run_stats.run_roughness(curves)
    assert table["roughness"].tolist() == pytest.approx([0.2])


def test_a_trial_takes_the_first_of_failed_pruned_diverged_among_its_runs() -> None:
    runs = pd.DataFrame(
        {
            "trial": [0, 0, 1, 1, 2, 2, 3, 3],
            "status": ["complete", "complete", "complete", "diverged"]
            + ["diverged", "pruned", "pruned", "failed"],
        }
    )
    statuses = run_stats.trial_statuses(runs.sample(frac=1.0, random_state=1))
    assert statuses.to_dict() == {0: "complete", 1: "diverged", 2: "pruned", 3: "failed"}


def test_run_roughness_is_roughness_of_each_curve() -> None:
    rng = np.random.default_rng(3)
    frames = []
    for trial, seed in [(0, 0), (0, 1), (1, 0), (2, 5), (3, 0), (4, 0)]:
        loss = rng.normal(size=7).cumsum()
        if trial == 2:
            loss[3] = math.inf
        if trial == 3:
            loss = np.arange(7.0)  # never decreases
        if trial == 4:
            loss = loss[:1]
        steps = rng.permutation(len(loss))
        frames.append(pd.DataFrame({"trial": trial, "seed": seed, "step": steps, "loss": loss}))
    curves = pd.concat(frames).assign(study="s").sample(frac=1.0, random_state=0)
    table = run_stats.run_roughness(curves).set_index(["trial", "seed"])["roughness"]
    for (trial, seed), curve in curves.groupby(["trial", "seed"]):
        expected = run_stats.roughness(curve.sort_values("step")["loss"])
        assert table[(trial, seed)] == pytest.approx(expected, nan_ok=True, rel=1e-12)


# --- local minima ----------------------------------------------------------------------------


def test_escape_rate_among_runs_starting_outside_the_global_basin() -> None:
    runs = _runs(
        status=["complete", "complete", "complete", "diverged", "pruned", "complete"],
        start_in_basin=[False, False, False, False, False, True],
        end_in_basin=[True, False, True, False, True, True],
    )
    rate = run_stats.escape_rate(runs)
    # Pruned runs never finished; runs starting inside cannot escape; diverged ones did not.
    assert (rate.k, rate.n) == (2, 4)
    assert (rate.low, rate.high) == pytest.approx(run_stats.wilson_interval(2, 4))
    assert run_stats.escape_rate(_runs(status=["complete"])).n == 0


def test_escape_is_the_first_passage_with_the_late_share_beside_it() -> None:
    # Under noise a run that got into the global basin may be back in the local one at the
    # last step: ending there is a coin flip, getting there is the escape (issue 12).
    runs = _runs(
        status=["complete", "complete", "complete", "diverged", "complete"],
        start_in_basin=[False, False, False, False, True],
        end_in_basin=[False, True, False, False, True],
        escape_step=pd.array([120, 40, None, 10, None], dtype="Int64"),
        late_basin_share=[0.3, 0.9, 0.0, 0.0, 1.0],
    )
    rate = run_stats.escape_rate(runs)
    assert (rate.k, rate.n) == (2, 4)  # the first two got in; the diverged one ended nowhere
    assert run_stats.late_basin_share(runs) == pytest.approx((0.3 + 0.9 + 0.0 + 0.0) / 4)


# --- performance profiles --------------------------------------------------------------------


def test_performance_profile_from_times_to_target() -> None:
    times = pd.DataFrame(
        {"A": [1.0, 2.0, math.inf, math.inf], "B": [2.0, 2.0, 4.0, math.nan]},
        index=["t1", "t2", "t3", "t4"],
    )
    ratios = run_stats.performance_ratios(times)
    assert ratios["A"].tolist() == [1.0, 1.0, math.inf, math.inf]
    assert ratios["B"].tolist() == [2.0, 1.0, 1.0, math.inf]  # t4: nobody solved it
    profile = run_stats.performance_profile(times, [1.0, 2.0, 1e9])
    assert profile["A"].tolist() == pytest.approx([2 / 4, 2 / 4, 2 / 4])
    assert profile["B"].tolist() == pytest.approx([2 / 4, 3 / 4, 3 / 4])


def test_ert_interval_is_unbounded_when_few_runs_reached_the_target() -> None:
    spent = [1000.0] * 7 + [390.0]
    reached = [False] * 7 + [True]
    assert run_stats.ert([*spent], reached) == pytest.approx(7390.0)
    low, high = run_stats.ert_interval(spent, reached)
    assert low <= 7390.0 and high == math.inf  # many resamples hold no success
    low, high = run_stats.ert_interval([100.0] * 8, [True] * 8)
    assert low == high == 100.0


def test_mean_interval_is_the_student_t_one() -> None:
    low, high = run_stats.mean_interval([1.0, 2.0, 3.0])
    assert (low, high) == pytest.approx(
        (2 - 4.302652729911275 / math.sqrt(3), 2 + 4.302652729911275 / math.sqrt(3))
    )
    assert all(math.isnan(v) for v in run_stats.mean_interval([1.0]))
