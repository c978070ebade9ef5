"""Meaning checks: strict under the test command, a visible warning (and no exception) in class."""

from __future__ import annotations

import pytest

from course_utils.checks import expect


def test_a_check_that_holds_returns_true_silently(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COURSE_STRICT", "0")
    assert expect(True, "anything") is True
    assert capsys.readouterr().out == ""


def test_strict_mode_raises_with_expected_and_got(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_STRICT", "1")
    with pytest.raises(AssertionError, match=r"expected the cat photo is a cat; got Egyptian cat\?"):
        expect(False, "the cat photo is a cat", "Egyptian cat?")


def test_live_mode_warns_and_carries_on(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("COURSE_STRICT", raising=False)
    assert expect(0, "top-1 is espresso", "cup") is False
    out = capsys.readouterr().out
    assert "WARNING" in out and "top-1 is espresso" in out and "cup" in out and "carries on" in out


def test_long_values_are_shortened(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COURSE_STRICT", "1")
    with pytest.raises(AssertionError) as info:
        expect(False, "short", "x" * 5000)
    assert len(str(info.value)) < 400
