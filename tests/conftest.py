"""Test-wide set-up that must happen before any test module imports Kivy."""

import os
import tempfile

# Kivy reads these at first import: keep it off ~/.kivy, off pytest's argv and quiet.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="smiletap-kivy-home-"))
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")

# Argon2 at its full cost takes ~0.2 s and 64 MiB a hash, and the dashboard tests make and check
# hundreds: every server the tests start (in-process, CLI, subprocess) hashes cheaply instead.
# tests/server/test_passwords.py checks the full cost is the default.
os.environ.setdefault("SMILETAP_PASSWORD_HASH_MEMORY_KIB", "64")
