"""Write scenario TOML text: set a few keys of an existing file and keep the rest of its text.

covkit reads TOML with :mod:`tomllib` (standard library, read only) and has no TOML writer
dependency; what it writes are scenario files derived from another one (e.g.
``scenario_calibrated.toml``), so the edit is done on the text, line by line, to keep the
comments and the order of the original:

* a key already in its ``[section]`` has its value replaced in place (a value spread over
  several lines, e.g. a multi-line array, is replaced whole);
* a new key goes after the last line of its section; a new section goes at the end.

The result is parsed again and must equal the original data with the keys set; when it does
not (a layout this editor does not follow: dotted keys at the root, inline section tables,
quoted table names), the whole file is written instead by :func:`dumps` (comments lost, a
header line says so).
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from typing import Any

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+(?:\s*\.\s*[A-Za-z0-9_-]+)*)\s*\]\s*(#.*)?$")
ARRAY_HEADER = re.compile(r"^\s*\[\[.*\]\]\s*(#.*)?$")

REWRITTEN_NOTE = ("# written whole by covkit (the original layout could not be edited in "
                  "place; its comments are not kept)")


def toml_string(s: str) -> str:
    """A TOML basic string (``"..."``) of ``s``: backslash, quote and control characters
    escaped (TOML 1.0, section "String")."""
    out = []
    for ch in s:
        o = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in "\b\t\n\f\r":
            out.append({"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}[ch])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\u{o:04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_key(k: str) -> str:
    return k if BARE_KEY.fullmatch(k) else toml_string(k)


def toml_value(v: Any) -> str:
    """TOML text of a value: bool, int, float (``repr``, which reads back exactly; ``inf``,
    ``nan``), str, list / tuple (an array) or dict (an inline table).

    Raises
    ------
    TypeError
        For None (TOML has no null) and other types.
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return toml_string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(e) for e in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{toml_key(str(k))} = {toml_value(e)}"
                               for k, e in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} {v!r} as TOML")


def dumps(data: dict[str, Any]) -> str:
    """TOML text of a scenario-like mapping: the root's plain values first, then one
    ``[section]`` per dict value, its values written inline (nested tables as inline tables,
    arrays of tables as arrays of inline tables). None values are left out."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in data.items()
             if v is not None and not isinstance(v, dict)]
    for sec, table in data.items():
        if not isinstance(table, dict):
            continue
        if lines:
            lines.append("")
        lines.append(f"[{toml_key(sec)}]")
        lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items() if v is not None]
    return "\n".join(lines) + "\n"


def _is_header(line: str) -> bool:
    return bool(HEADER.match(line) or ARRAY_HEADER.match(line))


def _section_span(lines: list[str], section: str) -> tuple[int, int] | None:
    """(header index, end index exclusive) of ``[section]``, None when absent."""
    for i, line in enumerate(lines):
        m = HEADER.match(line)
        if m and re.sub(r"\s+", "", m.group(1)) == section:
            j = i + 1
            while j < len(lines) and not _is_header(lines[j]):
                j += 1
            return i, j
    return None


def _value_end(lines: list[str], i: int, stop: int) -> int:
    """Index (exclusive) of the end of the key / value pair starting at line ``i``: the first
    line count from which it parses on its own."""
    for j in range(i + 1, stop + 1):
        try:
            tomllib.loads("\n".join(lines[i:j]))
        except tomllib.TOMLDecodeError:
            continue
        return j
    return i + 1


def _set_in_text(lines: list[str], section: str, values: dict[str, Any]) -> list[str]:
    span = _section_span(lines, section)
    if span is None:
        while lines and not lines[-1].strip():
            lines.pop()
        return lines + ["", f"[{section}]"] + [f"{toml_key(k)} = {toml_value(v)}"
                                               for k, v in values.items()]
    for key, value in values.items():
        h, end = _section_span(lines, section)
        pattern = re.compile(r"^\s*" + re.escape(toml_key(key)) + r"\s*=")
        hit = next((i for i in range(h + 1, end) if pattern.match(lines[i])), None)
        new = f"{toml_key(key)} = {toml_value(value)}"
        if hit is not None:
            lines[hit:_value_end(lines, hit, end)] = [new]
            continue
        last = h
        for i in range(h + 1, end):
            if lines[i].strip():
                last = i
        lines.insert(last + 1, new)
    return lines


def merged(data: dict[str, Any], updates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A deep copy of ``data`` with ``updates`` (``{section: {key: value}}``) set."""
    out = copy.deepcopy(data)
    for sec, values in updates.items():
        table = out.setdefault(sec, {})
        for k, v in values.items():
            table[k] = list(v) if isinstance(v, tuple) else v
    return out


def set_keys(text: str, updates: dict[str, dict[str, Any]]) -> str:
    """``text`` (a TOML document) with the keys of ``updates`` (``{section: {key: value}}``)
    set, the rest of the text as it was (see the module docstring); parses to
    :func:`merged` of the original data and ``updates``.

    Raises
    ------
    tomllib.TOMLDecodeError
        ``text`` is not TOML.
    """
    data = tomllib.loads(text)
    want = merged(data, updates)
    lines = text.splitlines()
    for sec, values in updates.items():
        if values:
            lines = _set_in_text(lines, sec, dict(values))
    out = "\n".join(lines) + "\n"
    try:
        if tomllib.loads(out) == want:
            return out
    except tomllib.TOMLDecodeError:
        pass
    return REWRITTEN_NOTE + "\n" + dumps(want)
