"""The old name of :mod:`course_utils.session`: notebook 00 still imports ``pick_device`` from here."""

from .session import pick_device

__all__ = ["pick_device"]
