"""Write the nginx site configuration for this deployment (paths from the site's own settings)."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from colorstudy.deployment import STIMULI_MODES, Site, nginx_site


class Command(BaseCommand):
    help = ("Write nginx's configuration of the study site: static files and stimuli served by nginx, "
            "the rest proxied to gunicorn, HTTPS with the given certificate.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--server-name", default="_", help="the site's host name, e.g. study.example.org")
        parser.add_argument("--upstream", default="127.0.0.1:8000", help="gunicorn's bind address (GUNICORN_BIND)")
        parser.add_argument("--stimuli", choices=STIMULI_MODES, default="files",
                            help="files: nginx serves the token-named stimuli itself; accel: the site checks each "
                                 "request and nginx sends the file (set X_ACCEL_REDIRECT=1)")
        parser.add_argument("--certificate", help="TLS certificate chain (PEM), e.g. /etc/letsencrypt/live/HOST/fullchain.pem")
        parser.add_argument("--certificate-key", help="its private key, e.g. /etc/letsencrypt/live/HOST/privkey.pem")
        parser.add_argument("--log-dir", default="/var/log/colorstudy")
        parser.add_argument("--output", help="file to write (default: standard output), e.g. /etc/nginx/sites-enabled/colorstudy")

    def handle(self, *args, **options) -> None:
        try:
            site = Site(static_root=Path(settings.STATIC_ROOT), media_root=Path(settings.MEDIA_ROOT),
                        log_dir=Path(options["log_dir"]), server_name=options["server_name"],
                        upstream=options["upstream"], stimuli=options["stimuli"],
                        certificate=Path(options["certificate"]) if options["certificate"] else None,
                        certificate_key=Path(options["certificate_key"]) if options["certificate_key"] else None)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if site.stimuli == "accel" and not settings.X_ACCEL_REDIRECT:
            self.stderr.write("note: set X_ACCEL_REDIRECT=1 in the site's environment for --stimuli accel")
        text = nginx_site(site)
        if not options["output"]:
            self.stdout.write(text)
            return
        try:
            Path(options["output"]).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot write {options['output']}: {exc.strerror}") from None
        self.stderr.write(f"nginx configuration written to {options['output']}; check it with: nginx -t")
