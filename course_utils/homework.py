"""The model-selection homework: read a student's labelled CSV safely, and write the one-page comparison.

A student brings a small file of examples, one per row, with a text column and a label column.
:func:`load_labelled_csv` reads it and stops with an error that says *what to fix* when the file is
missing, is not UTF-8, lacks the columns, has empty rows, has labels outside the expected set or has
too few examples of a class. :func:`bootstrap_ci` gives the interval around an accuracy, and
:func:`write_report` turns the measured candidates into a table and a plot on one page::

    >>> from course_utils.homework import bootstrap_ci
    >>> acc, low, high = bootstrap_ci([True] * 18 + [False] * 2)
    >>> round(acc, 2), low < acc < high
    (0.9, True)
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd


class HomeworkDataError(ValueError):
    """The labelled file cannot be used as it is; the message says what to fix."""


def _lines(numbers: Sequence[int], limit: int = 8) -> str:
    shown = ", ".join(str(n) for n in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def _short(text: object, width: int = 60) -> str:
    """A piece of the student's file, quoted and cut, so a message stays short whatever the file holds."""
    shown = repr(str(text))
    return shown if len(shown) <= width else shown[: width - 4] + "...'"


_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _decode(path: Path, encoding: str | None = None) -> tuple[str, str]:
    """The file's text and the encoding it was read with.

    A byte-order mark decides (Excel's "CSV UTF-8" writes one; "Unicode text" is UTF-16 with one). Without it,
    UTF-8, or UTF-16 when every other byte is zero. Any other encoding is named by the caller (``encoding=``):
    a guess between Windows-1252, Latin-1 and Mac Roman would read some letters wrong without a word.
    """
    data = path.read_bytes()
    if encoding is not None:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as err:
            raise HomeworkDataError(
                f"{path.name} cannot be read as {encoding!r} ({type(err).__name__}: {str(err)[:80]}). "
                "Save it as 'CSV UTF-8' and leave encoding= out."
            ) from None
    for bom, name in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(name), name
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as err:
        first_error = err
    if len(data) >= 4 and max(data[0::2].count(0), data[1::2].count(0)) > len(data) // 4:
        little = data[1::2].count(0) > data[0::2].count(0)
        try:
            return data.decode("utf-16-le" if little else "utf-16-be"), "utf-16"
        except UnicodeDecodeError:
            pass
    before = data[: first_error.start]
    line = (before.count(b"\n") if b"\n" in data else before.count(b"\r")) + 1
    bad = data[first_error.start : first_error.start + 1]
    try:
        as_windows = f" (in Windows-1252, Excel's plain 'CSV' on Windows, that byte is {bad.decode('cp1252')!r})"
    except UnicodeDecodeError:
        as_windows = ""
    raise HomeworkDataError(
        f"{path.name} is not UTF-8 text: byte {bad!r} on line {line} cannot be read{as_windows}. Save the file as "
        "UTF-8 (in a spreadsheet: 'CSV UTF-8'; in an editor: encoding UTF-8) and try again, or name its encoding: "
        "load_labelled_csv(path, encoding='cp1252')."
    ) from None


_SEPARATORS = (",", ";", "\t", "|")
_SEPARATOR_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}


def _header_cells(line: str, sep: str) -> list[str]:
    try:
        return [h.strip() for h in next(csv.reader([line], delimiter=sep))]
    except (csv.Error, StopIteration):
        return []


