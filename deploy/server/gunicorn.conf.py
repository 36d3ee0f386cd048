"""Gunicorn settings for the Smiletap server: `gunicorn -c deploy/server/gunicorn.conf.py`.

Every value can be overridden from the environment (GUNICORN_*) or the command line. Run
`smiletap-server migrate` before starting, and put nginx in front (see PROXY_FIX_X_FOR).
"""

import multiprocessing
import os
import shutil
import tempfile

wsgi_app = "server.wsgi:app"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Each worker listens on a socket of its own (SO_REUSEPORT) and the kernel spreads new
# connections over them. On one shared socket whichever worker woke first accepted, and a
# burst of connections (nginx's upstream keep-alive ones, a bench's) could all land on one
# worker and stay there while the others idled: bench/fleet.py's wrk found all 16 of its
# connections on one of two workers in 3 runs of 9, and the figures swung with it. A TCP
# address only: workers each binding one Unix socket path would remove each other's, and
# sockets systemd hands over are shared anyway (`on_starting`). The cost: a worker that
# stops drops the connections still queued on its socket (a restart or HUP: a kiosk sends
# again later).
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "true").lower() == "true"
workers = int(os.environ.get("GUNICORN_WORKERS", min(2 * multiprocessing.cpu_count() + 1, 8)))
# Threads let a worker answer while another request waits on the SQLite write lock.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# Each worker opens its own database engine after the fork: a pool must never be shared.
preload_app = False
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
# Idle keep-alive connections stay open longer than nginx keeps its idle upstream ones
# (keepalive_timeout 5s in nginx-smiletap.conf), so only nginx ever closes an idle one.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 10))
# Bodies are limited by the app (5 MiB, 413); headers stay at gunicorn's defaults.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
# gunicorn's default line, then the time taken and the request id the app returned
# (X-Request-Id), which the app's own log lines of that request carry too.
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)sus %({x-request-id}o)s'
)
errorlog = os.environ.get("GUNICORN_ERRORLOG", "-")
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# Behind nginx on the same host; nginx sets X-Forwarded-For (see SMILETAP_PROXY_FIX_X_FOR).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus metrics (SMILETAP_METRICS): prometheus_client's multiprocess mode keeps each
# worker's counters in files in this folder and sums them at a scrape, whichever worker
# answers. It must be set before a worker imports the app; it is emptied at every start, so
# figures from a previous run never add up. The systemd unit points it into /run.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="smiletap-prometheus-")


def on_starting(server):
    if server.cfg.reuse_port and (
        os.environ.get("LISTEN_FDS")
        or not all(isinstance(address, tuple) for address in server.cfg.address)
    ):
        server.cfg.set("reuse_port", False)
    folder = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder, mode=0o700, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
