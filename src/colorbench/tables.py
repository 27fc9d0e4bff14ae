"""A small table model and its three writers: markdown, csv and LaTeX (booktabs).

Tables hold raw values; writers format them. The csv keeps raw units (shares as
fractions) and the 95% interval; markdown shows mean ± half-width of the interval;
LaTeX shows the mean. The best value of every directed column is bold in markdown and
LaTeX, ties at the displayed precision all bold. Unavailable values are "n/a" with a
numbered footnote giving the reason.

Below both of its users, the report (colorbench.report) and the human study's scores
(colorbench.study.tables), so neither imports the other.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from colorbench.metrics.registry import Metric

_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_LATEX_UNICODE = {
    "α": r"$\alpha$",
    "λ": r"$\lambda$",
    "Δ": r"$\Delta$",
    "±": r"$\pm$",
    "−": "-",
    "é": r"\'e",
    "↑": r"$\uparrow$",
    "↓": r"$\downarrow$",
    "·": r"$\cdot$",
    "²": r"$^2$",
    "—": "---",
    "–": "--",
    "×": r"$\times$",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "|": r"$|$",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX specials and map the few non-ASCII characters the report uses."""
    out = []
    for ch in str(text):
        if ch in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[ch])
        elif ch in _LATEX_UNICODE:
            out.append(_LATEX_UNICODE[ch])
        else:
            out.append(ch)
    return "".join(out)


_SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass
class Column:
    key: str
    header: str
    latex: str
    kind: str = "metric"  # label | metric | p (p-value)
    higher_is_better: bool | None = None
    digits: int = 3
    scale: float = 1.0
    ci: bool = True  # the csv carries <key>_ci95_lo/_hi

    @classmethod
    def label(cls, key: str, header: str) -> Column:
        return cls(key, header, latex_escape(header), kind="label", ci=False)

    @classmethod
    def metric(cls, s: Metric, bold: bool = True, header: str | None = None) -> Column:
        return cls(
            s.key,
            (header or s.label) + s.arrow,
            (latex_escape(header) if header else s.latex) + s.latex_arrow,
            higher_is_better=s.higher_is_better if bold else None,
            digits=s.digits,
            scale=s.scale,
        )


@dataclass
class Cell:
    value: float | None = None
    lo: float | None = None
    hi: float | None = None
    n: int | None = None
    text: str | None = None  # label cells, or a display override (p-values)
    reason: str | None = None  # why the value is unavailable
    digits: int | None = None  # per-cell override (a paired table mixes metrics)
    scale: float | None = None
    bold: bool = False
    note: int | None = None  # footnote number, set by Table.finalize

    @classmethod
    def of(cls, v) -> Cell:  # v: colorbench.report.load.Value
        return cls(v.mean, v.lo, v.hi, v.n, reason=None if v.available else v.reason)


@dataclass
class Table:
    name: str  # file stem under reports/tables/
    title: str
    columns: list[Column]
    rows: list[list[Cell]] = field(default_factory=list)
    header_lines: list[str] = field(default_factory=list)  # N, FID mode, provenance
    notes: list[str] = field(default_factory=list)
    bold: bool = True
    ci_in_markdown: bool = True
    howto: list[str] = field(default_factory=list)  # markdown-only notes (commands to run)
    _reasons: list[tuple[int, str]] = field(default_factory=list, init=False, repr=False)

    def add_row(self, cells: list[Cell]) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{self.name}: row of {len(cells)} cells, {len(self.columns)} columns")
        self.rows.append(cells)

    def finalize(self) -> Table:
        """Number the n/a footnotes and mark the best cells; idempotent."""
        reasons: dict[str, int] = {}
        for row in self.rows:
            for col, cell in zip(self.columns, row, strict=True):
                if col.kind != "label" and cell.value is None:
                    text = f"{_plain(col.header)}: {cell.reason or 'not available'}"
                    cell.note = reasons.setdefault(text, len(reasons) + 1)
        self._reasons = [(i, f"n/a — {t}") for t, i in reasons.items()]
        if self.bold:
            mark_best(self)
        return self

    @property
    def all_notes(self) -> list[str]:
        return list(self.notes) + [f"{str(i).translate(_SUP)} {t}" for i, t in self._reasons]


def _plain(header: str) -> str:
    return header.replace(" ↑", "").replace(" ↓", "")


def _digits(col: Column, cell: Cell) -> int:
    return col.digits if cell.digits is None else cell.digits


def _scale(col: Column, cell: Cell) -> float:
    return col.scale if cell.scale is None else cell.scale


def mark_best(table: Table) -> None:
    """Bold the best value per directed column, compared at the displayed precision."""
    for j, col in enumerate(table.columns):
        if col.kind != "metric" or col.higher_is_better is None:
            continue
        shown = [
            (i, round(row[j].value * _scale(col, row[j]), _digits(col, row[j])))
            for i, row in enumerate(table.rows)
            if row[j].value is not None
        ]
        for row in table.rows:
            row[j].bold = False
        if len({v for _, v in shown}) < 2:  # a lone value, or all equal: nothing stands out
            continue
        best = max(v for _, v in shown) if col.higher_is_better else min(v for _, v in shown)
        for i, v in shown:
            if v == best:
                table.rows[i][j].bold = True


