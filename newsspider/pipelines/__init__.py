"""Item pipelines, one concern each, in ``ITEM_PIPELINES`` order:

1. ``normalize.NormalizePipeline``: title, date, categories, author
   (drops ``no_title``, ``no_date``).
2. ``body.BodyPipeline``: the post body in the ``ARCHIVE_BODY`` mode (drops ``no_body``).
3. ``archive.ArchiveWriterPipeline``: renders the post and writes it atomically.
"""
