"""The archive format: post bodies, front matter, file names and atomic writes."""
