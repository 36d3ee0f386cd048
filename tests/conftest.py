"""Test-wide set-up that must happen before any test module imports Kivy."""

import os
import tempfile

# Kivy reads these at first import: keep it off ~/.kivy, off pytest's argv and quiet.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="smiletap-kivy-home-"))
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
