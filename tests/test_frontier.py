"""The dSprites frontier check (betavae.reproduce.frontier): means over seeds, the direction of
each measure (reconstruction lower is better, scores higher), and the verdict naming what breaks."""

import pytest

from betavae.reproduce import frontier
from betavae.reproduce.analysis import SCORES


def _record(kind: str, recon: float, score: float, **scores: float) -> dict:
    evals: dict = {}
    for metric, key in SCORES:
        evals.setdefault(metric, {})[key] = scores.get(key, score)
    return dict(kind=kind, recon=recon, recon_sampled=recon + 1, eval=evals)


def test_holds_when_recon_is_lower_and_every_score_at_least_as_good():
    capacity = [_record("capacity", 100, 0.5), _record("capacity", 110, 0.3)]  # means 105, 0.4
    baseline = [_record("beta16", 120, 0.4)]
    rows = frontier.compare(capacity, baseline)
    assert [r["name"] for r in rows][:2] == ["recon, μ decoded", "recon, z sampled"]
    assert len(rows) == 2 + len(SCORES) and all(r["holds"] for r in rows)  # 0.4 >= 0.4: equal
    assert rows[0]["capacity"] == pytest.approx(105) and rows[0]["baseline"] == 120
    assert frontier.verdict(rows).startswith("holds")


def test_breaks_name_the_measures_that_go_the_other_way():
    capacity = [_record("capacity", 130, 0.5, mig=0.1)]
    baseline = [_record("beta16", 120, 0.4, mig=0.2)]
    said = frontier.verdict(frontier.compare(capacity, baseline))
    assert said == (
        f"does not hold on 3 of {2 + len(SCORES)} measures "
        "(recon, μ decoded; recon, z sampled; mig)"
    )


def test_section_lines_table_and_what_is_missing():
    found = [_record("capacity", 100, 0.5), _record("beta16", 120, 0.4)]
    text = "\n".join(frontier.section_lines(found, "beta16"))
    assert (
        "### Frontier: capacity against beta16" in text and "Means over 1 capacity run(s)" in text
    )
    assert (
        "| recon, μ decoded | 100.000 | 120.000 | yes |" in text
        and "| mig | 0.500 | 0.400 | yes |" in text
    )
    missing = "\n".join(frontier.section_lines(found, "beta4"))
    assert "Not tested: no finished run of beta4." in missing


def test_run_by_run_catches_a_mean_difference_inside_the_seed_spread():
    # capacity means beat the baseline (recon 105 < 108; mig 0.4 > 0.35), but one capacity run
    # is worse than the baseline run on both: holds on means, not in every run.
    capacity = [_record("capacity", 100, 0.4, mig=0.6), _record("capacity", 110, 0.4, mig=0.2)]
    baseline = [_record("beta16", 108, 0.4, mig=0.35)]
    rows = {r["name"]: r for r in frontier.compare(capacity, baseline)}
    assert rows["recon, μ decoded"]["holds"] and not rows["recon, μ decoded"]["every_run"]
    assert rows["mig"]["holds"] and not rows["mig"]["every_run"]
    assert rows["beta_vae"]["holds"] and rows["beta_vae"]["every_run"]  # equal counts as good
    assert rows["mig"]["capacity_runs"] == [0.6, 0.2] and rows["mig"]["baseline_runs"] == [0.35]
    text = "\n".join(frontier.section_lines(capacity + baseline, "beta16"))
    assert "| recon, μ decoded | 105.000 (100.000, 110.000) | 108.000 | yes | no |" in text
    assert "| mig | 0.400 (0.600, 0.200) | 0.350 | yes | no |" in text
    assert f"it holds on {len(rows) - 3} of {len(rows)} measures" in text  # recon ×2 and mig fail
