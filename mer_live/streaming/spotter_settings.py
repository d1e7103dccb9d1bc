"""The region spotter's settings as a file: what `mer-live --spotter FILE` and `mer-spot --spotter FILE` load.

A JSON object with any of `SpotterConfig`'s fields (the rest keep their defaults), e.g.
`{"open_threshold": 4.0, "threshold": 5.0}`: settings chosen on one's own data can be kept, shared and
named in reports. `write_spotter_settings` writes every field, so a file also records a run's settings."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

from mer_live.atomic import atomic_path
from mer_live.streaming.spotting import SpotterConfig

FIELDS = {f.name: f for f in dataclasses.fields(SpotterConfig)}
MAX_FILE_BYTES = 1 << 20          # a settings file is a few hundred bytes; refuse anything far larger


class SpotterSettingsError(ValueError):
    """A settings file that cannot be used, with what is wrong in one line."""


def setting_value(name: str, value, where: str):
    """`value` as setting `name` takes it (bool, int or float), or SpotterSettingsError saying why not."""
    kind = type(getattr(SpotterConfig(), name))
    if kind is bool:
        if not isinstance(value, bool):
            raise SpotterSettingsError(f"{where}: {name} must be true or false, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpotterSettingsError(f"{where}: {name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise SpotterSettingsError(f"{where}: {name} must be finite, got {value!r}")
    if kind is int:
        if value != int(value):
            raise SpotterSettingsError(f"{where}: {name} must be a whole number, got {value!r}")
        return int(value)
    return float(value)


def read_small_json(path: Path, where: str, what: str, error: type[Exception] | None = None):
    """A small JSON file's content, or `error` (SpotterSettingsError by default) naming `where` and what is
    wrong in one line: missing, unreadable, far too large to be `what`, or not JSON."""
    error = error or SpotterSettingsError
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise error(f"{where}: {path.stat().st_size} bytes is not {what} (at most {MAX_FILE_BYTES})")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{where}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{where}: cannot read it ({exc})") from None
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not JSON ({exc.msg} at line {exc.lineno})") from None


def load_spotter_settings(path: str | Path) -> SpotterConfig:
    """The SpotterConfig of a settings file; SpotterSettingsError names the file and the problem."""
    path = Path(path)
    where = f"spotter settings {path}"
    data = read_small_json(path, where, "a settings file")
    if not isinstance(data, dict):
        raise SpotterSettingsError(f"{where}: must be a JSON object of settings, e.g. {{\"threshold\": 5.0}}")
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise SpotterSettingsError(f"{where}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    values = {name: setting_value(name, value, where) for name, value in data.items()}
    try:
        return SpotterConfig(**values)
    except ValueError as exc:
        raise SpotterSettingsError(f"{where}: {exc}") from None


def spotter_settings(config: SpotterConfig) -> dict:
    """Every field of `config`, as a settings file holds them."""
    return dataclasses.asdict(config)


def write_spotter_settings(path: str | Path, config: SpotterConfig) -> None:
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(spotter_settings(config), indent=1) + "\n", encoding="utf-8")
