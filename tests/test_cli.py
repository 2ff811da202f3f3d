"""The `hover` entry point: help, dispatch and errors."""

import subprocess
import sys

from hover import cli


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for words, _, _ in cli.COMMANDS:
        assert " ".join(words) in out


def test_every_registered_command_resolves_to_a_callable():
    import importlib

    for words, target, _ in cli.COMMANDS:
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), words


def test_longest_prefix_wins_and_rest_is_forwarded():
    words, target, rest = cli.resolve(["bench", "sim", "--num-envs", "4"])
    assert words == ("bench", "sim") and rest == ["--num-envs", "4"]
    assert cli.resolve(["nonsense"]) is None


def test_unknown_command_exits_2(capsys):
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_console_script_runs():
    out = subprocess.run([sys.executable, "-m", "hover", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "usage: hover" in out.stdout
