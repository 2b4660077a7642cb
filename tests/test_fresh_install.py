"""What a learner on a fresh machine or on Binder gets: the course installs from its own files and runs.

The test copies the repository's tracked files into an empty folder and runs the
README's "open the course" command there exactly as written: it makes a new
virtualenv, installs `requirements.txt` and starts JupyterLab, which must come up
serving chapter 00; then the test stops it and everything it started. That venv
is a learner's install, and Binder's too (`binder/requirements.txt` is exactly
`-r ../requirements.txt`, which the test checks), so the test then runs every
notebook in it, top to bottom, with `jupyter execute` (nbclient, which JupyterLab
brings): no test tools are in a learner's install, and none are needed (the
committed outputs are compared by nbval in the main suite). One install serves
both checks, because a pip install is the slowest part of the suite.

It is slow (a full pip install, from the machine's pip cache when it has one), so
it carries its own timeout instead of the 300 s in pytest.ini.
"""

import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psutil
import pytest

pytestmark = pytest.mark.slow          # minutes, not seconds: `pytest -m "not slow"` skips it while you work

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHAPTER_00 = ROOT / "notebooks" / "00_the_thirty_second_deploy.ipynb"
NOTEBOOKS_SECONDS = 600
SERVER_START_SECONDS = 360          # the open command makes a venv and installs first
STOP_GRACE_SECONDS = 20
NOT_COPIED = (".venv", ".git", "__pycache__", ".pytest_cache", ".hypothesis", "*.egg-info", ".ipynb_checkpoints")


def copy_repository(destination):
    """Copy what a clone would contain into ``destination``; returns it.

    That is git's tracked files plus new files not yet added (but not ignored ones), as they are
    in the working tree: a tracked module edited to import a new, not yet committed one must
    find it in the copy, as it will in the clone once both are committed.
    """
    destination.mkdir(parents=True, exist_ok=True)
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                                cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(ROOT, destination, ignore=shutil.ignore_patterns(*NOT_COPIED), dirs_exist_ok=True)
        return destination
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if not source.is_file():            # tracked, but deleted in the working tree
            continue
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return destination


def fresh_environment(**extra):
    """This machine's environment without traces of the venv and pytest that run this test."""
    dropped = ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTEST_", "JUPYTER", "LABSUPPORT_", "LAB_")
    env = {key: value for key, value in os.environ.items() if not key.startswith(dropped)}
    our_bin = str(pathlib.Path(sys.prefix) / "bin")
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p and p != our_bin)
    env.update(extra)
    return env


def run_in_own_group(command, cwd, env, timeout):
    """Run ``command`` in its own session; on timeout kill the whole group. Returns (code, output)."""
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return None, output + f"\n[killed after {timeout} s]"
    return process.returncode, output


def tail(text, lines=40):
    return "\n".join(text.splitlines()[-lines:])


def readme_command(marker):
    """The command between <!-- marker --> and <!-- /marker --> in README.md (as .ci/run reads it)."""
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index(f"<!-- {marker} -->")
    end = lines.index(f"<!-- /{marker} -->", start)
    commands = [line for line in lines[start + 1:end] if not line.startswith(("<!--", "```")) and line.strip()]
    assert commands, f"README.md has no command between the {marker} markers"
    return commands[0]


def temp_dir(tmp_path):
    """A TMPDIR inside the test's own folder, so nothing the copy's run leaves behind litters /tmp."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url):
    """(status, body) of a GET; (None, b"") while nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None, b""


def server_info(runtime_dir, port):
    """The jpserver-<pid>.json a Jupyter server writes once it listens, for the server on ``port``."""
    for path in runtime_dir.glob("jpserver-*.json"):
        try:
            info = json.loads(path.read_text())
        except (OSError, ValueError):        # being written right now
            continue
        if info.get("port") == port:
            return info
    return None


def wait_until(condition, timeout, process, log_path, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            raise AssertionError(f"the open command exited ({process.returncode}) before {what}:\n"
                                 f"{tail(log_path.read_text(errors='replace'))}")
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}:\n"
                         f"{tail(log_path.read_text(errors='replace'))}")


def processes_in_session(session_id):
    """Live (non-zombie) processes whose session is ``session_id``."""
    found = []
    for process in psutil.process_iter(["pid", "name", "status"]):
        try:
            if os.getsid(process.pid) == session_id and process.info["status"] != psutil.STATUS_ZOMBIE:
                found.append(f"{process.pid} {process.info['name']}")
        except (OSError, psutil.Error):
            continue
    return found


