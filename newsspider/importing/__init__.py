"""Importing archives the older RSS-based pipeline wrote: folders of posts and the git history
of a Hexo site (``scrapy archive_import``).

* :mod:`~newsspider.importing.legacy`: one legacy post read, repaired, identified, normalized
  (pure functions of bytes and plain values);
* :mod:`~newsspider.importing.sources`: the post versions a folder or a git repository holds;
* :mod:`~newsspider.importing.importer`: those versions grouped into articles and written into
  the archive through its store, with the ledger of what was imported.

Nothing here imports spiders, pipelines or extensions; the command
(:mod:`newsspider.commands.archive_import`) is its only Scrapy face.
"""
