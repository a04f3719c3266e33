"""Static files (HTML/JS/CSS) of the emulator playground page, served at ``/``."""
