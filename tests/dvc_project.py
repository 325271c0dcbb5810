"""A throwaway copy of the project in its own git + DVC repository, driven through the real
`dvc` command line (for the pipeline tests).

`DvcProject.create` copies the pipeline definition and code (`dvc.yaml`, `params.yaml`,
`ecg/`, `stages/`; no data, models or metrics), runs `git init` and `dvc init`, and turns
analytics off. `run` executes one `dvc`/`git` command in the copy and, when it fails, raises
an `AssertionError` carrying the full command output.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.wfdb_records import write_noise

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DVC = BIN / "dvc"

STAGES = (
    "download",
    "detect",
    "preprocess",
    "synthesize",
    "pretrain",
    "stage1",
    "stage2",
    "evaluate",
    "card",
)

_COPY_TREES = ("ecg", "stages")
_COPY_FILES = ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore")
_RUNNING = re.compile(r"Running stage '([^']+)'")


def ran_stages(output: str) -> list[str]:
    """Stage names that `dvc repro` / `dvc exp run` reports as running, in order."""
    return _RUNNING.findall(output)


def _clip(text: str, head: int = 2000, tail: int = 6000) -> str:
    """`text`, with the middle left out when it is long (JSON documents, progress bars)."""
    if len(text) <= head + tail:
        return text
    return f"{text[:head]}\n[... {len(text) - head - tail} characters ...]\n{text[-tail:]}"


def set_dotted(tree: dict[str, Any], dotted: str, value: Any) -> None:
    """`tree["a"]["b"] = value` for `dotted = "a.b"`; the key must already exist."""
    *parents, leaf = dotted.split(".")
    node = tree
    for part in parents:
        node = node[part]
    if leaf not in node:
        raise KeyError(f"params.yaml has no key '{dotted}'")
    node[leaf] = value


@dataclass
class DvcProject:
    root: Path
    env: dict[str, str] = field(repr=False)
    log: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def create(cls, root: Path, *, mirror: Path, extra_env: Mapping[str, str] = ()) -> DvcProject:
        root.mkdir(parents=True, exist_ok=True)
        for name in _COPY_TREES:
            shutil.copytree(
                ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        for name in _COPY_FILES:
            if (ROOT / name).is_file():
                shutil.copyfile(ROOT / name, root / name)
        env = dict(os.environ)
        env.update(
            {
                # `cmd: python -m stages...` must find this interpreter (the venv's).
                "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
                "DVC_NO_ANALYTICS": "1",
                "MITDB_DIR": str(mirror),
                "GIT_AUTHOR_NAME": "pipeline test",
                "GIT_AUTHOR_EMAIL": "pipeline-test@example.invalid",
                "GIT_COMMITTER_NAME": "pipeline test",
                "GIT_COMMITTER_EMAIL": "pipeline-test@example.invalid",
                "OMP_NUM_THREADS": env.get("OMP_NUM_THREADS", "1"),
                "PYTHONDONTWRITEBYTECODE": "1",
            }
        )
        # The download stage copies the NSTDB noise records (for preprocess's augmentation)
        # from NSTDB_DIR: synthetic ones beside the copy, unchecked like the synthetic mirror
        env["NSTDB_DIR"] = str(write_noise(root.parent / f"{root.name}_nstdb"))
        env.pop("PYTHONPATH", None)  # the stages must import the copy's `ecg`
        env.update(extra_env)
        project = cls(root=root, env=env)
        project.git("init", "-q")
        project.git("config", "user.name", "pipeline test")
        project.git("config", "user.email", "pipeline-test@example.invalid")
        project.git("config", "commit.gpgsign", "false")
        project.dvc("init", "-q")
        project.dvc("config", "core.analytics", "false")
        return project

    # --- commands -------------------------------------------------------------------------
    def run(self, *args: str | Path, check: bool = True, timeout: float = 600) -> str:
        """Run a command in the copy; return stdout and stderr together."""
        argv = [str(a) for a in args]
        proc = subprocess.run(
            argv,
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
        shown = " ".join(["dvc", *argv[1:]] if argv[0] == str(DVC) else argv)
        self.log.append(f"$ {shown}  (exit {proc.returncode})\n{_clip(proc.stdout)}")
        if check and proc.returncode != 0:
            raise AssertionError(
                f"`{shown}` exited with {proc.returncode} in {self.root}:\n{proc.stdout}"
            )
        return proc.stdout

    def dvc(self, *args: str | Path, check: bool = True) -> str:
        return self.run(DVC, *args, check=check)

    def dvc_json(self, *args: str | Path) -> Any:
        out = self.dvc(*args, "--json")
        # DVC may print warnings before the document; the JSON starts at the first [ or {.
        starts = [i for i in (out.find("{"), out.find("[")) if i >= 0]
        if not starts:
            raise AssertionError(f"`dvc {' '.join(map(str, args))} --json`: no JSON in\n{out}")
        try:
            return json.loads(out[min(starts) :])
        except json.JSONDecodeError as err:
            raise AssertionError(
                f"`dvc {' '.join(map(str, args))} --json`: not JSON ({err}):\n{out}"
            ) from None

    def git(self, *args: str | Path, check: bool = True) -> str:
        return self.run("git", *args, check=check)

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)

    # --- params -------------------------------------------------------------------------
    @property
    def params_path(self) -> Path:
        return self.root / "params.yaml"

    def read_params(self) -> dict[str, Any]:
        return yaml.safe_load(self.params_path.read_text())

    def set_params(self, values: Mapping[str, Any]) -> None:
        """Overwrite dotted keys of the copy's params.yaml (comments are not kept)."""
        params = self.read_params()
        for dotted, value in values.items():
            set_dotted(params, dotted, value)
        self.params_path.write_text(yaml.safe_dump(params, sort_keys=False))

    def transcript(self) -> str:
        """Every command run so far with its output (for failure messages)."""
        return "\n".join(self.log)