def _parse(text: str, name: str, wanted: Sequence[str]) -> tuple[list[tuple[int, list[str]]], str]:
    """Rows with the line each starts on, read with the separator whose header has the ``wanted`` columns."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")  # Windows and old Mac (CR-only) line endings
    first = text.split("\n", 1)[0]
    order = sorted(_SEPARATORS, key=lambda sep: -first.count(sep))
    chosen = next(
        (sep for sep in order if all(w in _header_cells(first, sep) for w in wanted)),
        order[0] if first.count(order[0]) else ",",
    )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=chosen, strict=True)
    rows: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for row in reader:
            rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as err:
        where = f"line {start}"
        if "field larger than field limit" in str(err):
            raise HomeworkDataError(
                f"{name}, {where}: a field is longer than {csv.field_size_limit():,} characters. Either a quote "
                "opens a text there and is never closed, so the rest of the file became one field (check the quotes "
                'on that line; a quote inside a text is written twice: ""), or the text really is that long: '
                "shorten it to the sentence or paragraph that carries the label."
            ) from None
        raise HomeworkDataError(
            f"{name}, {where}: the CSV cannot be read ({err}). Check the quotes on that line: a text with a "
            'quote or a separator in it goes in double quotes, and a quote inside it is written twice: "".'
        ) from None
    return rows, chosen


def load_labelled_csv(
    path: str | Path,
    *,
    text_column: str = "text",
    label_column: str = "label",
    labels: Sequence[str] | None = None,
    min_per_class: int = 8,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read and check a labelled CSV: one example per row, a text column and a label column.

    Spreadsheet exports read as they are: UTF-8 with or without a byte-order mark, UTF-16 ("Unicode text");
    another encoding (Windows-1252, Excel's plain "CSV" on Windows) is named with ``encoding=``; commas, semicolons, tabs or vertical bars between fields; Windows, Unix or old Mac line ends.

    Args:
        path: the CSV file (``~`` is your home folder).
        text_column, label_column: the names of the two columns in the header line.
        labels: the allowed labels; ``None`` accepts the labels the file has (at least two).
        min_per_class: the fewest examples any class may have (the interval and the cross-validation need them).
        encoding: the file's encoding when it is neither UTF-8 nor UTF-16 (e.g. ``"cp1252"``).

    Returns:
        A frame with exactly the columns ``text`` and ``label`` (whitespace stripped), in file order.

    Raises:
        HomeworkDataError: naming the problem, where it is (line numbers count the header as line 1) and the fix.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.csv"))[:8]
        hint = f" CSV files in it: {', '.join(inside)}." if inside else " It has no CSV file."
        raise HomeworkDataError(f"{path} is a folder, not a file: give the path of the CSV file inside it.{hint}")
    if not path.is_file():
        where = path.resolve().parent
        nearby = sorted(p.name for p in where.glob("*.csv"))[:8] if where.is_dir() else []
        hint = f" CSV files in {where}: {', '.join(nearby)}." if nearby else f" The folder {where} has no CSV file."
        raise HomeworkDataError(f"no file at {path}: check the path and the file name.{hint}")
    text, _ = _decode(path, encoding)
    if not text.strip():
        raise HomeworkDataError(
            f"{path.name} is empty: put a header line ({text_column},{label_column}) and one example per line."
        )
    rows, sep = _parse(text, path.name, (text_column, label_column))
    header = [h.strip() for h in rows[0][1]]
    missing = [c for c in (text_column, label_column) if c not in header]
    if missing:
        shown = "[" + ", ".join(_short(h, 40) for h in header[:8]) + (", ..." if len(header) > 8 else "") + "]"
        raise HomeworkDataError(
            f"{path.name} lacks the column(s) {missing}: its header line has {shown}. "
            f"Name the columns {text_column!r} and {label_column!r} in the first line (or pass text_column=/label_column=)."
        )
    ti, li = header.index(text_column), header.index(label_column)
    records, empty, ragged = [], [], []
    for lineno, row in rows[1:]:
        if len(row) != len(header) and any(cell.strip() for cell in row):
            ragged.append(lineno)
            continue
        cells = [c.strip() for c in row] + [""] * (len(header) - len(row))
        if not cells[ti] or not cells[li]:
            empty.append(lineno)
            continue
        records.append((lineno, cells[ti], cells[li]))
    # A quote left open swallows the lines after it into one text: its inner lines then end like rows do.
    seen_labels = {label for _, _, label in records}
    merged = [
        lineno
        for lineno, text_cell, _ in records
        if any(line.rsplit(sep, 1)[-1].strip() in seen_labels for line in text_cell.split("\n")[:-1] if sep in line)
    ]
    if merged:
        raise HomeworkDataError(
            f"{path.name}: on line(s) {_lines(merged)} a double quote opens a text that runs over the following "
            "lines, so several rows were read as one. Check the quotes there: a text in quotes must close them on "
            'its line, and a quote inside a text is written twice ("").'
        )
    if ragged:
        raise HomeworkDataError(
            f"{path.name}: line(s) {_lines(ragged)} have a different number of fields than the header "
            f"({len(header)}, separated by {_SEPARATOR_NAMES[sep]}s). A text with a {_SEPARATOR_NAMES[sep]} in it "
            'must be in double quotes: "like, this".'
        )
    if empty:
        raise HomeworkDataError(
            f"{path.name}: line(s) {_lines(empty)} have an empty {text_column!r} or {label_column!r}. "
            "Fill them in or delete those lines."
        )
    if not records:
        raise HomeworkDataError(f"{path.name} has a header but no examples: add one example per line.")
    frame = pd.DataFrame(records, columns=["line", "text", "label"])
    if labels is not None:
        allowed = [str(x) for x in labels]
        outside = frame[~frame["label"].isin(allowed)]
        if len(outside):
            parts = []
            for value, group in list(outside.groupby("label", sort=True))[:6]:
                close = difflib.get_close_matches(str(value)[:100], allowed, n=1)
                guess = f" (did you mean {close[0]!r}?)" if close else ""
                parts.append(f"{_short(value, 40)} on line(s) {_lines(group['line'].tolist())}{guess}")
            raise HomeworkDataError(
                f"{path.name}: labels outside the set {allowed}: "
                + "; ".join(parts)
                + ". Correct them or extend the set."
            )
    counts = frame["label"].value_counts()
    if len(counts) < 2:
        raise HomeworkDataError(
            f"{path.name} has only one label ({_short(counts.index[0], 40)}): a classifier needs at least two classes."
        )
    few = counts[counts < min_per_class]
    if len(few):
        listed = ", ".join(f"{_short(k, 40)}: {v}" for k, v in list(few.items())[:8])
        raise HomeworkDataError(
            f"{path.name}: too few examples for {listed} (at least {min_per_class} per class are needed for a "
            "cross-validated score with an interval). Add examples of those classes, or merge or drop the class."
        )
    return frame[["text", "label"]].reset_index(drop=True)


def bootstrap_ci(
    correct: Sequence[bool] | np.ndarray, *, n_boot: int = 2000, level: float = 0.95, seed: int = 0
) -> tuple[float, float, float]:
    """Accuracy and its percentile bootstrap interval: ``(accuracy, low, high)``.

    Resamples the examples with replacement ``n_boot`` times (seeded, so the interval is reproducible).
    """
    hits = np.asarray(correct, dtype=float)
    if hits.size == 0:
        raise ValueError("no predictions to score")
    rng = np.random.default_rng(seed)
    means = hits[rng.integers(0, hits.size, size=(n_boot, hits.size))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(hits.mean()), float(low), float(high)


@dataclass(frozen=True)
class CandidateResult:
    """One candidate's measured figures (``None`` where a figure was not measured, with the reason in ``note``)."""

    name: str
    model: str  # the catalog id(s) it uses, or "none"
    accuracy: float | None
    ci_low: float | None
    ci_high: float | None
    n: int  # examples scored
    latency_ms: float | None  # median time for one example
    weights_mb: float | None  # size of the weights in memory (parameters x bytes)
    licence: str  # the verdict for the student's use
    note: str = ""


