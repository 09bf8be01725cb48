"""The production configuration of the reverse proxy, in one function that the site's
``deploy_config`` command, the production check and the load benchmark all call.

nginx sits in front of gunicorn. It serves the hashed static files and, above all, the stimuli:
Python then answers only the pages and the votes, one request in three when a browser fetches
the two images of every trial. Two ways keep the blinding intact:

- ``files`` (the default): nginx answers ``/img/<token>.png`` from the token-named file itself.
  A stimulus is reachable by anyone holding its 128-bit token and by nothing else, which is
  exactly what the application's own view checks, so nothing is lost by skipping it.
- ``accel``: the request still goes to the application, which looks the token up and answers
  with an ``X-Accel-Redirect`` to an ``internal`` location; nginx sends the file. Use it when a
  stimulus must stay behind a check that the application adds later.

Either way a stimulus leaves with ``Cache-Control: no-store``, no ``ETag`` and no
``Last-Modified`` (a validator would tell files, and so systems, apart by their dates), and
the same headers whichever system made it.

>>> site = Site(static_root=Path("/srv/s"), media_root=Path("/srv/m"), log_dir=Path("/var/log/c"),
...             certificate=Path("/etc/c.pem"), certificate_key=Path("/etc/c.key"))
>>> text = nginx_site(site)
>>> "alias /srv/m/stimuli/$1.png;" in text and "return 301 https://" in text
True
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

STIMULI_MODES = ("files", "accel")
ACCEL_PREFIX = "/_stimuli/"  # the internal location of X-Accel-Redirect; never reachable from outside
TOKEN_PATTERN = "[A-Za-z0-9_-]{8,32}"  # the URL converter's pattern (colorstudy.urls.TokenConverter)


@dataclass(frozen=True)
class Site:
    """What differs between deployments; the rest of the proxy's configuration is fixed."""

    static_root: Path  # STATIC_ROOT, after collectstatic
    media_root: Path  # MEDIA_ROOT (COLORSTUDY_DATA/media): stimuli/<token>.png
    log_dir: Path  # nginx-access.log, nginx-error.log
    server_name: str = "_"  # the host name(s) of the site; "_" answers any
    upstream: str = "127.0.0.1:8000"  # gunicorn's bind address
    stimuli: str = "files"  # "files" or "accel", see the module's docstring
    http_port: int = 80
    https_port: int = 443
    certificate: Path | None = None  # PEM chain; without one the site is plain HTTP only (testing)
    certificate_key: Path | None = None
    redirect_http: bool = True  # with a certificate, plain HTTP only redirects to HTTPS

    def __post_init__(self) -> None:
        if self.stimuli not in STIMULI_MODES:
            raise ValueError(f"stimuli must be one of {', '.join(STIMULI_MODES)}, not {self.stimuli!r}")
        if (self.certificate is None) != (self.certificate_key is None):
            raise ValueError("give both certificate and certificate_key, or neither")


# The headers of every stimulus, whoever sends it: the same set as the application's view.
_STIMULUS_HEADERS = """\
        types { }
        default_type image/png;
        etag off;
        if_modified_since off;
        add_header Last-Modified "";
        add_header Cache-Control "no-store" always;
        add_header X-Content-Type-Options "nosniff" always;
        add_header Referrer-Policy "same-origin" always;
        add_header Cross-Origin-Resource-Policy "same-origin" always;"""


def _locations(site: Site) -> str:
    if site.stimuli == "files":
        stimuli = f"""\
    # Stimuli straight from their token-named files: the token is the only key, as in the application.
    location ~ "^/img/({TOKEN_PATTERN})\\.png$" {{
        alias {site.media_root}/stimuli/$1.png;
        log_not_found off;
{_STIMULUS_HEADERS}
    }}"""
    else:
        stimuli = f"""\
    # The application checks the token and answers X-Accel-Redirect: {ACCEL_PREFIX}stimuli/<token>.png.
    location {ACCEL_PREFIX} {{
        internal;
        alias {site.media_root}/;
{_STIMULUS_HEADERS}
    }}"""
    return f"""\
    client_max_body_size 1m;
    access_log {site.log_dir}/nginx-access.log colorstudy;
    error_log {site.log_dir}/nginx-error.log warn;

    # collectstatic's hashed names never change content: cache them for good.
    location /static/ {{
        alias {site.static_root}/;
        expires max;
        add_header Cache-Control "public, immutable";
        add_header X-Content-Type-Options "nosniff" always;
    }}

    # Uploaded files are never served as such: stimuli go through /img/ only.
    location /media/ {{
        return 404;
    }}

{stimuli}

    location / {{
        proxy_pass http://colorstudy;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $http_host;  # with the port, as the browser's Origin has it (CSRF check)
        # Replaced, not appended: the application trusts exactly one hop (TRUSTED_PROXY_COUNT=1).
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_redirect off;
        proxy_read_timeout 60s;
    }}"""


def nginx_site(site: Site) -> str:
    """The nginx ``server`` configuration of the study site (for ``/etc/nginx/sites-enabled/``)."""
    parts = [f"""\
# colorstudy behind nginx; written by `manage.py deploy_config` (colorstudy/deployment.py).

# The one access log of the site (gunicorn keeps none behind nginx). The path without its query
# string, so that panel ids (?PROLIFIC_PID=...) never reach a log file; the upstream's address
# and seconds are "-" for what nginx answered itself (static files, stimuli from their files).
map $request_uri $colorstudy_path {{
    ~^([^?]*) $1;
}}
log_format colorstudy '$remote_addr [$time_local] "$request_method $colorstudy_path" $status $body_bytes_sent '
                      '$request_time upstream $upstream_addr $upstream_response_time';

upstream colorstudy {{
    server {site.upstream} fail_timeout=0;
    keepalive 16;
}}
"""]
    locations = _locations(site)
    tls = site.certificate is not None
    if tls:
        parts.append(f"""\
server {{
    listen {site.https_port} ssl http2;
    server_name {site.server_name};
    server_tokens off;
    ssl_certificate {site.certificate};
    ssl_certificate_key {site.certificate_key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers off;
    ssl_session_cache shared:colorstudy:10m;
    ssl_session_timeout 1d;
{locations}
}}
""")
    if tls and site.redirect_http:
        parts.append(f"""\
server {{
    listen {site.http_port};
    server_name {site.server_name};
    server_tokens off;
    return 301 https://$host$request_uri;
}}
""")
    else:
        parts.append(f"""\
server {{
    listen {site.http_port};
    server_name {site.server_name};
    server_tokens off;
{locations}
}}
""")
    return "\n".join(parts)


def nginx_main(site: Site, prefix: Path, worker_processes: int | str = "auto") -> str:
    """A whole ``nginx.conf`` around :func:`nginx_site`, for running nginx outside /etc (the
    production check and the load benchmark start it with ``nginx -p PREFIX -c nginx.conf``)."""
    return f"""\
worker_processes {worker_processes};
pid {prefix}/nginx.pid;
error_log {site.log_dir}/nginx-error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{nginx_site(site)}
}}
"""
