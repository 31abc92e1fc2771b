"""The ImportError an adapter raises when its framework is not installed."""

from __future__ import annotations

__all__ = ["missing_extra"]


def missing_extra(module: str, framework: str, extra: str, cause: ImportError) -> ImportError:
    """An ImportError that says which extra to install (the framework's own error is its cause)."""
    err = ImportError(
        f"oakauth.integrations.{module} needs {framework}, which is not installed: pip install 'oakauth[{extra}]' "
        f"({cause})"
    )
    err.__cause__ = cause
    return err
