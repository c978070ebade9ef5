"""``setup()``: the first cell of every notebook.

It decides online or offline (in about two seconds at most), sets the offline switches
*before* any hub library is imported, picks the device (CUDA, then Apple MPS, then CPU;
``COURSE_DEVICE`` overrides), picks a dtype, seeds random/numpy/torch, gives each declared
model the best copy available (see :mod:`course_utils.offline`) and prints one status line.
"""

from __future__ import annotations

import os
import random
import socket
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from . import offline, versions
from .catalog import load_catalog
from .offline import Resolved

OFFLINE_ENV = "COURSE_OFFLINE"  # "1": never touch the network; "0": assume it is there
DEVICE_ENV = "COURSE_DEVICE"  # "cpu", "cuda", "cuda:1", "mps"
HUB_LIBRARIES = ("huggingface_hub", "transformers", "sentence_transformers", "timm", "open_clip", "ultralytics")


@dataclass
class Session:
    """What :func:`setup` decided. Notebooks read ``session.models[key]`` and ``session.device``."""

    device: str
    dtype: Any  # torch.dtype
    offline: bool
    hub_reason: str
    seed: int
    models: dict[str, Resolved] = field(default_factory=dict)

    def status_line(self) -> str:
        """The one-line status printed by :func:`setup`."""
        dtype = str(self.dtype).replace("torch.", "")
        parts = [f"device {self.device} ({dtype})", f"hub {self.hub_reason}"]
        parts += [f"{key}: {res.label}" for key, res in self.models.items()]
        return "[course] " + " | ".join(parts)

    @property
    def any_standin(self) -> bool:
        """True when at least one model is a stand-in (its outputs must not be read as answers)."""
        return any(r.is_standin for r in self.models.values())


# ---------------------------------------------------------------------------- the hub probe


def hub_endpoint() -> str:
    """The Hugging Face endpoint (``HF_ENDPOINT`` for mirrors)."""
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co")


def hub_reachable(timeout: float = 2.0) -> bool:
    """True when a TCP connection to the hub opens within ``timeout`` seconds (DNS included).

    The look-up runs in a daemon thread, so a hanging resolver cannot stall a class.
    """
    url = urlparse(hub_endpoint())
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(result and result[0])


def decide_offline(offline: bool | None = None) -> tuple[bool, str]:
    """Return (offline?, reason). Order: argument, ``COURSE_OFFLINE``, ``HF_HUB_OFFLINE``, a probe."""
    if offline is not None:
        return offline, "offline (asked for)" if offline else "online (asked for)"
    env = os.environ.get(OFFLINE_ENV, "").strip().lower()
    if env in ("1", "true", "yes"):
        return True, f"offline ({OFFLINE_ENV}=1)"
    if env in ("0", "false", "no"):
        return False, f"online ({OFFLINE_ENV}=0)"
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes"):
        return True, "offline (HF_HUB_OFFLINE=1)"
    start = time.monotonic()
    ok = hub_reachable()
    took = time.monotonic() - start
    return (False, f"reachable ({took:.1f} s)") if ok else (True, f"unreachable after {took:.1f} s: offline")


def apply_switches(is_offline: bool, layout: offline.Layout) -> None:
    """Set the environment variables the hub libraries read at import time."""
    os.environ.setdefault(offline.REAL_HF_ENV, str(offline.real_hf_cache()))
    os.environ.setdefault(offline.REAL_TORCH_ENV, str(offline.real_torch_home()))
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ["YOLO_CONFIG_DIR"] = str(layout.ultralytics_config(is_offline))
    flags = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "YOLO_OFFLINE")
    if is_offline:
        for flag in flags:
            os.environ[flag] = "1"
        os.environ["HF_HUB_CACHE"] = str(layout.hf_overlay)
        os.environ["TORCH_HOME"] = str(layout.torch_overlay)
    else:
        for flag in flags:
            os.environ.pop(flag, None)
        os.environ["HF_HUB_CACHE"] = os.environ[offline.REAL_HF_ENV]
        os.environ["TORCH_HOME"] = os.environ[offline.REAL_TORCH_ENV]


