"""The commands' tables: columns whose cells are never broken (ids, short names from a fixed
set, times, counts) beside columns of free text that wrap, printed no narrower than those
cells take.

An id cut to `f5bbff607356…`, or folded onto two lines, cannot be copied; a role folded into
`opera`/`tor` cannot be read. So a table that cannot fit the console's width even with its
text columns narrowed is printed, on a terminal, as one record per row (each column's
header beside its value, as `psql`'s expanded display), and to a pipe at its width, past the
console's (a pipe's is 80 columns, unless COLUMNS says): each row is then one line, whole, for
`grep`.
"""

from __future__ import annotations

from rich.console import Console, JustifyMethod
from rich.measure import Measurement
from rich.rule import Rule
from rich.table import Column, Table

__all__ = ["TEXT_WORD", "print_table", "text", "whole"]

#: A word of free text up to this long stays whole; a longer one (a JSON payload) folds.
TEXT_WORD = 20
#: The width a table is measured in to find its natural width.
_UNBOUNDED = 10_000


def whole(header: str, *, justify: JustifyMethod = "left") -> Column:
    """A column whose cells are never wrapped, cut or folded: ids (of instances, tokens,
    messages, definitions), statuses, roles, tenants, times, counts."""
    return Column(header, no_wrap=True, overflow="fold", justify=justify)


def text(header: str) -> Column:
    """A column of free text (a state, a payload, an error, a name): it wraps between words,
    and folds a word longer than `TEXT_WORD`."""
    return Column(header, overflow="fold")


def print_table(console: Console, table: Table) -> None:
    """Print `table` at its natural width when the console has room; else with its `text`
    columns narrowed (each down to its longest word, up to `TEXT_WORD`) and its `whole`
    columns kept whole; if even that does not fit, as records on a terminal (`_records`),
    else past the console's width."""
    unbounded = console.options.update_width(_UNBOUNDED)
    natural, least = [], []
    for column in table.columns:
        sizes = [
            Measurement.get(console, unbounded, cell) for cell in (column.header, *column.cells)
        ]
        natural.append(max(size.maximum for size in sizes))
        words = max(size.minimum for size in sizes)
        least.append(natural[-1] if column.no_wrap else min(words, TEXT_WORD, natural[-1]))
    chrome = Measurement.get(console, unbounded, table).maximum - sum(natural)
    room = console.width - chrome
    if sum(least) > room and console.is_terminal and table.row_count:
        _records(console, table)
        return
    if sum(natural) > room:
        widths = _narrowed(natural, least, room)
        for column, width in zip(table.columns, widths, strict=True):
            column.width = width
        table.width = sum(widths) + chrome
    console.print(table, crop=False)


def _narrowed(natural: list[int], least: list[int], room: int) -> list[int]:
    """Column widths from `least` up to `natural`: the room beyond `least` shared in
    proportion to how much more each column would take."""
    spare = max(room - sum(least), 0)
    wanted = [most - fewest for most, fewest in zip(natural, least, strict=True)]
    total = sum(wanted) or 1
    return [fewest + want * spare // total for fewest, want in zip(least, wanted, strict=True)]


def _records(console: Console, table: Table) -> None:
    """Print each row of `table` as a record: a rule numbering it, then one line per column,
    its header beside its value (free text wrapping beside the headers, ids kept whole)."""
    headers = [str(column.header) for column in table.columns]
    cells = [list(column.cells) for column in table.columns]
    if table.title:
        console.print(table.title, style="italic")
    for row in range(table.row_count):
        console.print(Rule(f"{row + 1}", align="left", style="dim"))
        record = Table.grid(padding=(0, 2))
        record.add_column(style="bold", no_wrap=True)
        record.add_column(overflow="fold")
        for header, column in zip(headers, cells, strict=True):
            record.add_row(header, column[row])
        console.print(record, crop=False)
    if table.caption:
        console.print(table.caption, style="dim")
