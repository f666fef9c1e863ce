"""Scrapy settings for newsspider. Every value here can be overridden with ``-s NAME=VALUE``."""

BOT_NAME = "newsspider"
SPIDER_MODULES = ["newsspider.spiders", "newsspider.distributed.writer"]
NEWSPIDER_MODULE = "newsspider.spiders"
COMMANDS_MODULE = "newsspider.commands"

# Every newsspider setting has its one default here; newsspider/config.py parses them (README,
# "Settings", says what each means). Each area has its prefix: ARCHIVE_, SINA_, RUN_, REPORT_,
# WORKER_ and, for the distributed mode, DISTRIBUTED_.

# --- Archive -----------------------------------------------------------------------------------
ARCHIVE_DIR = "output"  # the archive root; posts go to ARCHIVE_DIR/金融/新浪财经/<channel>/
ARCHIVE_BODY = "clean"  # clean | verbatim (byte for byte what the older pipeline wrote)
ARCHIVE_AUTHOR = "site"  # site (新浪财经) | source (the article's own source)
ARCHIVE_FSYNC = True  # fsync each post before its rename, its folder before the index commit
ARCHIVE_LOCK_WAIT = 0  # seconds to wait for another run's archive lock; 0: stop at once
ARCHIVE_INDEX_BATCH = 100  # index rows per SQLite transaction ...
ARCHIVE_INDEX_BATCH_SECONDS = 2.0  # ... or seconds, whichever comes first
ARCHIVE_WRITES = True  # this process writes the archive and takes its lock (add-ons may say not)
# What the spiders ask about what is archived: the crawl's own index (the distributed add-on
# puts the index its writer publishes in its place).
ARCHIVE_KNOWLEDGE = "newsspider.extensions.archive.CrawlArchive"
# Pictures of the posts (README, "Pictures"): off | save (download every picture, posts
# untouched) | local (save, and clean posts show the stored pictures from ARCHIVE_IMAGES_URL).
ARCHIVE_IMAGES = "off"
# Where pictures go; relative to ARCHIVE_DIR. With ARCHIVE_DIR = <hexo>/source/_posts that is
# <hexo>/source/images, which Hexo publishes as /images/.
ARCHIVE_IMAGES_DIR = "../images"
ARCHIVE_IMAGES_URL = "/images/"  # the URL prefix under which the site serves ARCHIVE_IMAGES_DIR
ARCHIVE_IMAGES_MAXSIZE = 10 * 1024 * 1024  # bytes; a larger picture is refused
# The only hosts pictures are fetched from: Sina's image CDNs and WeChat's, which posts embed.
ARCHIVE_IMAGES_HOSTS = ["*.sinaimg.cn", "mmbiz.qpic.cn"]
# Picture requests follow redirects, to picture URLs of ARCHIVE_IMAGES_HOSTS only
# (newsspider/redirects.py); Scrapy's media pipelines do not follow them by default.
MEDIA_ALLOW_REDIRECTS = True

# --- Worker processes ----------------------------------------------------------------------------
WORKER_PROCESSES = "auto"  # processes that parse pages, render bodies, write posts (0: none)
WORKER_TASK_TIMEOUT = 60  # seconds a worker may spend on one task before it is killed (0: no limit)

# --- The run: progress lines, what fails it, what it checks first -------------------------------
RUN_PROGRESS_ENABLED = True  # progress lines and the summary line
RUN_PROGRESS_INTERVAL = 60  # seconds between progress lines (0: none); a summary line at the end
RUN_MAX_ERRORS = 50  # more failed requests than this ...
RUN_MAX_ERROR_RATIO = 0.5  # ... or this share of all requests: the run fails (exit 1)
# RUN_MAX_ERROR_RATIO = 1 with a large RUN_MAX_ERRORS switches the threshold off.
RUN_MAX_FALLBACK_RATIO = 0.2  # more pages than this share on meta/generic: the run fails (exit 1)
RUN_FALLBACK_MIN_PAGES = 10  # ... once the run read at least this many pages
RUN_PREFLIGHT: list[str] = []  # checks (import paths) a run must pass before it starts

# --- The run report ------------------------------------------------------------------------------
REPORT_ENABLED = True  # a JSON report of each run ...
REPORT_DIR = ""  # ... in this folder; empty means ARCHIVE_DIR/.newsspider/runs
REPORT_KEEP = 100  # reports kept in REPORT_DIR, the newest; 0 keeps every one

