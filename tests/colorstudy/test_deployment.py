"""The shipped production configuration: nginx's site, the X-Accel-Redirect answer, the units."""
from __future__ import annotations

import configparser
import io
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.test import Client

from colorstudy.deployment import Site, nginx_main, nginx_site
from colorstudy.models import Stimulus

from ..conftest import ROOT
from .helpers import make_study


def site(tmp_path: Path, **kwargs) -> Site:
    return Site(static_root=tmp_path / "static", media_root=tmp_path / "media", log_dir=tmp_path, **kwargs)


def test_an_unknown_stimulus_mode_or_half_a_certificate_is_refused_by_name(tmp_path):
    with pytest.raises(ValueError, match="stimuli must be one of files, accel, not 'nginx'"):
        site(tmp_path, stimuli="nginx")
    with pytest.raises(ValueError, match="give both certificate and certificate_key"):
        site(tmp_path, certificate=tmp_path / "c.pem")


def test_with_a_certificate_plain_http_only_redirects_and_the_stimuli_lose_their_validators(tmp_path):
    text = nginx_site(site(tmp_path, certificate=tmp_path / "c.pem", certificate_key=tmp_path / "c.key"))
    plain = text.split("listen 80;")[1]
    assert "return 301 https://$host$request_uri;" in plain and "proxy_pass" not in plain
    assert "listen 443 ssl http2;" in text and "ssl_protocols TLSv1.2 TLSv1.3;" in text
    stimuli = text.split('location ~ "^/img/')[1].split("\n    }")[0]
    for line in ("etag off;", 'add_header Last-Modified "";', 'add_header Cache-Control "no-store" always;'):
        assert line in stimuli


@pytest.mark.skipif(shutil.which("nginx") is None, reason="needs Debian's nginx (make test installs it as root)")
@pytest.mark.parametrize("stimuli", ["files", "accel"])
def test_nginx_itself_accepts_the_configuration(tmp_path, stimuli):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=t",
                    "-keyout", str(tmp_path / "c.key"), "-out", str(tmp_path / "c.pem")], check=True, capture_output=True)
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_main(site(tmp_path, stimuli=stimuli, http_port=18080, https_port=18443,
                                    certificate=tmp_path / "c.pem", certificate_key=tmp_path / "c.key"), tmp_path))
    checked = subprocess.run(["nginx", "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr


def test_deploy_config_writes_the_site_and_names_a_missing_key(tmp_path, settings):
    settings.X_ACCEL_REDIRECT = False
    target = tmp_path / "colorstudy.conf"
    err = io.StringIO()
    call_command("deploy_config", "--stimuli", "accel", "--server-name", "study.example.org", "--output", str(target),
                 stderr=err)
    text = target.read_text()
    assert "server_name study.example.org;" in text and "internal;" in text and f"alias {settings.MEDIA_ROOT}/;" in text
    assert "set X_ACCEL_REDIRECT=1" in err.getvalue()
    with pytest.raises(CommandError, match="give both certificate and certificate_key"):
        call_command("deploy_config", "--certificate", "/etc/c.pem")


@pytest.mark.django_db
def test_in_accel_mode_the_site_checks_the_token_and_hands_the_file_to_nginx(system_folders, settings):
    settings.X_ACCEL_REDIRECT = True
    study = make_study(system_folders, participants=1, trials=2)
    stim = Stimulus.objects.filter(system__study=study).first()
    response = Client().get(f"/img/{stim.token}.png")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/_stimuli/stimuli/{stim.token}.png"
    assert Client().get("/img/AAAAAAAAAAAAAAAAAAAAAA.png").status_code == 404  # an unknown token goes no further


def _exec_lines(unit: Path) -> list[list[str]]:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(unit)
    service = parser["Service"]
    lines = [service.get(key) for key in ("ExecStart", "ExecStartPre") if key in service]
    return [shlex.split(line.splitlines()[-1]) for line in lines]


@pytest.mark.parametrize("unit", ["colorstudy.service", "colorstudy-backup.service"])
def test_the_systemd_units_run_commands_that_exist(unit):
    commands = get_commands()
    for argv in _exec_lines(ROOT / "deploy" / unit):
        assert argv[0].startswith("/srv/colorstudy/app/.venv/bin/python")
        if argv[1] == "manage.py":
            assert argv[2] in commands, f"{unit}: no manage.py {argv[2]}"
        else:  # gunicorn with the shipped configuration file
            assert argv[1:3] == ["-m", "gunicorn"] and (ROOT / argv[argv.index("-c") + 1]).exists()
    timer = (ROOT / "deploy" / "colorstudy-backup.timer").read_text()
    assert "OnCalendar=" in timer
