"""Spiders. They route requests and responses; extraction lives in ``newsspider.sina``."""
