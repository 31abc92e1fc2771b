"""The explicit mapping from a framework's tool names to OakAuth tools and scopes, shared by every adapter."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["TargetSpec", "ToolMapping", "ToolTarget"]

#: Longest framework tool name, pattern, OakAuth tool or scope a mapping accepts.
MAX_NAME_LENGTH = 256
#: Most entries a mapping accepts.
MAX_ENTRIES = 10_000
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class ToolTarget:
    """The OakAuth tool and scope that calls of a framework tool are checked as."""

    tool: str
    scope: str

    def __post_init__(self) -> None:
        for what, value in (("tool", self.tool), ("scope", self.scope)):
            if not isinstance(value, str) or not value or len(value) > MAX_NAME_LENGTH:
                raise ValueError(
                    f"ToolTarget: {what} must be a non-empty string of at most {MAX_NAME_LENGTH} characters"
                )

    def __str__(self) -> str:
        return f"{self.tool}:{self.scope}"


#: How a mapping's value may be written: ``"tool:scope"``, ``("tool", "scope")`` or a :class:`ToolTarget`.
#: In a glob entry the tool may contain ``{name}``, replaced by the framework tool's name.
TargetSpec = str | tuple[str, str] | ToolTarget


def _parse(spec: TargetSpec, key: str) -> ToolTarget:
    if isinstance(spec, ToolTarget):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        return ToolTarget(spec[0], spec[1])
    if isinstance(spec, str):
        tool, sep, scope = spec.rpartition(":")
        if sep and tool and scope:
            return ToolTarget(tool, scope)
    raise ValueError(
        f'ToolMapping: the target of {key!r} must be "tool:scope", a (tool, scope) pair or a ToolTarget, not {spec!r}'
    )


class ToolMapping:
    """Maps framework tool names to the OakAuth tool and scope their calls are checked as.

    Keys are exact tool names or glob patterns (``*``, ``?``, ``[...]``, matched case-sensitively).
    An exact name wins over every pattern; among patterns the first that matches, in the order
    given, wins. A name nothing matches is *unmapped*: every adapter denies its calls without asking
    OakAuth, with :meth:`unmapped_message` as the reason. There is no implicit default; to check
    every other tool as its own name, say so with a last pattern such as ``{"*": "{name}:call"}``.

    >>> mapping = ToolMapping({"read_file": "filesystem:read", "delete_*": ("filesystem", "delete")})
    >>> mapping.resolve("delete_file")
    ToolTarget(tool='filesystem', scope='delete')
    >>> mapping.resolve("send_email") is None
    True
    """

    def __init__(self, entries: Mapping[str, TargetSpec] | Iterable[tuple[str, TargetSpec]]) -> None:
        items = list(entries.items()) if isinstance(entries, Mapping) else list(entries)
        if len(items) > MAX_ENTRIES:
            raise ValueError(f"ToolMapping: at most {MAX_ENTRIES} entries")
        self._exact: dict[str, ToolTarget] = {}
        self._globs: list[tuple[str, ToolTarget]] = []
        for key, spec in items:
            if not isinstance(key, str) or not key or len(key) > MAX_NAME_LENGTH:
                raise ValueError(
                    f"ToolMapping: a key must be a non-empty string of at most {MAX_NAME_LENGTH} characters"
                )
            target = _parse(spec, key)
            if _GLOB_CHARS.intersection(key):
                self._globs.append((key, target))
            elif key in self._exact:
                raise ValueError(f"ToolMapping: {key!r} is mapped twice")
            else:
                if "{name}" in target.tool:
                    raise ValueError(f"ToolMapping: {{name}} is only for patterns, not for the exact name {key!r}")
                self._exact[key] = target

    @classmethod
    def identity(cls, scope: str = "call") -> ToolMapping:
        """Every tool checked as the OakAuth tool of its own name with ``scope`` (the MCP wrappers' default)."""
        return cls({"*": ToolTarget("{name}", scope)})

    def resolve(self, name: str) -> ToolTarget | None:
        """The target of framework tool ``name``, or None when it is unmapped."""
        if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
            return None
        exact = self._exact.get(name)
        if exact is not None:
            return exact
        for pattern, target in self._globs:
            if fnmatch.fnmatchcase(name, pattern):
                if "{name}" in target.tool:
                    return ToolTarget(target.tool.replace("{name}", name), target.scope)
                return target
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.resolve(name) is not None

    @staticmethod
    def unmapped_message(name: str) -> str:
        """The refusal a model gets for a call of a tool the mapping does not name."""
        shown = name if len(name) <= 80 else name[:80] + "…"
        return (
            f"OakAuth denied {shown}: this tool is not in the agent's OakAuth tool mapping, so it is never allowed. "
            "The tool did not run."
        )

    def __repr__(self) -> str:
        entries = [f"{k!r}: {str(v)!r}" for k, v in self._exact.items()]
        entries += [f"{k!r}: {str(v)!r}" for k, v in self._globs]
        return "ToolMapping({" + ", ".join(entries) + "})"


def as_mapping(mapping: ToolMapping | Mapping[str, TargetSpec]) -> ToolMapping:
    """A :class:`ToolMapping` from one or from the plain dict it would be built from."""
    if isinstance(mapping, ToolMapping):
        return mapping
    if isinstance(mapping, Mapping):
        return ToolMapping(mapping)
    raise TypeError("tool_mapping must be a ToolMapping or a dict of tool name → target")
