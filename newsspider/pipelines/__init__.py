"""Item pipelines, in ``ITEM_PIPELINES`` order:

1. ``normalize.NormalizePipeline``: a fetched page in, the article's archive item out (its front
   matter, body and post bytes, made in one worker-process call); drops pages that give no post.
2. ``archive.ArchiveWriterPipeline``: writes the post atomically and records it in the index.
"""
