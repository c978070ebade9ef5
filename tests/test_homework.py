# mypy: disable-error-code="attr-defined, union-attr, arg-type, index, call-overload, list-item, misc, func-returns-value"
# (this test feeds libraries values their stubs describe more narrowly than they accept, or wrong types on purpose)
"""The homework's file checks say what to fix; the interval and the one-page report are right."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from course_utils.homework import (
    CandidateResult,
    HomeworkDataError,
    bootstrap_ci,
    comparison_table,
    load_labelled_csv,
    write_report,
)
from course_utils.paths import data_dir

LABELS = ["billing", "technical", "delivery"]


def _csv(tmp_path: Path, body: str, name: str = "mine.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    return path


def _good(n: int = 8) -> str:
    lines = ["text,label"]
    for label in ("a", "b"):
        lines += [f"example {i} of {label},{label}" for i in range(n)]
    return "\n".join(lines) + "\n"


def test_the_shipped_file_is_valid_and_balanced() -> None:
    frame = load_labelled_csv(data_dir() / "support_tickets.csv", labels=LABELS)
    assert list(frame.columns) == ["text", "label"]
    assert frame["label"].value_counts().to_dict() == {label: 16 for label in LABELS}
    assert frame["text"].str.len().min() > 10 and not frame["text"].duplicated().any()


def test_a_good_file_reads_with_whitespace_stripped_and_a_bom(tmp_path: Path) -> None:
    body = _good().replace("example 0 of a,a", "  example 0 of a ,  a ")
    frame = load_labelled_csv(_csv(tmp_path, "\ufeff" + body))
    assert len(frame) == 16 and frame.loc[0, "text"] == "example 0 of a" and frame.loc[0, "label"] == "a"


def test_missing_file_names_the_path_and_nearby_csvs(tmp_path: Path) -> None:
    _csv(tmp_path, _good(), name="my_labels.csv")
    with pytest.raises(HomeworkDataError, match=r"no file at .*mylabels\.csv.*my_labels\.csv"):
        load_labelled_csv(tmp_path / "mylabels.csv")


@pytest.mark.parametrize(
    ("encoding", "bom"), [("utf-16-le", "\ufeff"), ("utf-16-be", "\ufeff"), ("utf-16-le", ""), ("utf-8", "\ufeff")]
)
def test_spreadsheet_encodings_read_right(tmp_path: Path, encoding: str, bom: str) -> None:
    body = _good().replace("example 3 of a", "caf\u00e9 \u201cexample\u201d 3 of a \u20ac")
    frame = load_labelled_csv(_csv(tmp_path, bom + body, encoding=encoding))
    assert len(frame) == 16 and frame.loc[3, "text"] == "caf\u00e9 \u201cexample\u201d 3 of a \u20ac"
    assert list(frame["label"].unique()) == ["a", "b"]


def test_windows_1252_is_named_not_guessed(tmp_path: Path) -> None:
    body = _good().replace("example 3 of a", "caf\u00e9 \u201cexample\u201d 3 of a \u20ac")
    path = _csv(tmp_path, body, encoding="cp1252")
    with pytest.raises(HomeworkDataError, match=r"not UTF-8.*line 5.*Windows-1252.*'\u00e9'.*CSV UTF-8.*cp1252"):
        load_labelled_csv(path)
    assert load_labelled_csv(path, encoding="cp1252").loc[3, "text"] == "caf\u00e9 \u201cexample\u201d 3 of a \u20ac"
    with pytest.raises(HomeworkDataError, match="cannot be read as 'utf-8'"):
        load_labelled_csv(path, encoding="utf-8")


def test_bytes_no_known_encoding_reads_give_the_line_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(_good().encode().replace(b"example 3 of a", b"ex\x81ample 3 of a"))
    with pytest.raises(HomeworkDataError, match=r"not UTF-8.*line 5.*Save the file as UTF-8"):
        load_labelled_csv(path)


@pytest.mark.parametrize(("sep", "newline"), [(";", "\n"), ("\t", "\n"), ("|", "\n"), (",", "\r"), (";", "\r\n")])
def test_separators_and_line_endings_of_exports(tmp_path: Path, sep: str, newline: str) -> None:
    body = _good().replace("example 2 of a,a", '"example 2, with a comma; and more",a')
    body = body.replace(",a\n", sep + "a\n").replace(",b\n", sep + "b\n").replace("text,label", f"text{sep}label")
    frame = load_labelled_csv(_csv(tmp_path, body.replace("\n", newline)))
    assert len(frame) == 16 and frame.loc[2, "text"] == "example 2, with a comma; and more"


def test_an_unclosed_quote_that_merges_rows_is_caught(tmp_path: Path) -> None:
    body = _good().replace("example 2 of a,a", '"example 2 of a,a').replace("example 5 of a,a", 'example 5 of a",a')
    with pytest.raises(HomeworkDataError, match=r"line\(s\) 4 a double quote opens a text.*several rows"):
        load_labelled_csv(_csv(tmp_path, body))
    never_closed = _good().replace("example 2 of a,a", '"example 2 of a,a')
    with pytest.raises(HomeworkDataError, match=r"line 4.*quotes"):
        load_labelled_csv(_csv(tmp_path, never_closed, name="n.csv"))
    multi_line = _good().replace("example 2 of a,a", '"example 2, over\ntwo lines",a')
    assert load_labelled_csv(_csv(tmp_path, multi_line, name="m.csv")).loc[2, "text"] == "example 2, over\ntwo lines"
    stray = _good().replace("example 2 of a,a", '"example" 2 of a,a')
    with pytest.raises(HomeworkDataError, match=r"line 4.*quotes"):
        load_labelled_csv(_csv(tmp_path, stray, name="s.csv"))


def test_huge_fields_keep_the_message_short(tmp_path: Path) -> None:
    huge = "x" * 300_000
    for name, body in {
        "field.csv": _good().replace("example 2 of a,a", f'"{huge}",a'),
        "header.csv": _good().replace("text,label", f"{huge},label"),
        "label.csv": _good().replace("example 2 of a,a", f"example 2 of a,{huge[:100_000]}"),
    }.items():
        with pytest.raises(HomeworkDataError) as info:
            load_labelled_csv(_csv(tmp_path, body, name=name), labels=None if name != "label.csv" else ["a", "b"])
        assert len(str(info.value)) < 600, (name, len(str(info.value)))


def test_a_folder_or_home_in_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _csv(tmp_path, _good(), name="labels.csv")
    with pytest.raises(HomeworkDataError, match=r"is a folder.*CSV files in it: labels\.csv"):
        load_labelled_csv(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert len(load_labelled_csv("~/labels.csv")) == 16


def test_wrong_columns_list_what_the_header_has(tmp_path: Path) -> None:
    path = _csv(tmp_path, _good().replace("text,label", "sentence,category"))
    with pytest.raises(
        HomeworkDataError, match=r"lacks the column\(s\) \['text', 'label'\].*\['sentence', 'category'\]"
    ):
        load_labelled_csv(path)
    # the same file is fine when the columns are named
    assert len(load_labelled_csv(path, text_column="sentence", label_column="category")) == 16
    semicolons = _csv(tmp_path, _good().replace(",", ";").replace("text;label", "sentence;category"), name="s.csv")
    with pytest.raises(HomeworkDataError, match=r"lacks the column.*\['sentence', 'category'\]"):
        load_labelled_csv(semicolons)


def test_empty_rows_are_reported_by_line(tmp_path: Path) -> None:
    lines = _good().splitlines()
    lines[3] = "  ,a"  # line 4: no text
    lines[6] = "example,"  # line 7: no label
    lines.insert(9, "")  # line 10: a blank line
    with pytest.raises(HomeworkDataError, match=r"line\(s\) 4, 7, 10 have an empty 'text' or 'label'"):
        load_labelled_csv(_csv(tmp_path, "\n".join(lines) + "\n"))


def test_an_unquoted_comma_is_caught(tmp_path: Path) -> None:
    body = _good().replace("example 2 of a,a", "example 2, sadly, of a,a")
    with pytest.raises(HomeworkDataError, match=r"line\(s\) 4 have a different number of fields.*double quotes"):
        load_labelled_csv(_csv(tmp_path, body))
    quoted = _good().replace("example 2 of a,a", '"example 2, happily, of a",a')
    assert "happily" in load_labelled_csv(_csv(tmp_path, quoted, name="q.csv")).loc[2, "text"]


def test_labels_outside_the_set_are_listed_with_a_suggestion(tmp_path: Path) -> None:
    body = (
        "text,label\n"
        + "\n".join(f"t{i},{lab}" for i, lab in enumerate(LABELS * 8))
        + "\nodd one,Biling\nanother,refund\n"
    )
    with pytest.raises(
        HomeworkDataError,
        match=r"outside the set.*'Biling' on line\(s\) 26 \(did you mean 'billing'\?\).*'refund' on line\(s\) 27",
    ):
        load_labelled_csv(_csv(tmp_path, body), labels=LABELS)


def test_too_few_examples_per_class_and_a_single_class(tmp_path: Path) -> None:
    body = _good() + "one of c,c\ntwo of c,c\n"
    with pytest.raises(HomeworkDataError, match=r"too few examples for 'c': 2 \(at least 8"):
        load_labelled_csv(_csv(tmp_path, body))
    assert len(load_labelled_csv(_csv(tmp_path, body, name="b.csv"), min_per_class=2)) == 18
    single = "text,label\n" + "\n".join(f"t{i},a" for i in range(10)) + "\n"
    with pytest.raises(HomeworkDataError, match="only one label"):
        load_labelled_csv(_csv(tmp_path, single, name="s.csv"))
    with pytest.raises(HomeworkDataError, match="empty"):
        load_labelled_csv(_csv(tmp_path, "\n\n", name="e.csv"))
    with pytest.raises(HomeworkDataError, match="no examples"):
        load_labelled_csv(_csv(tmp_path, "text,label\n", name="h.csv"))


def test_bootstrap_interval_contains_the_accuracy_and_shrinks_with_more_data() -> None:
    acc, low, high = bootstrap_ci([1] * 15 + [0] * 5)
    assert acc == 0.75 and low < 0.75 < high and 0.5 < low and high <= 0.95
    big = bootstrap_ci([1] * 150 + [0] * 50)
    assert big[0] == 0.75 and (big[2] - big[1]) < (high - low) / 2
    assert bootstrap_ci([1] * 20) == (1.0, 1.0, 1.0)
    assert bootstrap_ci([1, 0] * 10, seed=3) == bootstrap_ci([1, 0] * 10, seed=3)
    # the binomial standard error is sqrt(p(1-p)/n); the 95% interval is about 4 of them wide
    se = np.sqrt(0.75 * 0.25 / 200)
    assert abs((big[2] - big[1]) - 3.92 * se) < 0.02
    with pytest.raises(ValueError):
        bootstrap_ci([])


def _results() -> list[CandidateResult]:
    return [
        CandidateResult(
            "MiniLM + logistic regression",
            "sentence-transformers/all-MiniLM-L6-v2",
            0.9,
            0.8,
            0.97,
            48,
            12.5,
            90.9,
            "yes, with conditions",
        ),
        CandidateResult("TF-IDF + logistic regression", "none", 0.7, 0.55, 0.82, 48, 0.4, 0.1, "yes"),
        CandidateResult(
            "NLI zero-shot",
            "cross-encoder/nli-distilroberta-base",
            None,
            None,
            None,
            0,
            None,
            328.0,
            "yes, with conditions",
            "stand-in offline: not scored",
        ),
    ]


def test_the_latency_labels_stay_inside_their_axes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.figure

    saved: list[matplotlib.figure.Figure] = []
    savefig = matplotlib.figure.Figure.savefig

    def keep(self: matplotlib.figure.Figure, *args: Any, **kwargs: Any) -> None:
        saved.append(self)
        savefig(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    write_report(_results(), tmp_path, task="t", use="SaaS", data_name="d")
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = saved[0]
    canvas = FigureCanvasAgg(fig)  # the report closed the figure; draw it again off screen
    canvas.draw()
    renderer = canvas.get_renderer()
    latency = fig.axes[1]
    frame = latency.get_window_extent(renderer)
    assert latency.texts and all(t.get_window_extent(renderer).x1 <= frame.x1 for t in latency.texts)


def test_table_and_report_carry_every_candidate(tmp_path: Path) -> None:
    table = comparison_table(_results())
    assert len(table) == 3 and table.loc[0, "95% interval"] == "0.80 to 0.97" and table.loc[2, "accuracy"] == "-"
    paths = write_report(
        _results(), tmp_path / "report", task="support tickets", use="SaaS", data_name="support_tickets.csv"
    )
    text = paths["markdown"].read_text(encoding="utf-8")
    for r in _results():
        assert r.name in text
    assert "0.80 to 0.97" in text and "SaaS" in text and "stand-in offline: not scored" in text
    assert "comparison.png" in text and paths["figure"].stat().st_size > 5_000
    assert "95% percentile bootstrap over the examples" in text
    exact = write_report(_results(), tmp_path / "exact", task="t", use="SaaS", data_name="d", interval_name="exact X")
    assert "the interval is the exact X." in exact["markdown"].read_text(encoding="utf-8")
    with pytest.raises(ValueError):
        comparison_table([])
