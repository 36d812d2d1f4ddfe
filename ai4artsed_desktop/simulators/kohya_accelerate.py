"""The ``accelerate launch`` mimic of the kohya simulator: the trainer runs as a child process.

Like the real launcher it prints its "defaults used" warning, does not forward SIGTERM to
the child, and turns a failing child into its own ``CalledProcessError`` traceback, exit 1.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

_PACKAGE_ROOT = Path(__file__).resolve().parent.parent.parent
#: ``accelerate launch`` options that take no value.
_SWITCHES = frozenset({"--cpu", "--multi_gpu", "--tpu", "--use_deepspeed", "--debug", "-m"})


def split_launch_args(args: Sequence[str]) -> tuple[list[str], str, list[str]]:
    """``(launcher options, script, script arguments)`` of ``launch [opts] script args``.

    Raises:
        ValueError: no script was given.
    """
    index = 0
    options: list[str] = []
    while index < len(args) and args[index].startswith("-"):
        token = args[index]
        takes_value = token not in _SWITCHES and "=" not in token
        options += args[index : index + (2 if takes_value else 1)]
        index += 2 if takes_value else 1
    if index >= len(args):
        raise ValueError("the following arguments are required: training_script")
    return options, args[index], list(args[index + 1 :])


def accelerate_main(args: Sequence[str]) -> int:
    """``accelerate launch ...``; returns the exit status."""
    if not args or args[0] != "launch":
        print("usage: accelerate <command> [<args>]", file=sys.stderr)
        return 2
    try:
        _options, script, script_args = split_launch_args(args[1:])
    except ValueError as exc:
        print(f"accelerate <command> [<args>] launch: error: {exc}", file=sys.stderr)
        return 2
    print(
        "The following values were not passed to `accelerate launch` and had defaults used "
        "instead:\n\t`--num_processes` was set to a value of `1`\n\t`--num_machines` was set "
        "to a value of `1`\n\t`--mixed_precision` was set to a value of `'no'`\n\t"
        "`--dynamo_backend` was set to a value of `'no'`\nTo avoid this warning pass in "
        "values for each of the problematic parameters or run `accelerate config`.",
        file=sys.stderr,
        flush=True,
    )
    if Path(script).is_file():
        cmd = [sys.executable, script, *script_args]
    else:
        cmd = [sys.executable, "-m", "ai4artsed_desktop.simulators.kohya", script, *script_args]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_PACKAGE_ROOT), env.get("PYTHONPATH")]))
    process = subprocess.Popen(cmd, env=env)
    code = process.wait()
    if code != 0:
        print(
            "Traceback (most recent call last):\n"
            '  File "accelerate/commands/launch.py", line 1188, in simple_launcher\n'
            "    raise subprocess.CalledProcessError(returncode=process.returncode, cmd=cmd)\n"
            f"subprocess.CalledProcessError: Command '{cmd}' returned non-zero exit status {code}.",
            file=sys.stderr,
            flush=True,
        )
        return 1
    return 0
