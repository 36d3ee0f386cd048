"""The kiosk's Kivy screens and widgets: layout in `.kv`, logic in the `.py` beside it.

`kiosk.ui.kv.load_kv` loads the kv files; `kiosk.ui.words` holds the msgids the screens and
the controller show.
"""
