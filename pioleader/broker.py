"""Running mosquitto with our own configuration: a TCP listener for services and a websockets
listener for browsers, persistence in the data directory, nothing from /etc/mosquitto."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pioleader.net import wait_for_port

_SEARCH_PATH = "/usr/sbin:/usr/local/sbin:/usr/bin:/usr/local/bin"


def _find(program: str) -> str:
    """A program of the mosquitto package (Debian installs the broker in /usr/sbin, often not
    on PATH)."""
    found = shutil.which(program) or shutil.which(program, path=_SEARCH_PATH)
    if found is None:
        raise FileNotFoundError(
            f"{program} is not installed; `make run` or `make test` installs it "
            "(apt-get install mosquitto)"
        )
    return found


def find_mosquitto() -> str:
    return _find("mosquitto")


@dataclass
class Mosquitto:
    """One mosquitto process, configured and owned by us."""

    directory: Path
    port: int
    ws_port: int | None = None
    host: str = "127.0.0.1"
    # With a username, only that user (with the password) may connect: the [mqtt] credentials
    # every pioleader process and the web UI use.
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    process: subprocess.Popen[bytes] | None = None

    def write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = [
            "# Written by pioleader; edits are overwritten at the next start.",
            "per_listener_settings false",
            *self._access(),
            # Started as root, mosquitto would switch to the `mosquitto` user, which cannot
            # write our persistence directory: without it, sessions (the ingester's queue)
            # do not survive a broker restart.
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
            "persistence true",
            f"persistence_location {self.directory}/",
            "autosave_interval 30",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "max_queued_messages 100000",
            f"listener {self.port} {self.host}",
            "protocol mqtt",
        ]
        if self.ws_port is not None:
            lines += [f"listener {self.ws_port} {self.host}", "protocol websockets"]
        path = self.directory / "mosquitto.conf"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    def _access(self) -> list[str]:
        if self.username is None:
            return ["allow_anonymous true"]
        passwords = self.directory / "passwords"
        passwords.unlink(missing_ok=True)
        # mosquitto reads only hashed passwords; its own tool (in the same package) hashes.
        subprocess.run(
            [
                _find("mosquitto_passwd"),
                "-c",
                "-b",
                str(passwords),
                self.username,
                self.password or "",
            ],
            check=True,
            capture_output=True,
        )
        passwords.chmod(0o600)
        return ["allow_anonymous false", f"password_file {passwords}"]

    def start(self, *, timeout: float = 10.0) -> None:
        config = self.write_config()
        log = (self.directory / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            [find_mosquitto(), "-c", str(config)], stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        try:
            wait_for_port(self.port, self.host, timeout=timeout)
        except TimeoutError:
            self.stop()
            raise
        if self.process.poll() is not None:
            raise RuntimeError(f"mosquitto exited at start; see {self.directory / 'mosquitto.log'}")

    def stop(self, *, timeout: float = 5.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
