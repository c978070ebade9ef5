"""Plumbing for the course *Pre-trained Models in Practice*.

The notebooks show the real library APIs; this package only does the plumbing around them:

* :func:`setup`: device, dtype, seeds, offline switches, and the best copy of each model;
* :mod:`course_utils.catalog`: every model the course uses, with licence, size and offline route;
* :mod:`course_utils.downloads`: a verified (sha256) download cache;
* :mod:`course_utils.plots`: image grids, boxes and masks drawn over images, top-k bars;
* ``course doctor | prefetch | catalog``: the command line (:mod:`course_utils.cli`).

Importing this package imports no hub library, so ``setup()`` can still set the offline switches.
"""

from .catalog import load_catalog
from .environment import Session, setup

__all__ = ["Session", "load_catalog", "setup"]
__version__ = "0.1.0"
