"""Item pipelines, in ``ITEM_PIPELINES`` order:

1. ``normalize.NormalizePipeline``: a fetched page in, the article's archive item out (its front
   matter, body and post bytes, made in one worker-process call); drops pages that give no post.
2. ``images.LocalPicturePipeline`` (``ARCHIVE_IMAGES=local``): stores the post's pictures and
   points the post at the stored ones.
3. ``archive.ArchiveWriterPipeline``: writes the post atomically and records it in the index.
4. ``images.PicturePipeline`` (``ARCHIVE_IMAGES=save``): stores the post's pictures.
"""
