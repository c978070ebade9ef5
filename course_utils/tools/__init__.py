"""Tooling for whoever maintains the course; no notebook and no module of ``course_utils`` outside this folder imports it.

* :mod:`~course_utils.tools.notebook_files`: reads and writes ``.ipynb`` files as JupyterLab would leave them;
* :mod:`~course_utils.tools.colab`: writes the hidden set-up cell that starts every notebook (the Colab route);
* :mod:`~course_utils.tools.timings`: writes the measured run times into the notebooks and the README;
* :mod:`~course_utils.tools.student`: nbgrader metadata and the student copies (``./course.sh student``);
* :mod:`~course_utils.tools.site`: the course's static web site (``./course.sh site``);
* :mod:`~course_utils.tools.labserver`: the Jupyter server's contents manager for ``./course.sh lab``;
* :mod:`~course_utils.tools.envlock`: the locked environment (``./course.sh lock``) and the canary on newer releases.
"""
