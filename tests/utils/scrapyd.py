"""A real Scrapyd for end-to-end tests: start it, deploy an egg, schedule a job, wait, read logs.

Everything Scrapyd keeps lives under one root folder::

    ROOT/scrapyd.conf   the configuration (Scrapyd reads ./scrapyd.conf; its cwd is ROOT)
    ROOT/scrapyd.out    Scrapyd's own log, with each job's stdout/stderr and exit status
    ROOT/eggs/ logs/ items/ dbs/ jobs/    eggs_dir, logs_dir, items_dir, dbs_dir, jobs_dir
    ROOT/build/         the project copies eggs are built from (``deploy``)
    ROOT/home/, tmp/    HOME and TMPDIR of Scrapyd and the builds

Scrapyd also reads ``~/.scrapyd.conf`` after ``./scrapyd.conf``; ``HOME`` points at ``ROOT/home``
(the user's site-packages stay visible through ``PYTHONUSERBASE``) so a developer's own
configuration cannot move the folders or the port. ``PYTHONPATH`` and ``SCRAPY_*`` variables are
dropped: the deployed egg, not a checkout, must provide the project's code.
"""

from __future__ import annotations

import configparser
import contextlib
import json
import os
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .service import Service

POLL_SECONDS = 0.1
# Parameters of schedule.json itself; every other field becomes a spider argument (``-a``).
SCHEDULE_FIELDS = frozenset({"project", "spider", "_version", "jobid", "priority", "setting"})
_DIRS = ("eggs", "logs", "items", "dbs", "jobs")


class ScrapydError(RuntimeError):
    """Scrapyd did not start, refused a request, or a job did not finish in time."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _multipart(fields: Mapping[str, str], files: Mapping[str, Path]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body and its content type."""
    boundary = uuid.uuid4().hex
    chunks: list[bytes] = []
    for name, value in fields.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, path in files.items():
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{path.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + path.read_bytes()
            + b"\r\n"
        )
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


