"""Sina-specific knowledge: roll API, channels, page templates, mirror URLs.

Everything here is pure: functions take strings or parsel selectors and return typed values.
Nothing in this package touches the Scrapy engine.
"""