def stop_group(process):
    """SIGTERM the command's whole process group, SIGKILL what is left after a grace period, reap."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        while processes_in_session(process.pid) and time.monotonic() < deadline:
            process.poll()
            time.sleep(0.2)
        if not processes_in_session(process.pid):
            break
    process.wait(timeout=STOP_GRACE_SECONDS)


def test_binder_installs_exactly_the_courses_requirements():
    lines = [line.strip() for line in (ROOT / "binder" / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line and not line.startswith("#")] == ["-r ../requirements.txt"]


@pytest.mark.timeout(1500)
def test_readme_open_command_serves_chapter_00_and_its_venv_alone_runs_every_notebook(tmp_path):
    command = readme_command("open-command")
    repo = copy_repository(tmp_path / "course")
    port, token = free_port(), secrets.token_hex(16)
    config_dir, runtime_dir = tmp_path / "jupyter-config", tmp_path / "jupyter-runtime"
    config_dir.mkdir()
    runtime_dir.mkdir()
    # What a learner would type on the command line, as config, so the README's command runs unchanged:
    # root is allowed in a container, no browser, loopback only, a known port and token.
    (config_dir / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"allow_root": True, "open_browser": False, "ip": "127.0.0.1", "port": port,
                      "port_retries": 0},
        "IdentityProvider": {"token": token},
    }))
    env = fresh_environment(JUPYTER_CONFIG_DIR=str(config_dir), JUPYTER_RUNTIME_DIR=str(runtime_dir),
                            JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "lab-settings"),
                            JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "lab-workspaces"),
                            LABSUPPORT_PROGRESS=str(tmp_path / "progress.json"), TMPDIR=str(temp_dir(tmp_path)))
    log_path = tmp_path / "open-command.log"
    base = f"http://127.0.0.1:{port}"

    with open(log_path, "wb") as log:
        process = subprocess.Popen(["bash", "-c", command], cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        try:
            info = wait_until(lambda: server_info(runtime_dir, port), SERVER_START_SECONDS, process, log_path,
                              f"a Jupyter server on port {port} (the config in JUPYTER_CONFIG_DIR sets it)")
            # The server's root is wherever the command points it (for a file: the file's folder).
            chapter = (repo / CHAPTER_00.relative_to(ROOT)).relative_to(pathlib.Path(info["root_dir"])).as_posix()

            def notebook():
                status, body = http_get(f"{base}/api/contents/{chapter}?token={token}")
                return json.loads(body) if status == 200 else None

            served = wait_until(notebook, 60, process, log_path, f"/api/contents/{chapter} to answer 200")
            assert served["type"] == "notebook" and served["name"] == CHAPTER_00.name
            assert served["content"]["cells"], "chapter 00 was served without cells"
            assert http_get(f"{base}/api/contents/{chapter}?token=wrong-{token}")[0] == 403   # our token is the one

            status, page = http_get(f"{base}/lab/tree/{chapter}?token={token}")
            assert status == 200 and b"JupyterLab" in page
            # The page the command opens in a browser (here only written to a file) is chapter 00.
            opened = list(runtime_dir.glob("jpserver-file-to-run-*-open.html"))
            assert opened, "the command did not ask Jupyter to open a file"
            assert f"/lab/tree/{chapter}?" in opened[0].read_text()
        finally:
            stop_group(process)

    assert processes_in_session(process.pid) == [], "processes of the open command outlived it"

    # The venv the command made is a learner's (and Binder's) install: no test tools, and every chapter runs.
    python = repo / ".venv" / "bin" / "python"
    code, output = run_in_own_group([str(python), "-c", "import pytest"], cwd=repo, env=env, timeout=60)
    assert code != 0, "the learner's install should not contain the test tools (they are in requirements-dev.txt)"
    chapters = sorted(str(p.relative_to(repo)) for p in (repo / "notebooks").glob("*.ipynb"))
    code, output = run_in_own_group([str(python.parent / "jupyter-execute"), "--timeout=300", *chapters],
                                    cwd=repo, env=env, timeout=NOTEBOOKS_SECONDS)
    assert code == 0, f"a notebook failed in a venv made from requirements.txt alone:\n{tail(output, 60)}"
