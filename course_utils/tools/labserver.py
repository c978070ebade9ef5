"""The Jupyter server's side of ``./course.sh lab``: notebooks open unmodified on any machine.

``jupyter-config/jupyter_server_config.json`` (put on ``JUPYTER_CONFIG_PATH`` by ``course.sh lab``)
makes :class:`CourseContentsManager` the server's contents manager. See :mod:`course_utils.tools.notebook_files`
for why JupyterLab marks a notebook modified on open.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

from .notebook_files import KERNELSPEC, kernel_language_info

__all__ = ["CourseContentsManager"]


class CourseContentsManager(AsyncLargeFileManager):  # type: ignore[misc]  # jupyter_server is untyped
    """Jupyter's own file contents manager; a python3 notebook is sent with the kernel's metadata.

    ``language_info`` and ``kernelspec`` are what JupyterLab writes once the kernel starts.

    The kernel runs on the server's Python, so this is the exact value JupyterLab writes when the
    kernel starts; the notebook is then not marked modified. Only what the browser receives
    changes: the file is written only when the user saves it.
    """

    async def get(  # type: ignore[override]  # the base's async get is typed as returning a plain value
        self,
        path: str,
        content: bool = True,
        type: str | None = None,  # noqa: A002 - the base class's name
        format: str | None = None,  # noqa: A002
        require_hash: bool = False,
    ) -> Any:
        model = await super().get(path, content=content, type=type, format=format, require_hash=require_hash)
        nb = model.get("content") if model.get("type") == "notebook" else None
        if nb is not None and nb.get("metadata", {}).get("kernelspec", {}).get("name") == KERNELSPEC["name"]:
            nb["metadata"]["language_info"] = kernel_language_info()
            nb["metadata"]["kernelspec"] = dict(KERNELSPEC)  # the spec's display name, as JupyterLab writes it
        return model