# --- Sina ----------------------------------------------------------------------------------------
SINA_MIRROR = ""  # e.g. http://127.0.0.1:8000: fetch https://HOST/PATH from MIRROR/HOST/PATH
# The download handler that fetches for newsspider's (which only lets Sina's hosts through).
SINA_MIRROR_INNER_HANDLER = "scrapy.core.downloader.handlers.http11.HTTP11DownloadHandler"
SINA_REACHABILITY_ENABLED = True
SINA_CATCHUP_PAGES = 20  # without -a pages/since: read at most this many pages to catch up

ITEM_PIPELINES = {
    "newsspider.pipelines.normalize.NormalizePipeline": 100,
    # ARCHIVE_IMAGES=local: before the writer, since the post shows the pictures stored.
    "newsspider.pipelines.images.LocalPicturePipeline": 700,
    "newsspider.pipelines.archive.ArchiveWriterPipeline": 800,
    # ARCHIVE_IMAGES=save: after the writer, so a post is archived whatever becomes of its
    # pictures.
    "newsspider.pipelines.images.PicturePipeline": 900,
}
EXTENSIONS = {
    "newsspider.extensions.outcomes.ArticleOutcomes": 400,
    "newsspider.extensions.archive.CrawlArchive": 410,
    "newsspider.workers.WorkerPool": 420,
    "newsspider.extensions.reachability.SinaReachability": 500,
    "newsspider.extensions.health.ErrorThreshold": 510,
    "newsspider.extensions.drift.ExtractionDrift": 520,
    "newsspider.extensions.progress.Progress": 800,
    "newsspider.extensions.report.RunReport": 900,
}
DOWNLOADER_MIDDLEWARES = {
    # Redirects that stay on Sina and never loop silently (newsspider/redirects.py).
    "scrapy.downloadermiddlewares.redirect.RedirectMiddleware": None,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "newsspider.redirects.SinaRedirectMiddleware": 600,
    "newsspider.redirects.SinaMetaRefreshMiddleware": 580,
}
DOWNLOAD_HANDLERS = {
    "http": "newsspider.mirror.MirrorDownloadHandler",
    "https": "newsspider.mirror.MirrorDownloadHandler",
}
ADDONS = {
    # First: gives deprecated setting names' values to their new names, and holds the crawl's
    # configuration once every add-on has had its say.
    "newsspider.config.ConfigAddon": 0,
    "newsspider.addons.PolitenessAddon": 100,
    "newsspider.distributed.addon.DistributedAddon": 200,
}

# --- Distributed mode (scrapy-redis); off unless DISTRIBUTED_ENABLED is set ------------------
DISTRIBUTED_ENABLED = False  # workers share a Redis queue; one sina_writer writes
REDIS_URL = ""  # scrapy-redis's setting: the Redis they share; needed when distributed
DISTRIBUTED_REDIS_PREFIX = "newsspider"  # Redis keys of this archive's crawls
DISTRIBUTED_WRITER_WAIT = 60  # seconds a worker waits for the writer to be up
DISTRIBUTED_WRITER_IDLE = 60  # seconds the writer waits for a run to begin
DISTRIBUTED_HEARTBEAT = 1  # seconds between a worker's heartbeats ...
DISTRIBUTED_WORKER_TIMEOUT = 5  # ... and how long a silent worker counts as alive
DISTRIBUTED_ROLE = "worker"  # worker | writer (the sina_writer spider sets it for itself)
LOG_FORMATTER = "newsspider.logformatter.NewsLogFormatter"

# --- Politeness (real Sina hosts) ---------------------------------------------------------
ROBOTSTXT_OBEY = True
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
DEFAULT_REQUEST_HEADERS = {
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5",
    "Referer": "https://finance.sina.com.cn/",
}
CONCURRENT_REQUESTS = 16
# Items per response processed in parallel. A page yields one article and a roll page none, and
# Scrapy starts this many tasks for every response: its default, 100, costs about as much CPU as
# the rest of fetching a page.
CONCURRENT_ITEMS = 4
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
# AutoThrottle is switched on for real hosts by PolitenessAddon (off against SINA_MIRROR).
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
RETRY_TIMES = 2
# A request that fails after its retries is logged once, by the spider, with its reason.
RETRY_GIVE_UP_LOG_LEVEL = "DEBUG"

TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
