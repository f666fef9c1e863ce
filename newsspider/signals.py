"""newsspider's own Scrapy signals (``crawler.signals.connect(handler, signal=…)``)."""

page_extracted = object()
"""Sent by the normalization pipeline for every article page extraction read, whether it gave
a post or not. Arguments: ``url``, ``template`` (the page template that read it) and ``found``
(the fields it gave, of ``title``, ``date``, ``source``, ``body``, and ``headimg`` when its body
has a picture)."""
