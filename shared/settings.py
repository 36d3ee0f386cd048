"""Settings declared as data: a name, a default, a help line and how to read the environment.

The kiosk (`kiosk/settings.py`, `SMILETAP_KIOSK_*`) and the server (`server/settings.py`,
`SMILETAP_*`) both declare theirs as `Setting`s; both read the environment with
`read_environment` and render the README's tables with `table_markdown`, so a setting cannot
exist without being documented. A typed, frozen settings class may declare its fields with
`setting(...)` and list them with `declarations`: one declaration then gives the type, the
default, the help line and the environment variable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, TypeVar, overload


@dataclass(frozen=True)
class Setting:
    """One setting: its name (the environment variable without the prefix), default and help.

    `parse` reads the environment's text; without one, the text is read like the default's
    type (flag, whole number, number or text).
    """

    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] | None = None

    def read(self, raw: str) -> Any:
        """The value this environment text gives; ValueError when it gives none."""
        if self.parse is not None:
            return self.parse(raw)
        if isinstance(self.default, bool):
            return read_flag(raw)
        if isinstance(self.default, int):
            return int(raw)
        if isinstance(self.default, float):
            return float(raw)
        return raw


S = TypeVar("S", bound=Setting)


class SettingsError(ValueError):
    """An environment variable holds a value its setting cannot use."""


def read_flag(raw: str) -> bool:
    """1/true/yes/on or 0/false/no/off, in any case; ValueError for anything else."""
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be 1/true/yes/on or 0/false/no/off")


def read_environment(
    declared: Iterable[Setting], prefix: str, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The declared settings the environment gives (`prefix` + name), read, by name.

    SettingsError names the variable and its value when one cannot be read.
    """
    found: dict[str, Any] = {}
    for declared_setting in declared:
        variable = prefix + declared_setting.name
        raw = environ.get(variable)
        if raw is None:
            continue
        try:
            found[declared_setting.name] = declared_setting.read(raw)
        except ValueError as exc:
            raise SettingsError(f"{variable}={raw!r}: {exc}") from exc
    return found


def table_markdown(declared: Iterable[Setting], prefix: str, unset: str = "") -> str:
    """The settings as a Markdown table (variable, default, meaning); `unset` stands in the
    default column of a setting whose default is None."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    for s in declared:
        if s.default is None:
            default = unset
        elif s.default == "":
            default = ""
        else:
            default = f"`{s.default}`"
        lines.append(f"| `{prefix}{s.name}` | {default} | {s.help} |")
    return "\n".join(lines)


def setting(
    default: Any = MISSING, help: str = "", parse: Callable[[str], Any] | None = None
) -> Any:
    """A field of a frozen settings dataclass that declares a setting (see `declarations`).

    Without a default the field must be given (the owner works out its default, for example
    from the environment); its declared default is then None.
    """
    return field(default=default, metadata={"help": help, "parse": parse})


@overload
def declarations(settings_class: type[Any]) -> tuple[Setting, ...]: ...


@overload
def declarations(settings_class: type[Any], kind: Callable[..., S]) -> tuple[S, ...]: ...


def declarations(settings_class: type[Any], kind: Callable[..., Any] = Setting) -> tuple[Any, ...]:
    """The settings a dataclass declares with `setting(...)`, named by its upper-cased fields;
    each made by `kind` (`Setting`, or a subclass that knows its environment prefix)."""
    return tuple(
        kind(
            f.name.upper(),
            None if f.default is MISSING else f.default,
            f.metadata["help"],
            f.metadata["parse"],
        )
        for f in fields(settings_class)
        if "help" in f.metadata
    )


__all__ = [
    "Setting",
    "SettingsError",
    "declarations",
    "read_environment",
    "read_flag",
    "setting",
    "table_markdown",
]
