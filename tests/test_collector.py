"""collector.long_lived: no collection while what lives as long as the command is made,
frozen after, and the collector left as it was found (on or off, error or not)."""

from __future__ import annotations

import gc

import pytest

from migrator.collector import long_lived


@pytest.fixture(autouse=True)
def collector_back():
    """Whatever a test froze is given back, and the collector is on again."""
    yield
    gc.unfreeze()
    gc.enable()


@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
def test_what_is_made_inside_is_frozen_and_the_collector_left_as_found(enabled):
    (gc.enable if enabled else gc.disable)()
    before = gc.get_freeze_count()
    with long_lived():
        assert not gc.isenabled()
        made = [[] for _ in range(1000)]
    assert gc.get_freeze_count() >= before + len(made)
    assert gc.isenabled() is enabled


def test_an_error_inside_still_freezes_and_restores():
    gc.enable()
    before = gc.get_freeze_count()
    with pytest.raises(KeyboardInterrupt), long_lived():
        made = [[] for _ in range(1000)]
        raise KeyboardInterrupt
    assert gc.get_freeze_count() >= before + len(made)
    assert gc.isenabled()
