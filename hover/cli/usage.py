"""Command-line syntax errors found by tyro, as one line: ``hover CMD: unknown option --x (see hover CMD --help)``.

tyro prints its parse errors (an unknown option, a missing value, a bad choice, a value that does not
parse) as a multi-line box and exits 2. :func:`one_line_usage_errors` registers a hook on tyro's parse
failures (``tyro._errors.on_parse_error``, tyro >= 1.0.14) for the duration of a command; the hook
raises :class:`UsageError` with a one-line message built from the structured event (the option, the
value, the choices), which ``hover.cli.main`` prints as one line and turns into exit code 2. ``--help``
is not a parse failure and prints as before.

``tyro._errors`` is marked experimental by tyro: the events are read defensively (any field may be
missing), an event type not known here still gives one line, and a tyro without the hook keeps its own
box (exit code 2 all the same).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any


class UsageError(Exception):
    """Bad command-line syntax: ``str(error)`` is the one-line problem, ``prog`` the (sub)command."""

    def __init__(self, prog: str, message: str) -> None:
        super().__init__(message)
        self.prog = prog

    def line(self) -> str:
        """The line printed on stderr: ``PROG: MESSAGE (see PROG --help)``."""
        return f"{self.prog}: {self} (see {self.prog} --help)"


@contextlib.contextmanager
def one_line_usage_errors(prog: str, argv: Sequence[str] = ()) -> Iterator[None]:
    """While active, a tyro parse failure raises :class:`UsageError` instead of printing tyro's box;
    ``argv`` (the command's arguments) lets the message quote a value that did not parse."""
    try:
        from tyro._errors import on_parse_error
    except ImportError:  # tyro < 1.0.14: no hook, tyro prints its own message and exits 2
        yield
        return

    def hook(event: Any, /) -> None:
        raise UsageError(str(getattr(event, "prog", "") or prog), describe(event, argv))

    with on_parse_error(hook):
        yield


def _name(arg: Any) -> str:
    """An argument's user-facing name: ``--flag`` (aliases joined by /) or a positional's metavar."""
    if arg is None:
        return "an argument"
    lowered = getattr(arg, "lowered", None)
    try:
        if arg.is_positional():
            metavar = getattr(lowered, "metavar", None)
            return str(metavar or arg.display_name())
        return str(arg.display_name())
    except Exception:  # an older/newer ArgumentDefinition: fall back to its flags
        flags = getattr(lowered, "name_or_flags", None)
        return "/".join(flags) if flags else str(arg)


def _flatten(text: str) -> str:
    """The first paragraph of ``text`` on one line, without a trailing period."""
    first = text.strip().split("\n\n")[0]
    return " ".join(first.split()).rstrip(".")


def _value_of(argv: Sequence[str], flags: Sequence[str]) -> str | None:
    """The value given to an option in ``argv`` (its last occurrence; ``--a-b x``, ``--a_b x`` or
    ``--a-b=x``), or None when it is not there (a positional, a value split over several tokens)."""
    names = {f.replace("_", "-") for f in flags if f.startswith("-")}
    found = None
    for i, token in enumerate(argv):
        head, eq, tail = token.partition("=")
        if head.replace("_", "-") not in names:
            continue
        if eq:
            found = tail
        elif i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            found = argv[i + 1]
    return found


def _unknown(tokens: list[str]) -> str:
    options = [t.split("=", 1)[0] for t in tokens if t.startswith("-") and t not in ("-", "--")]
    if options:
        return f"unknown option{'s' if len(options) > 1 else ''} {', '.join(dict.fromkeys(options))}"
    return f"unexpected argument{'s' if len(tokens) > 1 else ''} {' '.join(repr(t) for t in tokens)}"


def describe(event: Any, argv: Sequence[str] = ()) -> str:
    """One line saying what was wrong with the command line (``argv``), naming the option (and value) at
    fault."""
    kind = type(event).__name__
    if kind == "UnrecognizedArgs":
        return _unknown(list(getattr(event, "tokens", None) or ["?"]))
    if kind == "MissingArgs":
        unrecognized = list(getattr(event, "unrecognized_tokens", None) or [])
        if unrecognized:  # an unknown option is the likelier mistake (a misspelt required option)
            return _unknown(unrecognized)
        names = [_name(getattr(a, "arg", None)) for a in getattr(event, "missing_arguments", None) or []]
        if not names:
            return "missing a required argument"
        return f"missing required option{'s' if len(names) > 1 else ''} {', '.join(names)}"
    if kind == "BadValue":
        name = _name(getattr(event, "argument", None))
        value = getattr(event, "offending_value", None)
        if getattr(event, "reason", None) == "fixed" and value is not None:
            return f"{name} is fixed and takes no value (got {value!r})"
        lowered = getattr(getattr(event, "argument", None), "lowered", None)
        nargs, choices = getattr(lowered, "nargs", None), getattr(lowered, "choices", None)
        if choices:
            return f"missing value for {name} (choose from {', '.join(str(c) for c in choices)})"
        if isinstance(nargs, int) and nargs > 1:
            return f"missing value for {name} (expects {nargs} values)"
        return f"missing value for {name}"
    if kind == "InvalidChoice":
        name = _name(getattr(event, "argument", None))
        choices = ", ".join(str(c) for c in getattr(event, "choices", ()) or ())
        value = getattr(event, "value", "?")
        return f"invalid choice {value!r} for {name}" + (f" (choose from {choices})" if choices else "")
    if kind == "InstantiationFailure":
        arg = getattr(event, "argument", None)
        message = _flatten(str(getattr(event, "message", "") or "could not be parsed"))
        if arg is None:
            return f"invalid value: {message}"
        lowered = getattr(arg, "lowered", None)
        metavar = getattr(lowered, "metavar", None)
        value = _value_of(argv, getattr(lowered, "name_or_flags", None) or ())
        if value is None:
            return f"invalid value for {_name(arg)}: {message}"
        return f"invalid value {value!r} for {_name(arg)}" + (f" (expects {metavar})" if metavar else "")
    if kind == "MutexConflict":
        first, second = getattr(event, "first_token", "?"), getattr(event, "second_token", "?")
        return f"{first} and {second} cannot be given together"
    if kind == "MissingMutexGroup":
        groups = getattr(event, "groups", None) or []
        names = [_name(getattr(a, "arg", None)) for a in (groups[0] if groups else [])]
        return "give one of " + ", ".join(names) if names else "missing a required group of options"
    if kind == "MissingSubcommand":
        spec = getattr(event, "subcommand_spec", None)
        names = list(getattr(spec, "parser_from_name", None) or {})
        return "missing subcommand" + (f" (choose from {', '.join(names)})" if names else "")
    if kind == "SubcommandConflict":
        attempted = getattr(event, "attempted", "?")
        flag = getattr(event, "trigger_flag", "?")
        return f"subcommand {attempted!r} conflicts with {flag}, which already chose a subcommand"
    return f"invalid command line ({kind})"
