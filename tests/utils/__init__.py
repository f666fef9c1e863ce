"""Helpers shared by the test modules (fixtures stay in ``tests/conftest.py``).

- :mod:`utils.content`: golden pairs, synthetic articles, roll pages (also the benchmark's);
- :mod:`utils.mocksina`: the mock Sina server;
- :mod:`utils.crawl`: ``scrapy crawl`` and other ``scrapy`` commands as subprocesses (e2e only);
- :mod:`utils.archive`: reading an archive, building index rows;
- :mod:`utils.steps`: newsspider's async steps and callbacks run without a crawl;
- :mod:`utils.redis_server`, :mod:`utils.scrapyd`, :mod:`utils.hexo_site`: real servers and a
  real Hexo site for the e2e tests.
"""
