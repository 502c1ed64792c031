"""The IPS action grammar. ``GRAMMAR_PATH`` is the one way to find it, so an
installed wheel finds it as a checkout does."""

from pathlib import Path

GRAMMAR_PATH = Path(__file__).with_name("manifest.lark")