class Scrapyd(Service):
    """One real Scrapyd process on 127.0.0.1, configured to keep everything under ``root``.

    Use it as a context manager (``with Scrapyd(tmp_path) as scrapyd: ...``), or call
    ``start()`` and ``stop()``. ``poll_interval`` is how often Scrapyd looks for queued jobs
    (its default is 5 s).
    """

    def __init__(
        self,
        root: Path,
        *,
        poll_interval: float = 0.2,
        max_proc: int = 1,
        start_timeout: float = 30.0,
    ) -> None:
        self.root = root.resolve()
        self.poll_interval = poll_interval
        self.max_proc = max_proc
        self.start_timeout = start_timeout
        self.port = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._projects: dict[str, str] = {}  # project -> the version deployed last

    # --- folders --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def config_file(self) -> Path:
        return self.root / "scrapyd.conf"

    @property
    def output_file(self) -> Path:
        return self.root / "scrapyd.out"

    def dir(self, name: str) -> Path:
        """``eggs``, ``logs``, ``items``, ``dbs`` or ``jobs``: the folder Scrapyd uses for it."""
        if name not in _DIRS:
            raise ValueError(f"no Scrapyd folder {name!r}; one of {', '.join(_DIRS)}")
        return self.root / name

    def output(self) -> str:
        """Scrapyd's own log so far (it holds each job's stdout and stderr lines too)."""
        if not self.output_file.exists():
            return ""
        return self.output_file.read_text(encoding="utf-8", errors="replace")

    # --- process --------------------------------------------------------------------------------

    def _write_config(self) -> None:
        config = configparser.ConfigParser()
        config["scrapyd"] = {
            "bind_address": "127.0.0.1",
            "http_port": str(self.port),
            "poll_interval": str(self.poll_interval),
            "max_proc": str(self.max_proc),
            "username": "",
            "password": "",
            "debug": "off",
            **{f"{name}_dir": str(self.dir(name)) for name in _DIRS},
        }
        with self.config_file.open("w", encoding="utf-8") as handle:
            config.write(handle)

    def environment(self) -> dict[str, str]:
        """The environment Scrapyd runs with (and passes on to every job)."""
        env = {
            name: value
            for name, value in os.environ.items()
            if name != "PYTHONPATH" and not name.startswith(("SCRAPY_", "SCRAPYD_"))
        }
        env.update(
            HOME=str(self.root / "home"),
            PYTHONUSERBASE=site.getuserbase(),
            TMPDIR=str(self.root / "tmp"),
            PYTHONUNBUFFERED="1",
            # Scrapyd lets these win over any configuration file.
            SCRAPYD_BIND_ADDRESS="127.0.0.1",
            SCRAPYD_HTTP_PORT=str(self.port),
        )
        return env

    def start(self, attempts: int = 3) -> None:
        """Start Scrapyd and wait until ``daemonstatus.json`` answers.

        Raises ``ScrapydError`` with Scrapyd's output when it exits or does not answer within
        ``start_timeout`` seconds. A port taken between choosing and binding it is retried.
        """
        if self._proc is not None:
            raise ScrapydError("Scrapyd is already running")
        for name in (*_DIRS, "home", "tmp"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        for attempt in range(1, attempts + 1):
            self.port = free_port()
            self._write_config()
            try:
                self._start_once()
                return
            except ScrapydError:
                if attempt == attempts or "Address already in use" not in self.output():
                    raise

    def _start_once(self) -> None:
        with self.output_file.open("wb") as out:
            # Its own session: stop() can then end Scrapyd and any crawl it started together.
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "scrapyd", "--pidfile", str(self.root / "twistd.pid")],
                cwd=self.root,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.start_timeout
        while True:
            code = self._proc.poll()
            if code is not None:
                self._proc = None
                raise ScrapydError(
                    f"Scrapyd exited with status {code} before answering on {self.url}; "
                    f"its output:\n{self.output()[-5000:]}"
                )
            try:
                status = self.daemon_status()
            except (OSError, ScrapydError):
                status = {}
            if status.get("status") == "ok":
                return
            if time.monotonic() > deadline:
                self.stop()
                raise ScrapydError(
                    f"Scrapyd did not answer {self.url}daemonstatus.json within "
                    f"{self.start_timeout:.0f} s; its output:\n{self.output()[-5000:]}"
                )
            time.sleep(POLL_SECONDS)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop Scrapyd and the crawls it runs.

        SIGTERM goes to Scrapyd's process group (Scrapyd and its crawls); once Scrapyd has
        exited, or after ``timeout`` seconds, whatever is left of the group is killed.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        # The process group is Scrapyd's own (start_new_session): Scrapyd and its crawls only.
        group = proc.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)  # a crawl or Scrapyd itself that is still there
        proc.wait(timeout=timeout)

    # --- web service ----------------------------------------------------------------------------

    def request(
        self,
        endpoint: str,
        *,
        query: Iterable[tuple[str, str]] = (),
        form: Iterable[tuple[str, str]] | None = None,
        files: Mapping[str, Path] | None = None,
        timeout: float = 60.0,
    ) -> dict[str, Any]:
        """Call ``endpoint`` (``schedule.json``, …): GET, or POST with ``form``/``files``.

        Raises ``ScrapydError`` unless Scrapyd answers ``"status": "ok"``.
        """
        url = self.url + endpoint
        query_string = urllib.parse.urlencode(list(query))
        if query_string:
            url += "?" + query_string
        data: bytes | None = None
        headers: dict[str, str] = {}
        if files:
            data, headers["Content-Type"] = _multipart(dict(form or ()), files)
        elif form is not None:
            data = urllib.parse.urlencode(list(form)).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        try:
            answer: dict[str, Any] = json.loads(body)
        except ValueError:
            raise ScrapydError(f"{endpoint}: not JSON: {body[:500]!r}") from None
        if answer.get("status") != "ok":
            raise ScrapydError(f"{endpoint} failed: {answer.get('message', answer)}")
        return answer

    def daemon_status(self) -> dict[str, Any]:
        return self.request("daemonstatus.json", timeout=5)

    def spiders(self, project: str) -> list[str]:
        names: list[str] = self.request("listspiders.json", query=[("project", project)])["spiders"]
        return names

    # --- deploy ---------------------------------------------------------------------------------

    def build_egg(self, project_dir: Path, egg: Path) -> Path:
        """Build ``egg`` from a copy of ``project_dir`` with ``scrapyd-deploy --build-egg``.

        Only ``scrapy.cfg`` and the package of its ``[settings] default`` module are copied (to
        ``ROOT/build/``): scrapyd-deploy writes ``setup.py``, ``build/`` and ``*.egg-info`` next
        to ``scrapy.cfg``, and none of that may land in the project itself.
        """
        cfg = project_dir / "scrapy.cfg"
        parser = configparser.ConfigParser()
        if not parser.read(cfg, encoding="utf-8"):
            raise ScrapydError(f"no scrapy.cfg in {project_dir}")
        package = parser.get("settings", "default").split(".")[0]
        work = self.root / "build" / egg.stem
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        shutil.copy2(cfg, work / "scrapy.cfg")
        shutil.copytree(
            project_dir / package,
            work / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        env = {k: v for k, v in self.environment().items() if not k.startswith("SCRAPYD_")}
        # scrapyd-deploy leaves its scrapydeploy-* build folder behind in TMPDIR (ROOT/tmp).
        result = subprocess.run(
            [sys.executable, "-m", "scrapyd_client.deploy", "--debug", f"--build-egg={egg}"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0 or not egg.is_file():
            raise ScrapydError(
                f"scrapyd-deploy --build-egg failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return egg

    def deploy(
        self, project_dir: Path, *, project: str | None = None, version: str | None = None
    ) -> str:
        """Build the project's egg and add it to Scrapyd (``addversion.json``); the version.

        ``project`` defaults to the ``[deploy] project`` of ``scrapy.cfg``, ``version`` to a
        timestamp, as scrapyd-deploy does.
        """
        if project is None:
            parser = configparser.ConfigParser()
            parser.read(project_dir / "scrapy.cfg", encoding="utf-8")
            project = parser.get("deploy", "project", fallback=None)
            if not project:
                raise ScrapydError(f"{project_dir / 'scrapy.cfg'} names no [deploy] project")
        version = version or time.strftime("%Y%m%d%H%M%S")
        egg = self.build_egg(project_dir, self.root / "build" / f"{project}-{version}.egg")
        answer = self.request(
            "addversion.json",
            form=[("project", project), ("version", version)],
            files={"egg": egg},
        )
        if answer.get("spiders", 0) < 1:
            raise ScrapydError(f"Scrapyd found no spider in the {project} egg: {answer}")
        stored = list((self.dir("eggs") / project).glob("*.egg"))
        if not stored:
            raise ScrapydError(
                f"the egg is not under {self.dir('eggs')}: another Scrapyd configuration "
                "(a scrapy.cfg above the Scrapyd folder, /etc/scrapyd) overrides eggs_dir"
            )
        self._projects[project] = version
        return version

    def _project(self, project: str | None) -> str:
        if project is not None:
            return project
        if len(self._projects) != 1:
            raise ScrapydError("name the project: deploy() has added none or several")
        return next(iter(self._projects))

    # --- jobs -----------------------------------------------------------------------------------

    def schedule(
        self,
        spider: str,
        settings: Mapping[str, object] | None = None,
        args: Mapping[str, object] | None = None,
        *,
        project: str | None = None,
        version: str | None = None,
    ) -> str:
        """Queue ``spider`` (``schedule.json``) and return the job id.

        ``settings`` go as ``setting=NAME=VALUE`` fields (the crawl gets ``-s NAME=VALUE``);
        ``args`` as plain fields (``-a name=value``). ``version`` pins an egg version
        (``_version``); without it Scrapyd runs the latest one.
        """
        form: list[tuple[str, str]] = [("project", self._project(project)), ("spider", spider)]
        if version is not None:
            form.append(("_version", version))
        for name, value in (settings or {}).items():
            if not name or "=" in name:
                raise ValueError(f"setting name {name!r} cannot be sent as setting=NAME=VALUE")
            form.append(("setting", f"{name}={value}"))
        for name, value in (args or {}).items():
            if name in SCHEDULE_FIELDS:
                raise ValueError(f"{name!r} is a schedule.json parameter, not a spider argument")
            form.append((name, str(value)))
        job: str = self.request("schedule.json", form=form)["jobid"]
        return job

    def jobs(self, project: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """``listjobs.json``: the ``pending``, ``running`` and ``finished`` jobs."""
        answer = self.request("listjobs.json", query=[("project", self._project(project))])
        return {state: list(answer[state]) for state in ("pending", "running", "finished")}

    def wait(
        self, job: str, timeout: float = 120.0, *, project: str | None = None
    ) -> dict[str, Any]:
        """Poll ``listjobs.json`` until ``job`` is finished; its ``finished`` entry.

        Scrapyd lists a job as finished whatever its exit status: see ``exit_status``.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self._proc is None or self._proc.poll() is not None:
                raise ScrapydError(f"Scrapyd is not running; its output:\n{self.output()[-5000:]}")
            state, entry = self._find_job(job, project)
            if state == "finished" and entry is not None:
                return entry
            if time.monotonic() > deadline:
                raise ScrapydError(
                    f"job {job} still {state} after {timeout:.0f} s; Scrapyd's output:\n"
                    f"{self.output()[-3000:]}\njob log:\n{self._log_or_nothing(job)[-3000:]}"
                )
            time.sleep(POLL_SECONDS)

    def _find_job(self, job: str, project: str | None) -> tuple[str, dict[str, Any] | None]:
        """The job's state (``pending``, ``running``, ``finished``, ``unknown``) and entry."""
        for state, entries in self.jobs(project).items():
            for entry in entries:
                if entry["id"] == job:
                    return state, entry
        return "unknown", None

    def log_file(self, job: str, *, project: str | None = None) -> Path:
        """The job's log: ``logs_dir/<project>/<spider>/<job>.log``."""
        found = sorted((self.dir("logs") / self._project(project)).glob(f"*/{job}.log"))
        if not found:
            raise ScrapydError(f"no log for job {job} under {self.dir('logs')}")
        return found[0]

    def log(self, job: str, *, project: str | None = None) -> str:
        """The job's log (the crawl's ``LOG_FILE``, which Scrapyd sets)."""
        return self.log_file(job, project=project).read_text(encoding="utf-8", errors="replace")

    def _log_or_nothing(self, job: str) -> str:
        try:
            return self.log(job)
        except ScrapydError as exc:
            return str(exc)

    def exit_status(self, job: str) -> int | None:
        """The crawl's exit status, from Scrapyd's own log; ``None`` while it runs.

        Scrapyd 1.6 does not report it in its API: ``listjobs.json`` lists a job as finished
        either way. Its log says ``Process finished: … job='ID'`` for status 0 and
        ``Process died: exitstatus=N … job='ID'`` otherwise; a crawl killed by a signal
        (``exitstatus=None``) gives -1.
        """
        quoted = re.escape(f"job='{job}'")
        output = self.output()
        if re.search(rf"Process finished: .*{quoted}", output):
            return 0
        died = re.search(rf"Process died: exitstatus=(\S+) .*{quoted}", output)
        if died is None:
            return None
        return int(died.group(1)) if died.group(1).lstrip("-").isdigit() else -1

    def job_stderr(self, job: str) -> str:
        """What the crawl wrote to stderr: Scrapyd logs it as ``[Launcher,PID/stderr]`` lines."""
        started = re.search(rf"Process started: .*job='{re.escape(job)}' pid=(\d+)", self.output())
        if started is None:
            return ""
        marker = f"[Launcher,{started.group(1)}/stderr] "
        lines: list[str] = []
        inside = False
        for line in self.output().splitlines():
            if marker in line:
                inside = True
                lines.append(line.split(marker, 1)[1])
            elif inside and line[:1].isspace():  # a multi-line message goes on, indented
                lines.append(line.strip())
            else:
                inside = False
        return "\n".join(lines)

    def runner_module_file(self, module: str, *, project: str | None = None) -> Path:
        """Where ``module`` is imported from in a crawl: Scrapyd's runner activates the egg."""
        code = (
            "import importlib, os, sys\n"
            "from scrapyd.runner import project_environment\n"
            "with project_environment(os.environ['SCRAPY_PROJECT']):\n"
            f"    print(importlib.import_module({module!r}).__file__)\n"
        )
        env = {**self.environment(), "SCRAPY_PROJECT": self._project(project)}
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if result.returncode != 0:
            raise ScrapydError(f"cannot import {module} as the runner does:\n{result.stderr}")
        return Path(result.stdout.strip().splitlines()[-1])
