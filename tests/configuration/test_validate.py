"""Checking configuration text (behaviour §7) and keeping secrets out of reads."""

from __future__ import annotations

import pytest

from pioleader.configuration.secrets import MASK, mask_sections, mask_text, restore_secrets
from pioleader.configuration.validate import ConfigInvalid, check_shared, check_unit, normalise

GOOD = """\
[cluster.topology]
leader_hostname=leader
leader_address=127.0.0.1

[mqtt]
broker_address=127.0.0.1
password=s3cret
"""


def problem(text: str) -> ConfigInvalid:
    with pytest.raises(ConfigInvalid) as caught:
        check_shared(text)
    return caught.value


def test_good_shared_config_parses() -> None:
    """It should accept a config with the required sections and give back its values."""
    assert check_shared(GOOD).get("mqtt", "broker_address") == "127.0.0.1"


@pytest.mark.parametrize(
    ("text", "error", "cause"),
    [
        (GOOD + "[mqtt]\n", "Duplicate section [mqtt] was found", "config.ini line 8"),
        (
            GOOD + "password=x\n",
            "Duplicate option, `password`, was found in section [mqtt]",
            "line 8",
        ),
        ("x=1\n" + GOOD, "Incorrect syntax", "line 1: 'x=1' comes before any [section]"),
        (GOOD + "not an option\n", "Incorrect syntax", "line 8: 'not an option' is neither"),
        ("[mqtt]\n", "Missing required field(s): [cluster.topology] leader_hostname", "config.ini"),
        (GOOD.replace("[mqtt]", "[other]"), "Missing required field(s): [mqtt]", "must set"),
        (
            GOOD.replace("=127.0.0.1\n\n", "=https://leader.local\n\n"),
            "Don't start addresses with http:// or https://",
            "line 3: [cluster.topology] leader_address=https://leader.local",
        ),
        (
            GOOD + "[cluster.addresses]\npio01=127.0.0.1:99999\n",
            "Invalid unit address.",
            "line 9: pio01=127.0.0.1:99999 has a port outside 1..65535",
        ),
        (
            GOOD + "[cluster.addresses]\npio01=host:port\n",
            "Invalid unit address.",
            "has a port that is not a number",
        ),
    ],
)
def test_bad_config_names_the_line(text: str, error: str, cause: str) -> None:
    """It should refuse each kind of bad text with upstream's error and a line-precise cause."""
    found = problem(text)
    assert found.error.startswith(error)
    assert cause in found.cause
    assert found.remediation


def test_unit_config_needs_no_required_sections_but_checks_addresses() -> None:
    """It should accept a partial unit file and refuse one whose merge breaks an address."""
    check_unit("[stirring.config]\ninitial_target_rpm=300\n", GOOD)
    with pytest.raises(ConfigInvalid) as caught:
        check_unit("[mqtt]\nbroker_address=http://x\n", GOOD)
    assert "unit_config.ini line 2" in caught.value.cause


def test_dashes_become_hyphens() -> None:
    """It should replace en and em dashes as upstream does."""
    assert normalise("a\u2013b\u2014c") == "a-b-c"


def test_secrets_are_masked_and_restored() -> None:
    """It should mask the password and api_key, and put the stored value back on write."""
    stored = GOOD + "\n[pioleader]\napi_key=k3y\n"
    shown = mask_text(stored)
    assert "s3cret" not in shown and "k3y" not in shown
    assert f"password={MASK}" in shown and f"api_key={MASK}" in shown
    edited = shown.replace("broker_address=127.0.0.1", "broker_address=10.0.0.2")
    restored = restore_secrets(edited, stored)
    assert "password=s3cret" in restored and "api_key=k3y" in restored
    assert "broker_address=10.0.0.2" in restored
    # A new value is taken as it is; an empty one stays empty (not masked).
    assert "password=new" in restore_secrets(edited.replace(MASK, "new", 1), stored)
    assert "username=\n" in mask_text("[mqtt]\nusername=\n")
    assert mask_sections({"mqtt": {"password": "p", "username": "u"}}) == {
        "mqtt": {"password": MASK, "username": "u"}
    }
