"""gunicorn's settings for the study site: `gunicorn -c deploy/gunicorn.conf.py colorstudy.wsgi`.

Everything a deployment changes comes from the environment, as the site's own settings do:
GUNICORN_BIND (127.0.0.1:8000, behind nginx), GUNICORN_WORKERS (2 per core, plus one),
LOG_DIR (gunicorn-error.log there; standard error without it), GUNICORN_ACCESS_LOG (0: behind
nginx, whose access log has every request, with the upstream's time; 1: gunicorn-access.log too,
for a site without a proxy).
"""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1))
# Sync workers: nginx buffers slow clients, so a worker is never held by a participant's network.
worker_class = "sync"
timeout = 30
graceful_timeout = 20
# A worker is replaced now and then, so that a slow leak can never take the site down.
max_requests = 5000
max_requests_jitter = 500
# The worker heartbeat file on memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
forwarded_allow_ips = "127.0.0.1"
_logs = os.environ.get("LOG_DIR")
# Off by default: formatting a line costs 0.4 ms of the worker's CPU per vote (measured, bench/README),
# and nginx logs the same requests.
accesslog = None
if os.environ.get("GUNICORN_ACCESS_LOG", "0") == "1":
    accesslog = os.path.join(_logs, "gunicorn-access.log") if _logs else "-"
errorlog = os.path.join(_logs, "gunicorn-error.log") if _logs else "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "warning")
# The request line without the query string: panel ids (PROLIFIC_PID=...) stay out of the access log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def post_worker_init(worker) -> None:
    """Before the worker takes a request: what its first participants would otherwise wait for."""
    from colorstudy.warmup import warm_up

    warm_up()
