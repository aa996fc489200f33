"""supervisord.conf read the way supervisord reads it, for tests that run its programs."""

from __future__ import annotations

import configparser
import re
import shlex
from collections.abc import Mapping
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUPERVISORD_CONF = ROOT / "supervisord.conf"
_SUPERVISOR_EXPANSION = re.compile(r"%%|%\((?P<name>[A-Za-z0-9_]+)\)s")


@cache
def supervisord_programs() -> dict[str, str]:
    """Each `[program:x]` of supervisord.conf, mapped to its raw `command`."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(SUPERVISORD_CONF, encoding="utf-8")
    return {
        section.removeprefix("program:"): parser[section]["command"]
        for section in parser.sections()
        if section.startswith("program:")
    }


def supervisord_argv(program: str, command: str, environment: Mapping[str, str]) -> list[str]:
    """A supervisord `command` as the argument list it runs, with ENV_ from `environment`."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name is None:
            return "%"
        if name == "program_name":
            return program
        if name == "process_num":
            return "0"  # the first of numprocs; compose runs each replica as instance 0
        if not name.startswith("ENV_"):
            raise ValueError(f"[program:{program}] uses %({name})s, which compose cannot "
                             "reproduce")
        variable = name.removeprefix("ENV_")
        if variable not in environment:
            raise ValueError(f"[program:{program}] uses {variable}, which its environment "
                             "does not set")
        return environment[variable]

    return shlex.split(_SUPERVISOR_EXPANSION.sub(replace, command))
