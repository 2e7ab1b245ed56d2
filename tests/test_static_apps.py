"""Unit tests of migrator.static.apps: reading a settings module without importing it."""

from __future__ import annotations

from migrator.static.apps import read_settings


def test_settings_augmented_with_a_value_of_another_type_is_unknown_not_a_crash(tmp_path):
    settings = tmp_path / "settings.py"
    settings.write_text(
        "LEVEL = 1\nLEVEL += 'x'\nTABLE = {}\nTABLE += ['abc']\nAPPS = ['a']\nAPPS += ('b',)\n"
    )
    unknown: set[str] = set()
    values = read_settings(settings, [str(tmp_path)], unknown=unknown)
    assert values == {"APPS": ["a", "b"]}
    assert unknown == {"LEVEL", "TABLE"}