COLUMNS = {
    "name": "candidate",
    "model": "model",
    "accuracy": "accuracy",
    "interval": "95% interval",
    "n": "examples",
    "latency_ms": "latency (ms / example)",
    "weights_mb": "weights (MB)",
    "licence": "licence for the use",
    "note": "note",
}


def comparison_table(results: Sequence[CandidateResult]) -> pd.DataFrame:
    """The candidates side by side, formatted for reading (figures not measured show as "-")."""
    if not results:
        raise ValueError("no candidates to compare")

    def fmt(value: float | None, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    rows = []
    for r in results:
        d = asdict(r)
        interval = "-" if r.ci_low is None or r.ci_high is None else f"{r.ci_low:.2f} to {r.ci_high:.2f}"
        rows.append(
            {
                COLUMNS["name"]: d["name"],
                COLUMNS["model"]: d["model"],
                COLUMNS["accuracy"]: fmt(r.accuracy, ".2f"),
                COLUMNS["interval"]: interval,
                COLUMNS["n"]: r.n,
                COLUMNS["latency_ms"]: fmt(r.latency_ms, ".1f"),
                COLUMNS["weights_mb"]: fmt(r.weights_mb, ".1f"),
                COLUMNS["licence"]: r.licence,
                COLUMNS["note"]: r.note,
            }
        )
    return pd.DataFrame(rows)


def write_report(
    results: Sequence[CandidateResult],
    out_dir: str | Path,
    *,
    task: str,
    use: str,
    data_name: str,
    interval_name: str = "95% percentile bootstrap over the examples",
) -> dict[str, Path]:
    """Write the one-page comparison: ``comparison.md`` (the table and what was measured) and ``comparison.png``.

    ``interval_name`` says which interval the results carry (the figure's axis and the text name it).
    Returns the paths written, ``{"markdown": ..., "figure": ...}``.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(results)
    scored = [r for r in results if r.accuracy is not None]

    fig, (ax_q, ax_l) = plt.subplots(1, 2, figsize=(10, 0.6 * len(results) + 1.8), sharey=True)
    names = [r.name for r in results]
    ypos = np.arange(len(results))
    for y, r in zip(ypos, results, strict=True):
        if r.accuracy is None:
            ax_q.text(0.02, y, "not scored", va="center", fontsize=9, color="grey")
            continue
        err = [[r.accuracy - (r.ci_low or r.accuracy)], [(r.ci_high or r.accuracy) - r.accuracy]]
        ax_q.errorbar(r.accuracy, y, xerr=err, fmt="o", capsize=4, color="tab:blue")
    ax_q.set_yticks(ypos, names)
    ax_q.set_xlim(0, 1.02)
    ax_q.set_xlabel(f"accuracy (dot) and {interval_name.split(' over ')[0]}")
    ax_q.invert_yaxis()
    lat = [r.latency_ms or 0.0 for r in results]
    ax_l.barh(ypos, lat, color=["tab:orange" if r.latency_ms is not None else "lightgrey" for r in results])
    for y, r in zip(ypos, results, strict=True):
        if r.latency_ms is not None:
            ax_l.text(r.latency_ms, y, f" {r.latency_ms:.1f}", va="center", fontsize=9)
    ax_l.set_xlim(0, 1.2 * max(lat) if max(lat) > 0 else 1.0)  # room for the longest bar's value label
    ax_l.set_xlabel("median latency per example (ms), this machine")
    fig.suptitle(f"{task}: {len(scored)} of {len(results)} candidates scored on {data_name}", fontsize=11)
    fig.tight_layout()
    figure = out / "comparison.png"
    fig.savefig(figure, dpi=110)
    plt.close(fig)

    lines = [
        f"# Model comparison: {task}",
        "",
        f"Data: {data_name}, {max((r.n for r in results), default=0)} labelled examples. Intended use: {use}.",
        "",
        table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False),
        "",
        f"Accuracy: share of examples labelled right; the interval is the {interval_name}. "
        "Latency: median of repeated single-example calls on this machine after a warm-up (it varies with load). "
        "Weights: parameters x bytes per parameter. Licence: the verdict of `course_utils.licences` for the use above; "
        "it informs, a lawyer decides.",
        "",
        f"![comparison]({figure.name})",
        "",
    ]
    markdown = out / "comparison.md"
    markdown.write_text("\n".join(lines), encoding="utf-8")
    return {"markdown": markdown, "figure": figure}


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True
