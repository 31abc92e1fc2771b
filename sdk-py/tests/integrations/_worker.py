"""Starts the real OakAuth worker through tests/support/serve.mjs (the harness every suite uses)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Worker:
    base_url: str
    admin_key: str

    def admin(self, method: str, path: str, **kw: Any) -> Any:
        answer = httpx.request(
            method, self.base_url + path, headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=30, **kw
        )
        assert answer.status_code < 300, f"{method} {path}: {answer.status_code} {answer.text}"
        return answer.json()


@contextmanager
def start_worker() -> Iterator[Worker]:
    proc = subprocess.Popen(
        ["node", str(ROOT / "tests" / "support" / "serve.mjs")],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the test worker did not start (node tests/support/serve.mjs)")
        info = json.loads(line)
        yield Worker(info["base_url"], info["admin_key"])
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
