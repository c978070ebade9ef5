"""``setup()``: the first cell of every notebook.

It decides online or offline (in about two seconds at most), sets the offline switches
*before* any hub library is imported, picks the device (CUDA, then Apple MPS, then CPU;
``COURSE_DEVICE`` overrides), picks a dtype, seeds random/numpy/torch, gives each declared
model the best copy available (see :mod:`course_utils.offline`) and prints one status line.
"""

from __future__ import annotations

import json
import os
import random
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import offline, quiet, rehearse, versions
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


#: A small, public model whose API record the probe asks for; a real hub answers with its JSON.
PROBE_REPO = "sentence-transformers/all-MiniLM-L6-v2"
#: Seconds the probe may take in all (connection, TLS, answer); a class never waits longer than this.
PROBE_BUDGET_S = 2.5
#: Timeouts the hub libraries use once the course has decided it is online (read by huggingface_hub at import):
#: a hub that stops answering mid-lesson fails a load in seconds instead of minutes.
HUB_TIMEOUTS = {"HF_HUB_ETAG_TIMEOUT": "5", "HF_HUB_DOWNLOAD_TIMEOUT": "10"}


@dataclass(frozen=True)
class HubProbe:
    """What the probe found: whether a real hub answered, why not, and how long it took."""

    ok: bool
    reason: str
    seconds: float


def _judge_answer(response: Any) -> tuple[bool, str]:
    """Is this HTTP response the hub's API answering for :data:`PROBE_REPO`?"""
    code = response.status_code
    if 300 <= code < 400:
        where = response.headers.get("location", "elsewhere")
        return False, f"redirected to {where} (a captive portal or a proxy login page?)"
    if code != 200:
        return False, f"answered HTTP {code}, not the hub's API (a proxy or firewall?)"
    try:
        data = response.json()
    except ValueError:
        return False, "answered with a page that is not the hub's API (a captive portal?)"
    if not isinstance(data, dict) or PROBE_REPO not in (data.get("id"), data.get("modelId")):
        return False, "answered with JSON that is not the hub's model record"
    return True, "answered"


def probe_hub(timeout: float = PROBE_BUDGET_S) -> HubProbe:
    """Ask the hub's API for one model record and check the answer, all within ``timeout`` seconds.

    A TCP connection alone proves nothing: a captive portal, a proxy or a firewall that accepts and
    drops all open one. So the probe sends ``GET {endpoint}/api/models/{PROBE_REPO}`` and accepts only
    the hub's JSON record of that model. It runs in a daemon thread, so a hung resolver, a server that
    never answers or one that trickles bytes cannot hold a class for longer than ``timeout``.
    """
    import requests

    url = f"{hub_endpoint().rstrip('/')}/api/models/{PROBE_REPO}"
    box: list[tuple[bool, str]] = []

    def run() -> None:
        try:
            response = requests.get(
                url,
                timeout=(timeout, timeout),
                allow_redirects=False,
                headers={"Accept": "application/json", "User-Agent": "pretrained-course-probe"},
            )
            box.append(_judge_answer(response))
        except requests.exceptions.SSLError:
            box.append((False, "TLS certificate is not the hub's (a proxy or captive portal intercepts HTTPS)"))
        except requests.exceptions.Timeout:
            box.append((False, f"no answer within {timeout:g} s"))
        except requests.exceptions.ConnectionError as err:
            text = str(err).lower()
            if "reset" in text or "aborted" in text or "remotedisconnected" in text:
                box.append((False, "the connection was reset or closed without an answer"))
            elif "name or service" in text or "resolve" in text or "getaddrinfo" in text:
                box.append((False, "the hub's name does not resolve (no network?)"))
            else:
                box.append((False, "no connection to the hub"))
        except Exception as err:  # noqa: BLE001 - any failure of the probe means "offline", with its reason
            box.append((False, f"probe failed ({type(err).__name__})"))

    start = time.monotonic()
    thread = threading.Thread(target=run, name="course-hub-probe", daemon=True)
    thread.start()
    thread.join(timeout)
    took = time.monotonic() - start
    if not box:
        return HubProbe(False, f"no answer within {timeout:g} s", took)
    ok, reason = box[0]
    return HubProbe(ok, reason, took)


def hub_reachable(timeout: float = PROBE_BUDGET_S) -> bool:
    """True when the hub's API gave a valid answer within ``timeout`` seconds (see :func:`probe_hub`)."""
    return probe_hub(timeout).ok


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
    probe = probe_hub()
    if probe.ok:
        return False, f"reachable (answered in {probe.seconds:.1f} s)"
    return True, f"unreachable: {probe.reason} after {probe.seconds:.1f} s: offline"


def apply_switches(is_offline: bool, layout: offline.Layout) -> None:
    """Set the environment variables the hub libraries read at import time."""
    os.environ.setdefault(offline.REAL_HF_ENV, str(offline.real_hf_cache()))
    os.environ.setdefault(offline.REAL_TORCH_ENV, str(offline.real_torch_home()))
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    quiet.install()  # telemetry off; no "unset HF_HUB_OFFLINE" advice offline, no ultralytics settings notice
    for name, value in HUB_TIMEOUTS.items():
        os.environ.setdefault(name, value)  # a user's own setting wins
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


# ---------------------------------------------------------------------------- a hub that fails mid-lesson

#: Modules whose exceptions mean "the network or the hub failed" (checked along the exception's cause chain).
NETWORK_ERROR_MODULES = ("httpx", "httpcore", "requests", "urllib3", "huggingface_hub.errors", "socket", "ssl")
_HUB_TEXT = ("couldn't connect to", "connection reset", "timed out", "read timeout", "connecterror", "readerror")


