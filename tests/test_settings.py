"""Project settings: politeness for the real Sina hosts, none for a mirror; every setting
validated at start."""

import re
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from newsspider.addons import PolitenessAddon
from newsspider.config import ConfigAddon, ConfigError, known_settings, validate_settings
from newsspider.distributed.addon import DistributedAddon
from newsspider.extensions.health import ErrorThreshold
from newsspider.extensions.reachability import FAILED_STAT

from utils.crawl import REPO, scrapy_as_installed
from utils.settings import PROJECT


def project_settings() -> Settings:
    return Settings(get_project_settings().copy_to_dict(), priority="project")


def applied(**cmdline):
    settings = project_settings()
    for name, value in cmdline.items():
        settings.set(name, value, priority="cmdline")
    assert list(settings.getdict("ADDONS")) == [
        "newsspider.config.ConfigAddon",
        "newsspider.addons.PolitenessAddon",
        "newsspider.distributed.addon.DistributedAddon",
    ]
    ConfigAddon().update_settings(settings)
    PolitenessAddon().update_settings(settings)
    DistributedAddon().update_settings(settings)
    return settings


def test_real_hosts_get_autothrottle_robots_and_a_browser_identity():
    settings = applied()
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is True
    assert settings.getbool("ROBOTSTXT_OBEY") is True
    assert settings.getfloat("DOWNLOAD_DELAY") > 0
    assert settings["USER_AGENT"].startswith("Mozilla/5.0")
    assert settings.getdict("DEFAULT_REQUEST_HEADERS")["Referer"] == "https://finance.sina.com.cn/"


def test_a_mirror_is_not_throttled():
    settings = applied(SINA_MIRROR="http://127.0.0.1:8000")
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is False
    assert settings.getfloat("DOWNLOAD_DELAY") == 0
    assert settings.getbool("ROBOTSTXT_OBEY") is True


@pytest.mark.parametrize("mirror", ["", "http://127.0.0.1:8000"])
def test_command_line_values_win(mirror):
    settings = applied(SINA_MIRROR=mirror, AUTOTHROTTLE_ENABLED=bool(mirror), DOWNLOAD_DELAY=3)
    assert settings.getbool("AUTOTHROTTLE_ENABLED") is bool(mirror)
    assert settings.getfloat("DOWNLOAD_DELAY") == 3


def test_distributed_mode_is_off_by_default():
    settings = applied()
    assert "redis" not in str(settings.get("SCHEDULER")).lower()
    assert "newsspider.pipelines.archive.ArchiveWriterPipeline" in settings.getdict(
        "ITEM_PIPELINES"
    )


def test_distributed_workers_share_the_queue_and_push_items():
    settings = applied(DISTRIBUTED_ENABLED=True, REDIS_URL="redis://127.0.0.1:1/0")
    assert settings["SCHEDULER"] == "newsspider.distributed.scheduler.RedisScheduler"
    assert settings["DUPEFILTER_CLASS"] == "newsspider.distributed.scheduler.RedisDupeFilter"
    assert settings.getbool("SCHEDULER_PERSIST") is True
    assert settings["SCHEDULER_QUEUE_KEY"] == "newsspider:requests"
    assert list(settings.getdict("ITEM_PIPELINES")) == [
        "newsspider.distributed.pipelines.RedisItemQueuePipeline"
    ]
    assert "newsspider.distributed.coordinator.RunCoordinator" in settings.getdict("EXTENSIONS")
    assert settings["ARCHIVE_KNOWLEDGE"] == "newsspider.distributed.knowledge.RedisKnowledge"
    assert settings.getbool("ARCHIVE_WRITES") is False


def test_the_distributed_writer_runs_the_archive_writer_and_publishes():
    settings = applied(
        DISTRIBUTED_ENABLED=True, REDIS_URL="redis://127.0.0.1:1/0", DISTRIBUTED_ROLE="writer"
    )
    pipelines = settings.getdict("ITEM_PIPELINES")
    assert "newsspider.pipelines.archive.ArchiveWriterPipeline" in pipelines
    assert "newsspider.distributed.pipelines.KnowledgePublisherPipeline" in pipelines
    assert "redis" not in str(settings.get("SCHEDULER")).lower()


