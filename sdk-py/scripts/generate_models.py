"""Generates src/oakauth/_schema.py, the Pydantic v2 models of every schema in docs/openapi.yaml.

Usage: python scripts/generate_models.py [OUTPUT]   (default: src/oakauth/_schema.py)

tests/test_contract.py regenerates the file and fails when the committed one differs, so a change of
the spec without running this script fails the suite (the same check as sdk-ts/test/contract.test.mjs).

- An enum is a ``Literal`` alias; ``Name`` and ``Timestamp`` are ``str`` (as they travel).
- An object is a model: a required property has no default (a nullable one is ``X | None``), an
  optional one defaults to ``None`` (not sent). Inline objects become models named after their place.
- Models are strict (no ``"yes"`` for a bool, no ``"1"`` for an int). The bodies of requests forbid
  unknown fields (a misspelt field fails before anything is sent); answers ignore fields a newer
  OakAuth adds, so an upgrade of the service does not break an older client.
"""

from __future__ import annotations

import keyword
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SPEC = HERE.parent.parent / "docs" / "openapi.yaml"
DEFAULT_OUTPUT = HERE.parent / "src" / "oakauth" / "_schema.py"


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.replace("-", "_").split("_"))


class Generator:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.aliases: list[str] = []
        self.late_aliases: list[str] = []
        self.classes: list[str] = []
        self.class_names: list[str] = []
        self.request_bodies = self._request_bodies()

    def _request_bodies(self) -> set[str]:
        names: set[str] = set()
        for item in self.spec["paths"].values():
            for op in item.values():
                if not isinstance(op, dict):
                    continue
                body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
                ref = body.get("$ref")
                if isinstance(ref, str):
                    names.add(ref.rsplit("/", 1)[1])
        # What a request body holds is sent too.
        names.update({"ValidateRequest", "DraftRule"})
        return names

    def type_of(self, schema: dict[str, Any], place: str, forbid: bool) -> str:
        if "$ref" in schema:
            return str(schema["$ref"]).rsplit("/", 1)[1]
        if "oneOf" in schema:
            parts = [self.type_of(s, place, forbid) for s in schema["oneOf"]]
            return " | ".join(dict.fromkeys(parts))
        kind = schema.get("type")
        if isinstance(kind, list):
            others = [k for k in kind if k != "null"]
            inner = self.type_of({**schema, "type": others[0]}, place, forbid) if len(others) == 1 else "Any"
            return f"{inner} | None" if "null" in kind else inner
        if "const" in schema:
            return f"Literal[{schema['const']!r}]"
        if "enum" in schema:
            return "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
        if kind == "null":
            return "None"
        if kind == "string":
            return "str"
        if kind == "integer":
            return "int"
        if kind == "number":
            return "float"
        if kind == "boolean":
            return "bool"
        if kind == "array":
            return f"list[{self.type_of(schema.get('items', {}), place + 'Item', forbid)}]"
        if kind == "object":
            if "properties" in schema:
                self.model(place, schema, forbid)
                return place
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                return f"dict[str, {self.type_of(extra, place + 'Value', forbid)}]"
            return "dict[str, Any]"
        return "Any"

    def model(self, name: str, schema: dict[str, Any], forbid: bool) -> None:
        required = set(schema.get("required", []))
        lines = [f"class {name}(_Model):"]
        description = schema.get("description")
        if isinstance(description, str) and description.strip():
            lines.append(f"    {_docstring(description)}")
            lines.append("")
        config = "_REQUEST" if forbid else "_ANSWER"
        lines.append(f"    model_config = {config}")
        lines.append("")
        for prop, sub in schema.get("properties", {}).items():
            annotation = self.type_of(sub, name + camel(prop), forbid)
            attr = prop + "_" if keyword.iskeyword(prop) else prop
            alias = f'alias="{prop}"' if attr != prop else ""
            if prop in required:
                default = f" = Field({alias})" if alias else ""
            else:
                if not annotation.endswith("| None") and annotation != "Any":
                    annotation += " | None"
                default = f" = Field(None, {alias})" if alias else " = None"
            lines.append(f"    {attr}: {annotation}{default}")
        self.classes.append("\n".join(lines))
        self.class_names.append(name)

    def run(self) -> str:
        for name, schema in self.schemas.items():
            forbid = name in self.request_bodies or (name.startswith("Condition") and name != "ConditionResult")
            if "enum" in schema:
                self.aliases.append(f"{name} = Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]")
            elif "oneOf" in schema:
                self.late_aliases.append(f"{name} = " + self.type_of(schema, name, forbid))
            elif schema.get("type") == "object":
                self.model(name, schema, forbid)
            else:
                self.aliases.append(f"{name} = {self.type_of(schema, name, forbid)}")
        out = [
            "# Generated by scripts/generate_models.py from docs/openapi.yaml. Do not edit: edit the spec and run",
            "# `python scripts/generate_models.py` in sdk-py (tests/test_contract.py fails when this file is stale).",
            "# ruff: noqa: E501",
            "from __future__ import annotations",
            "",
            "from typing import Any, Literal",
            "",
            "from pydantic import BaseModel, ConfigDict, Field",
            "",
            "_ANSWER = ConfigDict(strict=True, extra='ignore', populate_by_name=True)",
            "_REQUEST = ConfigDict(strict=True, extra='forbid', populate_by_name=True)",
            "",
            "",
            "class _Model(BaseModel):",
            "    pass",
            "",
            "",
            *self.aliases,
            "",
            "",
            "\n\n\n".join(self.classes),
            "",
            "",
            *self.late_aliases,
            "",
            *[f"{name}.model_rebuild()" for name in self.class_names],
            "",
            "__all__ = [",
            *[f"    {name!r}," for name in [*self.schemas, "SCHEMA_MODELS"]],
            "]",
            "",
            "SCHEMA_MODELS: dict[str, type[BaseModel]] = {",
            *[f"    {name!r}: {name}," for name in self.class_names if name in self.schemas],
            "}",
            "",
        ]
        return "\n".join(out)


def _docstring(text: str) -> str:
    body = " ".join(text.split()).replace("\\", "\\\\").replace('"""', "'''")
    return f'"""{body}"""'


def generate(output: Path) -> None:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    output.write_text(Generator(spec).run(), encoding="utf-8")
    # Formatted as the rest of the package is, so the committed file is what ruff would make of it.
    config = str(HERE.parent / "pyproject.toml")
    ruff = [sys.executable, "-m", "ruff"]
    subprocess.run(
        [*ruff, "check", "--config", config, "--fix", "--quiet", "--select", "I,RUF022", str(output)], check=True
    )
    subprocess.run([*ruff, "format", "--config", config, "--quiet", str(output)], check=True)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT)