def is_hub_failure(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it came from) is a network or hub failure, not a bug in the cell."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        module = type(current).__module__ or ""
        if module.split(".")[0] in {m.split(".")[0] for m in NETWORK_ERROR_MODULES} and module != "builtins":
            return True
        if isinstance(current, (TimeoutError, ConnectionError)):
            return True
        if any(t in str(current).lower() for t in _HUB_TEXT) and isinstance(current, OSError):
            return True
        current = current.__cause__ or current.__context__
    return False


HUB_FAILURE_HINT = (
    "[course] The model hub stopped answering while this cell downloaded a model ({kind}). "
    "To carry on now, offline: Kernel > Restart, run %env COURSE_OFFLINE=1 in a new cell, then run the notebook "
    "from its setup cell (or start the lab with COURSE_OFFLINE=1 ./course.sh lab); every notebook runs offline with "
    "real offline copies or labelled stand-ins. Before the next class, download the models where the network is "
    "good: ./course.sh prefetch NN (or --all)."
)


#: (connect, read) seconds for every request of huggingface_hub's shared HTTP client once online. Its default
#: client has no timeout at all (``timeout=None``): a server that accepts and never answers holds a load forever.
HUB_CLIENT_TIMEOUT_S = (5.0, 10.0)


#: After a hub request times out or loses its connection, further hub requests fail at once for this long
#: (seconds) instead of each waiting for its own timeout: one model load asks for a dozen files.
HUB_BREAKER_S = 60.0
_hub_down_until = 0.0


def _add_breaker(client: Any) -> None:
    """Make ``client.send`` fail fast for :data:`HUB_BREAKER_S` seconds after a network failure."""
    import httpx2 as httpx  # the HTTP package huggingface_hub 2.x uses
    from huggingface_hub.errors import OfflineModeIsEnabled

    send = client.send

    def guarded_send(request: Any, *args: Any, **kwargs: Any) -> Any:
        global _hub_down_until
        if time.monotonic() < _hub_down_until:
            # The library's own "offline" error: it is not retried, and loaders fall back to the cache at once.
            raise OfflineModeIsEnabled(
                "[course] the hub stopped answering a moment ago; not waiting for it again "
                f"(the course retries after {HUB_BREAKER_S:g} s)"
            )
        try:
            return send(request, *args, **kwargs)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError):
            _hub_down_until = time.monotonic() + HUB_BREAKER_S
            raise

    client.send = guarded_send


def bound_hub_client() -> None:
    """Give huggingface_hub's shared HTTP client connect and read timeouts (:data:`HUB_CLIENT_TIMEOUT_S`).

    Uses the library's own hook, ``huggingface_hub.set_client_factory``: the course's factory builds the
    library's default client and adds a request hook that fills in every timeout the call left unbounded.
    (Setting the client's own timeout is not enough: calls such as ``model_info`` pass ``timeout=None``
    explicitly, which httpx reads as "wait forever".) So every hub call fails in seconds when the hub
    stops answering.
    """
    import huggingface_hub
    from huggingface_hub.utils import _http

    connect, read = HUB_CLIENT_TIMEOUT_S
    default = getattr(_http, "default_client_factory", None)

    def bound(request: Any) -> None:
        limits = dict(request.extensions.get("timeout") or {})
        for name, value in (("connect", connect), ("read", read), ("write", read), ("pool", connect)):
            if limits.get(name) is None:
                limits[name] = value
        request.extensions["timeout"] = limits

    def factory() -> Any:
        client = default() if default is not None else huggingface_hub.get_session()
        hooks = dict(client.event_hooks)
        hooks["request"] = [*hooks.get("request", []), bound]
        client.event_hooks = hooks
        _add_breaker(client)
        return client

    huggingface_hub.set_client_factory(factory)


def _install_hub_failure_hint() -> bool:
    """In Jupyter, add what to do after the traceback of a download that failed mid-lesson. True if installed."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False

    def handler(self: Any, etype: type, value: BaseException, tb: Any, tb_offset: int | None = None) -> Any:
        self.showtraceback((etype, value, tb), tb_offset=tb_offset)
        if is_hub_failure(value):
            print(HUB_FAILURE_HINT.format(kind=etype.__name__), file=sys.stderr)
        return None

    shell.set_custom_exc((Exception,), handler)
    return True


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
    if not is_offline:
        bound_hub_client()
        _install_hub_failure_hint()
    seed_everything(seed)
    _log_session(session)
    rehearse.install_from_env()  # the test suite's rehearsal of real-model branches (off unless COURSE_REHEARSE_LOG)
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


#: A file that :func:`setup` appends one JSON line to per call (the site build reads which tier each model ran on).
SESSION_LOG_ENV = "COURSE_SESSION_LOG"


def _log_session(session: Session) -> None:
    path = os.environ.get(SESSION_LOG_ENV)
    if not path:
        return
    record = {
        "offline": session.offline,
        "hub": session.hub_reason,
        "device": session.device,
        "models": {
            key: {"id": res.id, "tier": res.tier, "label": res.label, "real": res.is_real}
            for key, res in session.models.items()
        },
    }
    with open(path, "a", encoding="utf-8") as log:
        log.write(json.dumps(record) + "\n")


def _point_ultralytics(layout: offline.Layout, is_offline: bool) -> None:
    """Tell ultralytics where its weight files are (its settings file lives in the course's folder)."""
    from ultralytics.utils import SETTINGS

    weights = layout.ultralytics_overlay if is_offline else layout.ultralytics_online
    weights.mkdir(parents=True, exist_ok=True)
    if SETTINGS.get("weights_dir") != str(weights):
        SETTINGS.update({"weights_dir": str(weights)})
