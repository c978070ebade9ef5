"""Keep library chatter that contradicts the lesson out of a notebook, and telemetry off.

* ``huggingface_hub`` logs a warning each time it resolves a model's revision from the local
  cache while ``HF_HUB_OFFLINE=1`` is set: "Could not reach the Hub (... offline mode is enabled.
  To disable it, please unset the `HF_HUB_OFFLINE` environment variable.)". The course sets that
  switch on purpose, so the advice is wrong for a student. :func:`install` drops exactly that
  message (logged by ``huggingface_hub.hf_api``) while offline mode is on; every other warning,
  and that one when offline mode is off (a real network failure), is still shown.
* ultralytics logs "Creating new Ultralytics Settings v… file ✅" with three lines of how to edit it the
  first time it is imported with a new settings folder. The course keeps that file in its own cache
  (``YOLO_CONFIG_DIR``, one folder online and one offline), so on a clean machine that notice, naming a
  course-internal path, would be the first output of notebook 09. :class:`UltralyticsSettingsNotice`
  drops exactly that message; ultralytics' other messages and warnings still show.
* onnxruntime (RapidOCR, notebooks 11 and 24) queues telemetry under ``~/.cache/Microsoft`` unless
  ``ORT_DISABLE_TELEMETRY`` is set (the switch its native library reads; Python's
  ``onnxruntime.disable_telemetry_events()`` does the same once imported). It is set like the
  hub's ``HF_HUB_DISABLE_TELEMETRY``.
"""

from __future__ import annotations

import logging
import os

__all__ = ["HubOfflineNotice", "UltralyticsSettingsNotice", "install"]

TELEMETRY_SWITCHES = {"HF_HUB_DISABLE_TELEMETRY": "1", "ORT_DISABLE_TELEMETRY": "1"}


class HubOfflineNotice(logging.Filter):
    """Drops huggingface_hub's "Could not reach the Hub (...offline mode is enabled...)" while offline is asked for."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        offline = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        return not (offline and message.startswith("Could not reach the Hub") and "offline mode is enabled" in message)


class UltralyticsSettingsNotice(logging.Filter):
    """Drops ultralytics' "Creating new Ultralytics Settings ... file" notice (the file lives in the course's cache)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Creating new Ultralytics Settings")


def install() -> None:
    """Set the telemetry switches and add the filters (once; safe to call again, before or after the imports).

    A filter on a logger survives ultralytics' own ``set_logging``, which replaces handlers, not filters.
    """
    os.environ.update(TELEMETRY_SWITCHES)
    for name, kind in (("huggingface_hub.hf_api", HubOfflineNotice), ("ultralytics", UltralyticsSettingsNotice)):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
