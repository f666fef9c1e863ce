"""Crawl-wide extensions."""
