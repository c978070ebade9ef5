"""Checks about meaning that cannot crash a lesson.

A notebook checks what a *real* model answers ("the cat is a cat"). Under the test command such a
check must be strict, or a regression would pass unseen. In front of a class it must not be: the
model on the hub can change after the course was written, and an ``AssertionError`` halfway
through a live demo helps nobody. :func:`expect` does both::

    >>> from course_utils.checks import expect
    >>> expect(2 + 2 == 4, "arithmetic still works", 2 + 2)
    True

Strict (raise ``AssertionError``) when ``COURSE_STRICT`` is ``1`` (``./course.sh test`` sets it);
otherwise a failed check shows a visible warning with what was expected and what came, and the
notebook carries on. Structure checks, deterministic maths and checks of a student's own exercise
answers are plain ``assert`` statements: they stay strict everywhere.
"""

from __future__ import annotations

import html
import os
import sys

STRICT_ENV = "COURSE_STRICT"

_ADVICE = (
    "The real model may differ from the one this lesson was written for (a new revision on the hub, "
    "another copy in your cache). The lesson carries on; compare the output above with the text, and "
    "report it with the output of ./course.sh doctor."
)


def strict() -> bool:
    """True when failed meaning checks must raise (``COURSE_STRICT=1``: the test command)."""
    return os.environ.get(STRICT_ENV, "").strip().lower() in ("1", "true", "yes")


def _short(value: object, limit: int = 300) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show_warning(message: str) -> None:
    """Print the warning (it stays in the saved output) and, in Jupyter, also show it as a coloured box."""
    print(f"[course] WARNING: {message}", file=sys.stdout)
    try:
        from IPython import get_ipython
        from IPython.display import HTML, display
    except ImportError:  # plain Python: the printed line is all there is
        return
    shell = get_ipython()
    if shell is None or type(shell).__name__ != "ZMQInteractiveShell":
        return
    display(
        HTML(
            '<div style="border-left:6px solid #e69500;background:#fff4e0;color:#333;padding:6px 10px;margin:4px 0">'
            f"<b>Meaning check did not hold</b><br>{html.escape(message)}</div>"
        )
    )


def expect(condition: object, expected: str, got: object = None) -> bool:
    """Check a result of a real model; strict under the test command, a visible warning in class.

    Args:
        condition: the check (truthy when the model answered as the lesson says).
        expected: what the lesson expects, in words ("the cat photo's top-1 is a cat class").
        got: what came instead (the model's answer), shown when the check fails.

    Returns:
        ``bool(condition)``, so a cell can branch on it.

    Raises:
        AssertionError: when the check fails and ``COURSE_STRICT=1``.
    """
    ok = bool(condition)
    if ok:
        return True
    message = f"expected {expected}; got {_short(got)}."
    if strict():
        raise AssertionError(message)
    _show_warning(f"{message} {_ADVICE}")
    return False