# --- every setting validated at start ------------------------------------------------------

README = REPO / "README.md"
SETTINGS_MODULE = REPO / "newsspider" / "settings.py"
OUR_PREFIXES = ("ARCHIVE_", "SINA_", "RUN_", "REPORT_", "WORKER_", "DISTRIBUTED_")
# Every setting newsspider reads: the core's and the distributed add-on's.
KNOWN = known_settings(project_settings())


def readme_settings() -> list[str]:
    """The names in the first column of every README table whose header is ``| setting |``."""
    names: list[str] = []
    in_table = False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("| setting |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and not line.startswith("| ---"):
            first = line.split("|")[1]
            names += re.findall(r"`([A-Z][A-Z0-9_]+)`", first)
    return names


# Each setting: values it takes, values it refuses (as `-s NAME=VALUE` gives them, plus some
# Python values settings.py could hold).
FLAG = (["True", "False", "true", "false", "1", "0", True, 0], ["maybe", "yes", "2", "", " 1"])
SECONDS = (["0", "2.5", "60", 0, 1.5], ["abc", "-5", "-0.1", "nan", "inf", ""])
POSITIVE_SECONDS = (["0.1", "5", 1], ["0", "-1", "abc", ""])
RATIO = (["0", "0.5", "1", 1, 0.25], ["2", "-0.1", "1.01", "abc", "nan", ""])
CASES: dict[str, tuple[list[object], list[object]]] = {
    "ARCHIVE_DIR": (["output", "/srv/archive", "~/a"], ["", "  ", "a\0b"]),
    "ARCHIVE_BODY": (["clean", "verbatim", "Clean"], ["fancy", ""]),
    "ARCHIVE_AUTHOR": (["site", "source"], ["me", ""]),
    "ARCHIVE_FSYNC": FLAG,
    "ARCHIVE_WRITES": FLAG,
    "ARCHIVE_KNOWLEDGE": (
        ["newsspider.extensions.archive.CrawlArchive", " a.B "],
        ["", "CrawlArchive", "a..b", "a.b c"],
    ),
    "RUN_PREFLIGHT": (
        [[], "", "a.b", ["newsspider.distributed.connection.preflight"], "a.b, c.d"],
        ["nodots", ["a b.c"], 12, "a..b"],
    ),
    "ARCHIVE_IMAGES": (["off", "save", "SAVE", "local"], ["on", "", "1", "copy"]),
    "ARCHIVE_IMAGES_DIR": (["../images", "/srv/site/source/images", "pictures"], ["", "a\0b"]),
    "ARCHIVE_IMAGES_URL": (
        ["/images/", "/images", "https://cdn.example/pics/"],
        ["", "images/", "ftp://x/", "/images/?a=1", "https://"],
    ),
    "ARCHIVE_IMAGES_MAXSIZE": (["1", "10485760", 2048], ["0", "-1", "1.5", "abc", ""]),
    "ARCHIVE_WARC": FLAG,
    "ARCHIVE_IMAGES_FETCH": FLAG,
    "ARCHIVE_WARC_MAXSIZE": (["1", "1073741824", 4096], ["0", "-1", "1.5", "1e9", "abc", ""]),
    "ARCHIVE_IMAGES_HOSTS": (
        [["*.sinaimg.cn", "mmbiz.qpic.cn"], "*.sinaimg.cn,mmbiz.qpic.cn", "Img.Example.COM"],
        ["", [], "*", "*.cn", "a b.cn", "host:8080", "1.2.3.4", "**.sinaimg.cn", "*.x.*"],
    ),
    "ARCHIVE_LOCK_WAIT": SECONDS,
    "ARCHIVE_INDEX_BATCH": (["1", "100", 5], ["0", "-1", "1.5", "abc", "", True]),
    "ARCHIVE_INDEX_BATCH_SECONDS": SECONDS,
    "SINA_CATCHUP_PAGES": (["1", "20"], ["abc", "0", "-3", "2.5", ""]),
    "SINA_MIRROR": (
        ["", "http://127.0.0.1:8000", "https://m.example/"],
        ["127.0.0.1:8000", "ftp://x"],
    ),
    "SINA_MIRROR_INNER_HANDLER": (
        ["scrapy.core.downloader.handlers.http2.H2DownloadHandler"],
        ["", "http11", "a b.c"],
    ),
    "SINA_REACHABILITY_ENABLED": FLAG,
    "RUN_PROGRESS_INTERVAL": SECONDS,
    "RUN_PROGRESS_ENABLED": FLAG,
    "RUN_MAX_ERRORS": (["0", "50", "1000000"], ["abc", "-1", "0.5", ""]),
    "RUN_MAX_ERROR_RATIO": RATIO,
    "RUN_MAX_FALLBACK_RATIO": RATIO,
    "RUN_FALLBACK_MIN_PAGES": (["0", "1", "10"], ["-1", "abc", "2.5", ""]),
    "REPORT_ENABLED": FLAG,
    "REPORT_DIR": (["", "/var/reports", "runs"], ["a\0b"]),
    "REPORT_KEEP": (["0", "100"], ["-1", "abc", "1.5", ""]),
    "WORKER_PROCESSES": (["auto", "AUTO", "0", "3", " 2 "], ["many", "-1", "1.5", ""]),
    "WORKER_TASK_TIMEOUT": SECONDS,
    "CONCURRENT_ITEMS": (["1", "4", "100"], ["0", "-4", "abc", ""]),
    "DISTRIBUTED_ENABLED": FLAG,
    "REDIS_URL": (
        ["redis://127.0.0.1:6379/0", "rediss://u:p@host:6380", "unix:///run/redis.sock"],
        ["http://host:6379", "localhost:6379", "redis://", "unix://"],
    ),
    "DISTRIBUTED_REDIS_PREFIX": (["newsspider", "archive2"], ["", "  "]),
    "DISTRIBUTED_WRITER_WAIT": SECONDS,
    "DISTRIBUTED_WRITER_IDLE": SECONDS,
    "DISTRIBUTED_HEARTBEAT": POSITIVE_SECONDS,
    "DISTRIBUTED_WORKER_TIMEOUT": POSITIVE_SECONDS,
    "DISTRIBUTED_ROLE": (["worker", "writer", "Writer"], ["reader", ""]),
}


def with_setting(tmp_path: Path, name: str, value: object) -> Settings:
    settings = project_settings()
    settings.set("ARCHIVE_DIR", str(tmp_path), priority="cmdline")
    settings.set("REDIS_URL", "redis://127.0.0.1:6379/0", priority="cmdline")
    settings.set(name, value, priority="cmdline")
    return settings


def test_every_documented_setting_is_validated_and_tested():
    documented = readme_settings()
    assert "ARCHIVE_DIR" in documented and "DISTRIBUTED_WORKER_TIMEOUT" in documented
    validated = [setting.name for setting in KNOWN]
    assert len(validated) == len(set(validated))
    assert set(documented) <= set(validated), "a README setting is not in config.SETTINGS"
    assert set(CASES) == set(validated), "every setting of config.SETTINGS has test values"


def test_every_setting_of_settings_py_is_validated_and_every_one_has_its_default_there():
    module = SETTINGS_MODULE.read_text()
    defined = re.findall(r"^([A-Z][A-Z0-9_]+)(?:: [^=]+)? = ", module, re.MULTILINE)
    ours = {name for name in defined if name.startswith(OUR_PREFIXES)}
    validated = {setting.name for setting in KNOWN}
    assert ours - validated == set()
    assert validated - set(defined) == set(), "a setting without its default in settings.py"


GOOD = [(name, value) for name, (good, _) in CASES.items() for value in good]
BAD = [(name, value) for name, (_, bad) in CASES.items() for value in bad]


@pytest.mark.parametrize(("name", "value"), GOOD)
def test_good_values_are_accepted(tmp_path, name, value):
    validate_settings(with_setting(tmp_path, name, value))


@pytest.mark.parametrize(("name", "value"), BAD)
def test_bad_values_are_refused_in_one_line_naming_setting_value_and_what_is_valid(
    tmp_path, name, value
):
    with pytest.raises(ConfigError) as caught:
        validate_settings(with_setting(tmp_path, name, value))
    message = str(caught.value)
    assert message.startswith(f"{name}=")
    assert repr(str(value).strip().rstrip("/") if name == "SINA_MIRROR" else value) in message
    assert "use " in message or " like " in message
    assert "\n" not in message


def test_distributed_mode_needs_redis_url(tmp_path):
    from newsspider.distributed.addon import DistributedAddon
    from newsspider.distributed.connection import preflight

    settings = with_setting(tmp_path, "DISTRIBUTED_ENABLED", "1")
    settings.set("REDIS_URL", "", priority="cmdline")
    validate_settings(settings)  # each value is fine; their combination is the add-on's check
    DistributedAddon().update_settings(settings)
    assert "newsspider.distributed.connection.preflight" in settings.getlist("RUN_PREFLIGHT")
    with pytest.raises(ConfigError, match="DISTRIBUTED_ENABLED needs REDIS_URL"):
        preflight(settings)


def test_the_project_defaults_are_valid():
    validate_settings(project_settings())


@pytest.mark.e2e
@pytest.mark.parametrize(
    "setting",
    [
        "SINA_CATCHUP_PAGES=abc",
        "RUN_PROGRESS_INTERVAL=-5",
        "PROGRESS_INTERVAL=-5",  # an old name is checked too, under the name given
        "REPORT_ENABLED=maybe",
        "RUN_MAX_ERROR_RATIO=2",
        "ARCHIVE_INDEX_BATCH=0",
    ],
)
def test_a_bad_setting_stops_scrapy_crawl_with_one_line_and_exit_2(tmp_path, setting):
    archive = tmp_path / "a"
    name, value = setting.split("=")
    result = scrapy_as_installed(
        "crawl",
        "sina_finance",
        "-s",
        f"ARCHIVE_DIR={archive}",
        "-s",
        "SINA_MIRROR=http://127.0.0.1:9",
        "-s",
        setting,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("scrapy: error:")]
    assert len(errors) == 1, result.stderr[-2000:]
    assert errors[0].startswith(f"scrapy: error: {name}={value!r} is not valid; use ")
    assert "Traceback" not in result.stderr
    assert not archive.exists()


@pytest.mark.parametrize(
    ("settings", "fails"),
    [
        ({}, True),
        ({"RUN_MAX_ERRORS": "1000000"}, True),  # the share still counts
        ({"RUN_MAX_ERROR_RATIO": "1"}, True),  # the count still counts
        ({"RUN_MAX_ERRORS": "1000000", "RUN_MAX_ERROR_RATIO": "1"}, False),  # off
        ({"RUN_MAX_ERRORS": "0", "RUN_MAX_ERROR_RATIO": "0"}, True),
    ],
)
def test_the_error_threshold_is_switched_off_by_a_ratio_of_1_and_a_large_count(settings, fails):
    crawler = get_crawler(Spider, {**PROJECT, "ARCHIVE_WRITES": False, **settings})
    threshold = ErrorThreshold.from_crawler(crawler)
    assert crawler.stats is not None
    crawler.stats.set_value("downloader/request_count", 100)
    crawler.stats.set_value("sina/failed/http_503", 100)  # every request failed
    threshold.spider_closed(Spider("s"), "finished")
    assert (crawler.stats.get_value(FAILED_STAT) == "too_many_errors") is fails


def test_picture_requests_do_not_dilute_the_error_share():
    crawler = get_crawler(Spider, {**PROJECT, "ARCHIVE_WRITES": False, "RUN_MAX_ERRORS": "1000"})
    threshold = ErrorThreshold.from_crawler(crawler)
    assert crawler.stats is not None
    crawler.stats.set_value("downloader/request_count", 100)
    crawler.stats.set_value("images/requests", 90)  # best effort, counted apart
    crawler.stats.set_value("sina/failed/http_503", 6)  # 6 of the 10 page requests
    threshold.spider_closed(Spider("s"), "finished")
    assert crawler.stats.get_value(FAILED_STAT) == "too_many_errors"
