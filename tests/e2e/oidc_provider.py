"""A real OpenID provider for the single sign-on tests: the npm `oidc-provider` package,
run by Node.js from tests/e2e/oidc (installed there with `npm ci` on first use)."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from harness import HarnessError, free_port

FOLDER = Path(__file__).resolve().parent / "oidc"


def install() -> None:
    """`npm ci` in tests/e2e/oidc unless its node_modules is there (deploy/dev/install.sh
    runs it too; this keeps a fresh checkout's first test run working)."""
    if (FOLDER / "node_modules" / "oidc-provider").is_dir():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise HarnessError("Node.js and npm are needed: run deploy/dev/install.sh")
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--silent"], cwd=FOLDER, check=True, timeout=300
    )


class OidcProvider:
    """`node provider.js` on a free loopback port, with one client registered."""

    def __init__(self, redirect_uri: str, post_logout_uri: str, log_path: Path) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = "smiletap"
        self.client_secret = "test-only-client-secret-0123456789"
        self.redirect_uri = redirect_uri
        self.post_logout_uri = post_logout_uri
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> OidcProvider:
        install()
        args = [self.client_id, self.client_secret, self.redirect_uri, self.post_logout_uri]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                ["node", "provider.js", str(self.port), *args],
                cwd=FOLDER,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        discovery = self.issuer + "/.well-known/openid-configuration"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"provider exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(discovery, timeout=1):
                    return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise HarnessError("the OpenID provider did not answer within 30 s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
