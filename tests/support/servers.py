"""Infrastructure servers of a test's own: a RabbitMQ node, a PostgreSQL cluster and a Redis server,
each on free ports and in a temporary directory, so a fault test can stop, kill and restart them
without touching the machine's shared instances (or another suite's data).

Each is a context manager that starts the server, yields a handle with ``stop()``, ``start()`` and
``restart()``, and on exit -- failure included -- kills it and removes its directory. They need the
Debian packages that ``make bootstrap`` installs (``rabbitmq-server``, ``postgresql-15``,
``redis-server``); PostgreSQL refuses to run as root, so as root its cluster runs as ``postgres``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import redis

from tests.support.processes import free_port

RABBITMQ_SERVER = os.environ.get("VIGIA_TEST_RABBITMQ_SERVER", "/usr/lib/rabbitmq/bin/rabbitmq-server")
PG_BIN = Path(os.environ.get("VIGIA_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
REDIS_SERVER = os.environ.get("VIGIA_TEST_REDIS_SERVER", "redis-server")
RABBITMQ_PLUGINS = ("rabbitmq_management", "rabbitmq_consistent_hash_exchange")


def _wait(predicate: object, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():  # type: ignore[operator]
                return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    raise AssertionError(f"{what} did not come up within {timeout:g} s\n{tail}")


def _terminate(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM the process group, wait, then SIGKILL it (children such as erl_child_setup included)."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


# --- RabbitMQ ----------------------------------------------------------------------------------


@dataclass
class RabbitNode:
    """A single-node broker (node ``vigia-fault-<rand>@localhost``) with the management and
    consistent-hash plugins, on its own AMQP, distribution and management ports; its data
    (Mnesia, quorum logs) survives :meth:`restart`, like a real broker's."""

    base: Path
    amqp_port: int = field(default_factory=free_port)
    management_port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    node: str = field(default_factory=lambda: f"vigia-fault-{uuid.uuid4().hex[:8]}@localhost")
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def amqp_url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.amqp_port}/%2F"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.management_port}"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def _env(self) -> dict[str, str]:
        config = self.base / "rabbitmq.conf"
        config.write_text(f"listeners.tcp.local = 127.0.0.1:{self.amqp_port}\n"
                          f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {self.management_port}\n"
                          "loopback_users.guest = true\n")
        plugins = self.base / "enabled_plugins"
        plugins.write_text(f"[{','.join(RABBITMQ_PLUGINS)}].\n")
        env_file = self.base / "rabbitmq-env.conf"  # not the machine's (it names the shared node)
        env_file.write_text("")
        return {**os.environ, "HOME": str(self.base), "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1", "RABBITMQ_NODE_PORT": str(self.amqp_port),
                "RABBITMQ_DIST_PORT": str(self.dist_port), "RABBITMQ_CONFIG_FILE": str(config),
                "RABBITMQ_CONF_ENV_FILE": str(env_file), "RABBITMQ_ENABLED_PLUGINS_FILE": str(plugins),
                "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"), "RABBITMQ_LOG_BASE": str(self.base / "log"),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.base / "advanced.config"),
                "ERL_EPMD_ADDRESS": "127.0.0.1"}

    def _ready(self) -> bool:
        response = httpx.get(f"{self.management_url}/api/overview", auth=("guest", "guest"), timeout=2)
        return response.status_code == 200 and bool(response.json().get("listeners"))

    def start(self, timeout: float = 120) -> None:
        """Start the node and wait until it accepts AMQP and answers the management API."""
        self.starts += 1
        with open(self.log, "ab") as log:
            log.write(f"\n=== start #{self.starts} ===\n".encode())
            self.proc = subprocess.Popen([RABBITMQ_SERVER], env=self._env(), cwd=self.base, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self._ready, timeout, f"RabbitMQ node {self.node}", self.log)

    def stop(self, timeout: float = 60) -> None:
        """Stop the node the way its service manager would (SIGTERM: a clean shutdown)."""
        _terminate(self.proc, timeout)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def rabbitmq_node() -> Iterator[RabbitNode]:
    """A running :class:`RabbitNode`; killed and its directory removed on exit."""
    base = Path(tempfile.mkdtemp(prefix="vigia-rabbit-"))
    node = RabbitNode(base)
    try:
        node.start()
        yield node
    finally:
        node.stop(timeout=30)
        shutil.rmtree(base, ignore_errors=True)


# --- PostgreSQL --------------------------------------------------------------------------------


@dataclass
class PostgresCluster:
    """A throwaway PostgreSQL cluster (``initdb``) on its own port, socket in its own directory;
    trust authentication for ``postgres`` on loopback."""

    base: Path
    port: int = field(default_factory=free_port)
    user: str | None = None  # the OS user the server runs as (None: this process's)

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def log(self) -> Path:
        return self.base / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"

    def init(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-instructions")

    def start(self) -> None:
        """Start the server and wait until it accepts connections (``pg_ctl -w``)."""
        # Durability settings off: a throwaway cluster, stopped cleanly (a clean stop still flushes).
        options = (f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: every client connection is cut, the server shuts down cleanly."""
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A running :class:`PostgresCluster`; stopped and removed on exit."""
    base = Path(tempfile.mkdtemp(prefix="vigia-pg-"))
    user = None
    if os.geteuid() == 0:  # initdb refuses root
        user = os.environ.get("VIGIA_TEST_PG_USER", "postgres")
        entry = pwd.getpwnam(user)
        os.chown(base, entry.pw_uid, entry.pw_gid)
    cluster = PostgresCluster(base, user=user)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        with contextlib.suppress(AssertionError):
            cluster.stop("immediate")
        shutil.rmtree(base, ignore_errors=True)


# --- Redis -------------------------------------------------------------------------------------


@dataclass
class RedisServer:
    """A ``redis-server`` on its own port, without persistence: a restart empties it, as Redis
    holds nothing the platform cannot rebuild."""

    base: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        with open(self.base / "server.log", "ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--dir", str(self.base), "--daemonize", "no"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            _wait(client.ping, 30, f"redis-server on port {self.port}", self.base / "server.log")
        finally:
            client.close()

    def stop(self) -> None:
        _terminate(self.proc, 30)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A running :class:`RedisServer`; killed and its directory removed on exit."""
    base = Path(tempfile.mkdtemp(prefix="vigia-redis-"))
    server = RedisServer(base)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """An S3 API on loopback (moto's server) for the block; yields its ``host:port``."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"{host}:{port}"
    finally:
        server.stop()
