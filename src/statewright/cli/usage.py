"""Usage errors for scripts that read `--json`.

A usage error is Click's: an unknown option, an option or argument whose value is refused
(`--limit 0`, `--input '{x'`). Click prints it on stderr (a `Usage:` line, a hint and the
message in a box) and exits 2. A script that asked for `--json` parses stdout, so when the
command line asks for it the error is also printed there, as one JSON object in the shape
of every other error with `--json` (docs/cli.md, "Exit codes"):

    {"error": "UsageError", "message": "Invalid value for '--limit': ...", "option": "--limit"}

"Asks for it" is read off the raw arguments, not Click's parse: the invoked command has a
`--json` option and a literal `--json` token stands among its own arguments (before a
`--`), wherever it stands. Click stops at the first bad token, so a `--json` after it (or a
parse that failed before reaching it) still counts: the script asked for JSON all the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Typer carries its own copy of Click (from 0.26 on): the errors it raises are that copy's
# classes, not the click package's, and its groups and parameters are Typer's own.
from typer._click import Command, Context
from typer._click.exceptions import BadOptionUsage, BadParameter, NoSuchOption, UsageError
from typer.core import TyperArgument, TyperGroup, TyperOption

from statewright.cli.session import print_json

__all__ = ["JsonUsageGroup", "asks_for_json", "usage_error_json"]

_JSON = "--json"
#: Everything after it is an argument, even a `--json`.
_END_OF_OPTIONS = "--"
#: Where the root keeps the raw command line for errors raised once parsing is done.
_ARGS_KEY = "statewright.args"


class JsonUsageGroup(TyperGroup):
    """The root command group: a usage error anywhere below it is also printed as JSON on
    stdout when the command line asks for `--json`; Click still prints it on stderr and the
    exit code stays 2."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        raw = tuple(args)  # Click's parser consumes the list it is given
        try:
            ctx = super().make_context(info_name, list(args), parent, **extra)
        except UsageError as error:
            _report(self, raw, error)
            raise
        ctx.meta[_ARGS_KEY] = raw
        return ctx

    def invoke(self, ctx: Context) -> Any:
        # A subcommand's options are parsed here, and a command body may refuse a value
        # (typer.BadParameter) as well: both are usage errors raised through this call.
        try:
            return super().invoke(ctx)
        except UsageError as error:
            _report(self, ctx.meta.get(_ARGS_KEY, ()), error)
            raise


def _report(root: TyperGroup, args: Sequence[str], error: UsageError) -> None:
    if asks_for_json(root, args):
        print_json(usage_error_json(error))


def asks_for_json(root: TyperGroup, args: Sequence[str]) -> bool:
    """Whether the command line `args` (below `root`) asks for JSON: the command it invokes
    has a `--json` option and `--json` is among that command's arguments."""
    command, own = _invoked(root, args)
    if _END_OF_OPTIONS in own:
        own = own[: own.index(_END_OF_OPTIONS)]
    has_option = any(isinstance(p, TyperOption) and _JSON in p.opts for p in command.params)
    return has_option and _JSON in own


def _invoked(root: TyperGroup, args: Sequence[str]) -> tuple[Command, list[str]]:
    """The command `args` invoke and the arguments after its name. Groups here take no
    option with a value, so a group's first token that is not an option names its
    subcommand; an unknown name leaves the group itself (which has no `--json`)."""
    command: Command = root
    rest = list(args)
    while isinstance(command, TyperGroup):
        names = [i for i, token in enumerate(rest) if not token.startswith("-")]
        if not names or _END_OF_OPTIONS in rest[: names[0]]:
            break
        sub = command.commands.get(rest[names[0]])
        if sub is None:
            break
        command, rest = sub, rest[names[0] + 1 :]
    return command, rest


def usage_error_json(error: UsageError) -> dict[str, object]:
    """`error` as the JSON object of an error: `error` ("UsageError"), `message` (Click's,
    on one line) and, where Click names the parameter, `option` or `argument`."""
    message = " ".join(error.format_message().split())
    return {"error": "UsageError", "message": message, **_parameter(error)}


def _parameter(error: UsageError) -> dict[str, str]:
    if isinstance(error, NoSuchOption | BadOptionUsage):
        return {"option": error.option_name}
    if not isinstance(error, BadParameter):
        return {}
    if isinstance(error.param, TyperOption):
        long = [name for name in error.param.opts if name.startswith("--")]
        return {"option": (long or error.param.opts)[0]}
    if isinstance(error.param, TyperArgument):
        return {"argument": error.param.name or ""}
    if isinstance(error.param_hint, str) and error.param_hint.startswith("-"):
        return {"option": error.param_hint}  # a body's refusal naming its option
    return {}