def _warn_if_imported_early(is_offline: bool) -> None:
    early = [name for name in HUB_LIBRARIES if name in sys.modules]
    if early and is_offline:
        warnings.warn(
            f"{', '.join(early)} was imported before course_utils.setup(); it read its settings then, so the "
            "offline switches may not apply. Restart the kernel and run the setup cell first.",
            stacklevel=3,
        )


# ---------------------------------------------------------------------------- device, dtype, seeds


def pick_device(requested: str | None = None) -> str:
    """CUDA, then Apple MPS, then CPU; ``requested`` or ``COURSE_DEVICE`` overrides.

    A requested device that is not there raises ``RuntimeError`` saying what to do.
    """
    import torch

    want = (requested or os.environ.get(DEVICE_ENV, "")).strip().lower()
    if want:
        if want.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {want!r} was asked for (argument or {DEVICE_ENV}), but torch sees no CUDA device. "
                f"Use the CPU (unset {DEVICE_ENV}), or on Colab choose Runtime > Change runtime type > GPU."
            )
        if want == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError(
                f"device 'mps' (Apple's GPU) was asked for, but torch cannot use it here. Unset {DEVICE_ENV}."
            )
        if not (want == "cpu" or want == "mps" or want.startswith("cuda")):
            raise RuntimeError(f"{want!r} is not a device: use cpu, cuda, cuda:N or mps ({DEVICE_ENV}).")
        return want
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(device: str) -> Any:
    """bfloat16 on a CUDA GPU that supports it, float16 on older GPUs and MPS, float32 on CPU."""
    import torch

    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (all CUDA devices too)."""
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


# ---------------------------------------------------------------------------- setup


def setup(
    models: Sequence[str] = (),
    *,
    seed: int = 0,
    offline_mode: bool | None = None,
    device: str | None = None,
    quiet: bool = False,
) -> Session:
    """Prepare a notebook: offline switches, device, dtype, seeds, models; print one status line.

    Args:
        models: catalog keys of the models the notebook loads (see ``course catalog``).
        seed: seed for random, numpy and torch.
        offline_mode: force offline (True) or online (False); by default ``COURSE_OFFLINE``,
            then ``HF_HUB_OFFLINE``, then a two-second probe of the hub decide.
        device: force a device; by default ``COURSE_DEVICE``, then CUDA > MPS > CPU.
        quiet: do not print the status line.

    Returns:
        A :class:`Session`; ``session.models[key]`` has ``.id``, ``.revision``, ``.card()`` and
        ``.is_standin``.
    """
    catalog = load_catalog()
    entries = [catalog[key] for key in models]  # unknown keys fail here, naming the known ones
    is_offline, reason = decide_offline(offline_mode)
    layout = offline.Layout.default()
    _warn_if_imported_early(is_offline)
    apply_switches(is_offline, layout)

    dev = pick_device(device)
    session = Session(device=dev, dtype=pick_dtype(dev), offline=is_offline, hub_reason=reason, seed=seed)
    for entry in entries:
        resolve = offline.resolve_offline if is_offline else offline.resolve_online
        session.models[entry.key] = resolve(entry, layout)
    if any(e.library == "ultralytics" for e in entries):
        _point_ultralytics(layout, is_offline)
    seed_everything(seed)
    if not quiet:
        print(session.status_line())
        drift = versions.mismatches()
        if drift:
            listed = ", ".join(f"{name} {have or 'missing'} (course: {want})" for name, (want, have) in drift.items())
            print(f"[course] versions differ from the course's pins: {listed}.")
            print("[course] run ./course.sh setup to install the pinned set.")
        if session.any_standin:
            print("[course] stand-ins have random weights: their outputs show the code path, not real answers.")
    return session


def _point_ultralytics(layout: offline.Layout, is_offline: bool) -> None:
    """Tell ultralytics where its weight files are (its settings file lives in the course's folder)."""
    from ultralytics.utils import SETTINGS

    weights = layout.ultralytics_overlay if is_offline else layout.ultralytics_online
    weights.mkdir(parents=True, exist_ok=True)
    if SETTINGS.get("weights_dir") != str(weights):
        SETTINGS.update({"weights_dir": str(weights)})
