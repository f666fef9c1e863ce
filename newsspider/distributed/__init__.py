"""Distributed crawling on scrapy-redis (``DISTRIBUTED_ENABLED = True`` and ``REDIS_URL``).

Workers share, through one Redis:

* the request queue and the seen-request set (scrapy-redis's scheduler and dupefilter), so
  each roll page and each article is requested once across all workers; a request a worker
  took stays in Redis until its work is done (:mod:`.inflight`), so a killed worker's requests
  are done by the others;
* the run itself (:mod:`.coordinator`): one worker seeds the roll, the others join; a worker
  stays up while the queue holds requests or another worker is busy; a run that ends with
  work not done fails, saying how much;
* the knowledge of what is archived (:mod:`.knowledge`), published by the writer.

Workers never write the archive. They push finished items to a Redis list, and one writer
process (``scrapy crawl sina_writer``) writes them with the same pipelines a single-process
crawl uses, so the archive and its SQLite index stay byte for byte what one process writes.
Nothing here is imported unless the distributed mode is on.
"""