def format_p(p: float | None) -> str:
    if p is None:
        return "n/a"
    if p < 0.001:
        return "<0.001"
    return f"{p:.3f}"


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


def _md_cell(col: Column, cell: Cell) -> str:
    if col.kind == "label":
        text = cell.text or ""
    elif col.kind == "p":
        text = cell.text if cell.text is not None else format_p(cell.value)
    elif cell.value is None:
        text = "n/a" + (str(cell.note).translate(_SUP) if cell.note else "")
    else:
        d, s = _digits(col, cell), _scale(col, cell)
        text = _fmt(cell.value * s, d)
        if cell.lo is not None and cell.hi is not None:
            text += f" ± {_fmt((cell.hi - cell.lo) / 2 * s, d)}"
    text = text.replace("|", "\\|")
    return f"**{text}**" if cell.bold else text


def to_markdown(table: Table, heading: str = "###") -> str:
    table.finalize()
    out = [f"{heading} {table.title}", ""]
    if table.header_lines:
        out += [" · ".join(table.header_lines), ""]
    headers = [c.header.replace("|", "\\|") for c in table.columns]
    aligns = [":---" if c.kind == "label" else "---:" for c in table.columns]
    out.append("| " + " | ".join(headers) + " |")
    out.append("| " + " | ".join(aligns) + " |")
    if not table.rows:
        out.append("| " + " | ".join(["—"] * len(table.columns)) + " |")
    for row in table.rows:
        out.append(
            "| "
            + " | ".join(_md_cell(c, x) for c, x in zip(table.columns, row, strict=True))
            + " |"
        )
    notes = table.all_notes
    if any(c.kind == "metric" for c in table.columns) and table.ci_in_markdown:
        notes = [
            "± is half the width of the bootstrap 95% interval (the csv has both ends)."
        ] + notes
    if notes:
        out.append("")
        out += [f"- {n}" for n in notes]
    if table.howto:
        out += ["", *table.howto]
    return "\n".join(out) + "\n"


def to_csv(table: Table) -> str:
    """Wide csv: label columns, then per metric `<key>`, `<key>_ci95_lo`, `<key>_ci95_hi`,
    `<key>_n` (raw units, empty when unavailable) and `<key>_note` when any is unavailable."""
    table.finalize()
    header: list[str] = []
    for j, col in enumerate(table.columns):
        header.append(col.key)
        if col.kind == "metric":
            if col.ci:
                header += [f"{col.key}_ci95_lo", f"{col.key}_ci95_hi"]
            header.append(f"{col.key}_n")
            if any(r[j].value is None for r in table.rows):
                header.append(f"{col.key}_note")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in table.rows:
        line: list[str] = []
        for j, (col, cell) in enumerate(zip(table.columns, row, strict=True)):
            if col.kind == "label":
                line.append(cell.text or "")
                continue
            line.append(_num(cell.value))
            if col.kind == "metric":
                if col.ci:
                    line += [_num(cell.lo), _num(cell.hi)]
                line.append("" if cell.n is None else str(cell.n))
                if any(r[j].value is None for r in table.rows):
                    line.append("" if cell.value is not None else (cell.reason or "n/a"))
        w.writerow(line)
    return buf.getvalue()


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    return repr(float(x))


def _tex_cell(col: Column, cell: Cell) -> str:
    if col.kind == "label":
        return latex_escape(cell.text or "")
    if col.kind == "p":
        return latex_escape(cell.text if cell.text is not None else format_p(cell.value))
    if cell.value is None:
        return "n/a" + (rf"\textsuperscript{{{cell.note}}}" if cell.note else "")
    text = _fmt(cell.value * _scale(col, cell), _digits(col, cell))
    return rf"\textbf{{{text}}}" if cell.bold else text


def to_latex(table: Table) -> str:
    """A booktabs table environment; needs \\usepackage{booktabs}."""
    table.finalize()
    spec = "".join("l" if c.kind == "label" else "r" for c in table.columns)
    label = "tab:" + table.name.replace("_", "-")
    lines = [
        "% generated by `colorbench report`; needs \\usepackage{booktabs}",
        r"\begin{table}[t]",
        r"\centering",
        r"\caption{" + latex_escape(table.title) + "}",
        r"\label{" + label + "}",
        r"\begin{tabular}{" + spec + "}",
        r"\toprule",
        " & ".join(c.latex for c in table.columns) + r" \\",
        r"\midrule",
    ]
    for row in table.rows:
        lines.append(
            " & ".join(_tex_cell(c, x) for c, x in zip(table.columns, row, strict=True)) + r" \\"
        )
    if not table.rows:
        lines.append(" & ".join(["--"] * len(table.columns)) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    foot = [latex_escape(f) for f in [*table.header_lines, *table.notes]]
    foot += [rf"\textsuperscript{{{i}}}{latex_escape(t)}" for i, t in table._reasons]
    if foot:
        lines += [r"\par\smallskip", r"{\footnotesize"] + [f + r"\par" for f in foot] + ["}"]
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write_table(t: Table, folder: Path) -> list[Path]:
    """FOLDER/<name>.md, .csv and .tex of one table."""
    paths = []
    for ext, render in (("md", to_markdown), ("csv", to_csv), ("tex", to_latex)):
        p = folder / f"{t.name}.{ext}"
        p.write_text(render(t) if ext != "md" else render(t, heading="#"), encoding="utf-8")
        paths.append(p)
    return paths
