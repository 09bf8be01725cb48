"""The production stack on this machine, for the production check and the load benchmark:
nginx (Debian's package) in front of gunicorn with the shipped ``deploy/gunicorn.conf.py``,
a fresh PostgreSQL database, Redis for the shared cache, and a study with real stimuli.

nginx gets the configuration ``colorstudy.deployment`` writes for real deployments, with a
self-signed certificate: plain HTTP only redirects, everything runs over HTTPS with the site's
SECURE_SSL=1 settings, so the check runs what a deployment runs.
"""
from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from colorstudy.deployment import Site, nginx_main  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
POSTGRES_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")


def missing() -> str | None:
    """Why the stack cannot run here, or None."""
    if not os.path.exists(NGINX):
        return "needs Debian's nginx (make test installs it as root: apt-get install -y nginx)"
    if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"], capture_output=True).returncode != 0:
        return "needs PostgreSQL on 127.0.0.1:5432"
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
            s.sendall(b"PING\r\n")
            if not s.recv(16).startswith(b"+PONG"):
                return "Redis on 127.0.0.1:6379 does not answer PING"
    except OSError:
        return "needs Redis on 127.0.0.1:6379"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def _postgres(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as db:
        db.execute(sql)


@dataclass
class Stack:
    root: Path
    env: dict
    http_port: int
    https_port: int
    upstream_port: int
    database: str  # the PostgreSQL database's name; "" for SQLite
    stimuli: str
    workers: int
    certificate: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def manage(self, *args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], env=self.env, cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed: {done.stderr.strip()[-2000:]}")
        return done.stdout

    def start_gunicorn(self) -> None:
        self.processes["gunicorn"] = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "colorstudy.wsgi"],
            env=self.env, cwd=ROOT, start_new_session=True)
        wait_for_port(self.upstream_port)

    def kill_gunicorn(self) -> None:
        """kill -9 of the master and all its workers at once, as a crash or the OOM killer would."""
        proc = self.processes.pop("gunicorn")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def start_nginx(self) -> None:
        site = Site(static_root=Path(self.env["STATIC_ROOT"]), media_root=Path(self.env["COLORSTUDY_DATA"]) / "media",
                    log_dir=self.logs, server_name="127.0.0.1", upstream=f"127.0.0.1:{self.upstream_port}",
                    stimuli=self.stimuli, http_port=self.http_port, https_port=self.https_port,
                    certificate=self.certificate, certificate_key=self.certificate.with_suffix(".key"))
        conf = self.root / "nginx.conf"
        conf.write_text(nginx_main(site, self.root / "nginx", worker_processes=2))
        (self.root / "nginx").mkdir(exist_ok=True)
        test = subprocess.run([NGINX, "-t", "-q", "-p", str(self.root / "nginx"), "-c", str(conf)], capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t rejects the configuration: {test.stderr.strip()}")
        self.processes["nginx"] = subprocess.Popen([NGINX, "-p", str(self.root / "nginx"), "-c", str(conf), "-g", "daemon off;"],
                                                   start_new_session=True)
        wait_for_port(self.http_port)
        wait_for_port(self.https_port)

    def tls(self) -> ssl.SSLContext:
        """A client context that trusts this stack's self-signed certificate (and nothing else)."""
        return ssl.create_default_context(cafile=str(self.certificate))

    def shell(self, code: str) -> str:
        return self.manage("shell", "-v0", "-c", code)

    def stop(self) -> None:
        for name in ("nginx", "gunicorn"):
            proc = self.processes.pop(name, None)
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        if self.database:
            _postgres(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        shutil.rmtree(self.root, ignore_errors=True)


def self_signed(folder: Path) -> Path:
    """A certificate for 127.0.0.1 and localhost, valid for a day (openssl from Debian's base system)."""
    cert = folder / "tls" / "site.pem"
    cert.parent.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(cert.with_suffix(".key")),
                    "-out", str(cert)], check=True, capture_output=True)
    return cert


def start_stack(*, participants: int, trials: int, stimuli: str = "files", workers: int = 4, slug: str = "prod",
                database: str = "postgresql", proxy: bool = True) -> Stack:
    """Everything up, with one study of two systems (``slug``) ready for ``participants`` lists.

    ``database``: "postgresql" (a fresh database, dropped by :meth:`Stack.stop`) or "sqlite" (WAL,
    in the data folder). Without ``proxy`` gunicorn alone answers, over plain HTTP."""
    if database not in ("postgresql", "sqlite"):
        raise ValueError(f"database must be postgresql or sqlite, not {database!r}")
    root = Path(tempfile.mkdtemp(prefix="colorstudy-stack-", dir="/tmp"))
    root.chmod(0o755)  # nginx's workers (nobody) read the static files and stimuli under it
    name = f"colorstudy_stack_{os.getpid()}_{secrets.token_hex(3)}" if database == "postgresql" else ""
    if name:
        _postgres(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN.rsplit("/", 1)[0]
    upstream = free_port()
    env = {**os.environ, "COLORSTUDY_DATA": str(root / "data"), "STATIC_ROOT": str(root / "static"), "LOG_DIR": str(root / "logs"),
           "DEBUG": "0", "SECRET_KEY": "stack-" + secrets.token_urlsafe(40), "ALLOWED_HOSTS": "127.0.0.1,localhost",
           "DATABASE_URL": f"{base}/{name}" if name else "", "REDIS_URL": REDIS_URL,
           "TRUSTED_PROXY_COUNT": "1" if proxy else "0", "SECURE_SSL": "1" if proxy else "0",
           "X_ACCEL_REDIRECT": "1" if stimuli == "accel" else "0", "GUNICORN_BIND": f"127.0.0.1:{upstream}",
           "GUNICORN_WORKERS": str(workers), "GUNICORN_LOG_LEVEL": "error",
           # High enough never to refuse the load run, low enough that the counters are really kept (in Redis).
           "RATE_LIMIT_START": "1000000", "RATE_LIMIT_VOTE": "1000000"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = Stack(root=root, env=env, http_port=free_port(), https_port=free_port(), upstream_port=upstream,
                  database=name, stimuli=stimuli, workers=workers, certificate=self_signed(root))
    try:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()  # this run's counters only
        stack.manage("migrate", "--noinput", "-v0")
        stack.manage("collectstatic", "--noinput", "-v0")
        from harness.synthetic import make_system_folders

        folders = make_system_folders(root / "systems", n_images=trials)
        stack.manage("generate_pairs", "--study", slug, "--system", f"muted={folders['muted']}", "--system",
                     f"vivid={folders['vivid']}", "--participants", str(participants), "--trials", str(trials),
                     "--show-links", "0")
        stack.start_gunicorn()
        if proxy:
            stack.start_nginx()
    except BaseException:
        stack.stop()
        raise
    return stack
