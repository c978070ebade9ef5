"""Keep library chatter that contradicts the lesson out of a notebook, and telemetry off.

* ``huggingface_hub`` logs a warning each time it resolves a model's revision from the local
  cache while ``HF_HUB_OFFLINE=1`` is set: "Could not reach the Hub (... offline mode is enabled.
  To disable it, please unset the `HF_HUB_OFFLINE` environment variable.)". The course sets that
  switch on purpose, so the advice is wrong for a student. :func:`install` drops exactly that
  message (logged by ``huggingface_hub.hf_api``) while offline mode is on; every other warning,
  and that one when offline mode is off (a real network failure), is still shown.
* onnxruntime (RapidOCR, notebooks 11 and 24) queues telemetry under ``~/.cache/Microsoft`` unless
  ``ORT_DISABLE_TELEMETRY`` is set (the switch its native library reads; Python's
  ``onnxruntime.disable_telemetry_events()`` does the same once imported). It is set like the
  hub's ``HF_HUB_DISABLE_TELEMETRY``.
"""

from __future__ import annotations

import logging
import os

__all__ = ["HubOfflineNotice", "install"]

TELEMETRY_SWITCHES = {"HF_HUB_DISABLE_TELEMETRY": "1", "ORT_DISABLE_TELEMETRY": "1"}


class HubOfflineNotice(logging.Filter):
    """Drops huggingface_hub's "Could not reach the Hub (...offline mode is enabled...)" while offline is asked for."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        return not (offline and message.startswith("Could not reach the Hub") and "offline mode is enabled" in message)


def install() -> None:
    """Set the telemetry switches and add the filter (once; safe to call again, before or after the import)."""
    os.environ.update(TELEMETRY_SWITCHES)
    logger = logging.getLogger("huggingface_hub.hf_api")
    if not any(isinstance(f, HubOfflineNotice) for f in logger.filters):
        logger.addFilter(HubOfflineNotice())
