"""Docker for `make image-test`, as this machine has it (shared/reference/toolchain.md, 7):
Debian's Docker and Compose, no image registry, no bridge network.

- `daemon()`: the Docker daemon that answers (DOCKER_HOST, or the usual socket), else one of
  our own with its own data root under STATE, started here and stopped at the end.
- `base_image()`: a Debian 12 base image made with debootstrap, once (kept in STATE's data
  root, so the next run skips it; `rm -rf` STATE frees it all).
- `build()`: an image, with the network of the host and the machine's CA bundle as a build
  secret for pip (so it never lands in a layer).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

STATE = Path(os.environ.get("NOWWATCHING_DOCKER_STATE", "/var/tmp/nowwatching-docker"))
# Debian's client (20.10, BuildKit built in); another `docker` earlier on PATH may want a
# buildx plugin that is not installed.
DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else shutil.which("docker")
COMPOSE = shutil.which("docker-compose")
BASE_IMAGE = "local/debian:bookworm"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


def run(env: dict, *args: str, timeout: float = 600, check: bool = True, **kwargs):
    """A docker command; its output as text (raises with it when it fails and `check`)."""
    done = subprocess.run(
        [DOCKER, *args], env=env, capture_output=True, text=True, timeout=timeout, **kwargs
    )
    if check and done.returncode:
        raise AssertionError(f"docker {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done


def _answers(env: dict) -> bool:
    try:
        return run(env, "info", timeout=20, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


@contextlib.contextmanager
def daemon():
    """Yields the environment (DOCKER_HOST) under which `docker` reaches a daemon."""
    assert DOCKER, "Docker is not installed: `make image-test` installs Debian's docker.io"
    env = dict(os.environ)
    if _answers(env):
        yield env
        return
    STATE.mkdir(parents=True, exist_ok=True)
    socket = STATE / "docker.sock"
    env["DOCKER_HOST"] = f"unix://{socket}"
    if _answers(env):  # ours, left by an earlier run that was killed
        yield env
        return
    pidfile = STATE / "docker.pid"
    with (STATE / "dockerd.log").open("ab") as log:
        process = subprocess.Popen(
            ["dockerd", "--data-root", str(STATE / "data"), "--exec-root", str(STATE / "exec"),
             "-H", env["DOCKER_HOST"], "--pidfile", str(pidfile),
             # No docker0 bridge and no iptables rules here: containers use the host's network.
             "--bridge=none", "--iptables=false"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _answers(env):
            assert process.poll() is None, f"dockerd exited: see {STATE / 'dockerd.log'}"
            assert time.monotonic() < deadline, "dockerd did not answer within 60 s"
            time.sleep(0.5)
        yield env
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def image_exists(env: dict, name: str) -> bool:
    return run(env, "image", "inspect", name, check=False).returncode == 0


# As Debian's own -slim images (debian:bookworm-slim, under python:3.11-slim-bookworm): no
# documentation, manuals or translations, now or from later installs, and no apt caches.
SLIM_DPKG = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""
SLIM_APT = """APT::Keep-Downloaded-Packages "false";
Acquire::GzipIndexes "true";
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
"""


def base_image(env: dict) -> str:
    """Debian 12 (minbase, slimmed as Debian's -slim images) as an image, made with
    debootstrap the first time."""
    if image_exists(env, BASE_IMAGE):
        return BASE_IMAGE
    rootfs = STATE / "rootfs"
    shutil.rmtree(rootfs, ignore_errors=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", "bookworm", str(rootfs), DEBIAN_MIRROR],
        check=True, capture_output=True, timeout=900,
    )  # fmt: skip
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(SLIM_DPKG)
    (rootfs / "etc/apt/apt.conf.d/docker-slim").write_text(SLIM_APT)
    for folder in ("usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale",
                   "var/cache/apt", "var/lib/apt/lists"):  # fmt: skip
        for path in (rootfs / folder).glob("*"):
            if path.name in ("copyright", "locale.alias"):
                continue
            if path.is_dir() and folder == "usr/share/doc":
                for inner in path.iterdir():
                    if inner.name != "copyright":
                        shutil.rmtree(inner) if inner.is_dir() else inner.unlink()
                continue
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    try:
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        run(env, "import", "-", BASE_IMAGE, stdin=tar.stdout)
        assert tar.wait() == 0
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    return BASE_IMAGE


def build(env: dict, tag: str, context: Path, dockerfile: Path | None = None, **args: str):
    """`docker build` with BuildKit and the host's network; `args` are build arguments."""
    command = ["build", "--network", "host", "--tag", tag]
    if CA_BUNDLE.exists():
        command += ["--secret", f"id=pipca,src={CA_BUNDLE}"]
    if dockerfile:
        command += ["--file", str(dockerfile)]
    for name, value in args.items():
        command += ["--build-arg", f"{name}={value}"]
    return run(env | {"DOCKER_BUILDKIT": "1"}, *command, str(context), timeout=1800)


def image_megabytes(env: dict, name: str) -> float:
    return int(run(env, "image", "inspect", "--format", "{{.Size}}", name).stdout) / 1e6
