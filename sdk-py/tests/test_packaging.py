"""Packaging: the wheel and the sdist build; the wheel installs into a fresh virtual environment (its
dependencies from the registry, at the pinned versions) and every public module imports there, without
the extras and, when the package declares framework extras, with them."""

from __future__ import annotations

import re
import subprocess
import sys
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

SDK = Path(__file__).resolve().parents[1]
PIP = ["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]


def run(*args: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the pinned hatchling of requirements-dev.txt builds it, nothing is fetched.
    run(sys.executable, "-m", "build", "--no-isolation", "--wheel", "--sdist", "--outdir", out, SDK)
    return out


def constraints(tmp: Path) -> Path:
    """requirements-dev.txt (and requirements-integrations.txt) as pip constraints (no extras allowed there)."""
    lines: list[str] = []
    for name in ("requirements-dev.txt", "requirements-integrations.txt"):
        path = SDK / name
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.split("#", 1)[0].strip()
                if line and not line.startswith("-"):
                    lines.append(re.sub(r"\[[^\]]*\]", "", line))
    out = tmp / "constraints.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def metadata(wheel: Path, field: str) -> list[str]:
    """A field of the wheel's METADATA (``Version``, ``Provides-Extra``), every occurrence."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        text = zf.read(name).decode()
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith(f"{field}:")]


def modules(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    found = []
    for name in names:
        if name.startswith("oakauth/") and name.endswith(".py"):
            module = name[:-3].replace("/", ".").removesuffix(".__init__")
            if not any(part.startswith("_") and part != "__init__" for part in module.split(".")[1:]):
                found.append(module)
    return sorted(found)


def test_the_wheel_and_sdist_hold_the_package(dist: Path) -> None:
    wheel = next(dist.glob("oakauth-*.whl"))
    sdist = next(dist.glob("oakauth-*.tar.gz"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert {"oakauth/__init__.py", "oakauth/py.typed", "oakauth/client.py", "oakauth/_schema.py"} <= names
    assert not any("tests/" in n or ".venv" in n for n in names)
    with tarfile.open(sdist) as tf:
        members = {m.name.split("/", 1)[1] for m in tf.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "src/oakauth/__init__.py", "src/oakauth/py.typed", "README.md"} <= members
    assert not any(".venv" in m for m in members)


def test_the_wheel_installs_into_a_fresh_venv_and_every_public_module_imports(dist: Path, tmp_path: Path) -> None:
    wheel = next(dist.glob("oakauth-*.whl"))
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run(python, *PIP, "-c", constraints(tmp_path), wheel)
    public = modules(wheel)
    core = [m for m in public if not m.startswith("oakauth.integrations.")]
    assert {
        "oakauth",
        "oakauth.client",
        "oakauth.admin",
        "oakauth.receipts",
        "oakauth.webhooks",
        "oakauth.errors",
    } <= set(core)
    script = (
        "; ".join(f"import {m}" for m in core) + "; import oakauth; print(oakauth.__version__, len(oakauth.__all__))"
    )
    assert run(python, "-c", script, cwd=tmp_path).startswith(metadata(wheel, "Version")[0] + " ")
    # Without its framework's extra, an integration module either imports or says which extra it needs.
    for module in (m for m in public if m.startswith("oakauth.integrations.")):
        check = (
            "import importlib, sys\n"
            f"try:\n    importlib.import_module({module!r})\n"
            "except ImportError as err:\n"
            "    sys.exit(0 if 'oakauth[' in str(err) else f'unhelpful ImportError: {err}')\n"
        )
        run(python, "-c", check, cwd=tmp_path)


def test_with_the_extras_every_module_imports(dist: Path, tmp_path: Path) -> None:
    wheel = next(dist.glob("oakauth-*.whl"))
    extras = sorted(metadata(wheel, "Provides-Extra"))
    if not extras:
        pytest.skip("the package declares no extras")
    env = tmp_path / "venv"
    venv.create(env, with_pip=True)
    python = env / "bin" / "python"
    run(python, *PIP, "-c", constraints(tmp_path), f"oakauth[{','.join(extras)}] @ {wheel.as_uri()}")
    script = "; ".join(f"import {m}" for m in modules(wheel))
    run(python, "-c", script, cwd=tmp_path)
