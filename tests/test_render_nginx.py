"""ops/render_nginx.py: the one documented step from ops/nginx.conf (compose's file) to the
config a host, CI or tests/test_nginx.py runs. Run as operators run it, from the command line."""

from __future__ import annotations

import difflib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_CONF = ROOT / "ops" / "nginx.conf"
MACHINE_SPECIFIC = re.compile(r"server app:8000|listen (80|443) |/etc/nginx/certs/|/var/log/nginx/")


def render(out: Path, *args: str, conf: Path = SITE_CONF) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            *(sys.executable, str(ROOT / "ops" / "render_nginx.py"), "--out", str(out)),
            *("--certs-dir", str(out / "certs"), "--conf", str(conf), *args),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_the_rendered_site_differs_from_the_file_only_in_machine_specific_lines(tmp_path):
    result = render(
        tmp_path,
        *("--upstream", "127.0.0.1:5001", "--upstream", "127.0.0.1:5002"),
        *("--http-listen", "127.0.0.1:8080", "--https-listen", "127.0.0.1:8443"),
    )

    assert result.returncode == 0, result.stderr
    assert Path(result.stdout.strip()) == tmp_path / "nginx.conf"
    original = SITE_CONF.read_text().splitlines()
    rendered = (tmp_path / "conduit.conf").read_text().splitlines()
    removed = [line[1:] for line in difflib.ndiff(original, rendered) if line.startswith("- ")]
    assert removed and all(MACHINE_SPECIFIC.search(line) for line in removed), removed
    site = "\n".join(rendered)
    assert not MACHINE_SPECIFIC.search(site)
    assert "    server 127.0.0.1:5001 max_fails=0;\n    server 127.0.0.1:5002 max_fails=0;" in site
    assert "listen 127.0.0.1:8443 ssl default_server;" in site
    assert f"ssl_certificate {tmp_path}/certs/fullchain.pem;" in site


def test_the_main_file_keeps_pid_logs_and_temp_files_in_the_output_directory(tmp_path):
    render(tmp_path, "--upstream", "127.0.0.1:5001")

    main = (tmp_path / "nginx.conf").read_text()

    assert f"pid {tmp_path}/nginx.pid;" in main
    assert f"include {tmp_path}/conduit.conf;" in main
    assert all(path.startswith(str(tmp_path)) for path in re.findall(r"_temp_path (\S+);", main))


def test_an_upstream_may_add_parameters_after_the_files_own(tmp_path):
    render(tmp_path, "--upstream", "127.0.0.1:5001", "--upstream", "127.0.0.1:5002 backup")

    site = (tmp_path / "conduit.conf").read_text()

    assert "    server 127.0.0.1:5002 max_fails=0 backup;\n" in site


def test_a_file_that_lost_a_replaced_directive_is_refused_by_name(tmp_path):
    drifted = tmp_path / "drifted.conf"
    drifted.write_text(SITE_CONF.read_text().replace("listen 443 ssl", "listen 8443 ssl"))

    result = render(
        tmp_path, "--upstream", "127.0.0.1:5001", "--https-listen", "127.0.0.1:1", conf=drifted
    )

    assert result.returncode == 2
    assert result.stderr == "render_nginx: no 'listen 443 ssl' found in the site config\n"
    assert not (tmp_path / "conduit.conf").exists()
