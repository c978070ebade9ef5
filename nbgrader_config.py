"""nbgrader settings for teaching with this course's notebooks (read by ``nbgrader`` in this folder).

The stubs that replace solutions are the ones ``./course.sh student`` writes, so a student gets
the same copy from either route. The notebooks already carry nbgrader's cell metadata
(``python -m course_utils.tools.student --mark``): solution cells, locked test cells ("# Check N",
one point each) and written answers graded by hand.
"""

from course_utils.tools.student import CODE_STUB, TEXT_STUB

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (nbgrader provides get_config)
c.ClearSolutions.code_stub = {"python": CODE_STUB}
c.ClearSolutions.text_stub = TEXT_STUB
