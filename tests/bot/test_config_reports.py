"""config.yaml's reports section: SLA targets read, wrong ones refused with their key."""

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config


def test_sla_targets_from_config(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "reports:\n  sla: {first_response: 15m, resolution: 4h, business_hours: true}\n",
        encoding="utf-8",
    )
    targets = load_config(path).reports.targets()
    assert (targets.first_response, targets.resolution, targets.business_hours) == (
        900,
        14400,
        True,
    )


def test_a_wrong_sla_target_names_its_key(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("reports:\n  sla: {first_response: soon}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"reports\.sla\.first_response"):
        load_config(path)
