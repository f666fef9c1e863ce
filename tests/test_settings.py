"""Project settings: politeness for the real Sina hosts, none for a mirror; every setting
validated at start."""

import re
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings
from scrapy.utils.test import get_crawler

from newsspider.addons import DistributedAddon, PolitenessAddon
from newsspider.config import SETTINGS, ConfigError, validate_settings
from newsspider.extensions.health import ErrorThreshold
from newsspider.extensions.reachability import FAILED_STAT

from utils.crawl import REPO, scrapy_as_installed


def applied(**cmdline):
    settings = Settings(get_project_settings().copy_to_dict(), priority="project")
    for name, value in cmdline.items():
        settings.set(name, value, priority="cmdline")
    assert set(settings.getdict("ADDONS")) == {
        "newsspider.addons.PolitenessAddon",
        "newsspider.addons.DistributedAddon",
    }
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
    settings = applied(NEWSSPIDER_DISTRIBUTED=True, REDIS_URL="redis://127.0.0.1:1/0")
    assert settings["SCHEDULER"] == "newsspider.distributed.scheduler.RedisScheduler"
    assert settings["DUPEFILTER_CLASS"] == "newsspider.distributed.scheduler.RedisDupeFilter"
    assert settings.getbool("SCHEDULER_PERSIST") is True
    assert settings["SCHEDULER_QUEUE_KEY"] == "newsspider:requests"
    assert list(settings.getdict("ITEM_PIPELINES")) == [
        "newsspider.distributed.pipelines.RedisItemQueuePipeline"
    ]
    assert "newsspider.distributed.coordinator.RunCoordinator" in settings.getdict("EXTENSIONS")
    assert settings["NEWSSPIDER_KNOWLEDGE"] == "newsspider.distributed.knowledge.RedisKnowledge"


def test_the_distributed_writer_runs_the_archive_writer_and_publishes():
    settings = applied(
        NEWSSPIDER_DISTRIBUTED=True, REDIS_URL="redis://127.0.0.1:1/0", NEWSSPIDER_ROLE="writer"
    )
    pipelines = settings.getdict("ITEM_PIPELINES")
    assert "newsspider.pipelines.archive.ArchiveWriterPipeline" in pipelines
    assert "newsspider.distributed.pipelines.KnowledgePublisherPipeline" in pipelines
    assert "redis" not in str(settings.get("SCHEDULER")).lower()


# --- every setting validated at start ------------------------------------------------------

README = REPO / "README.md"
SETTINGS_MODULE = REPO / "newsspider" / "settings.py"
OUR_PREFIXES = ("ARCHIVE_", "SINA_", "PROGRESS_", "RUN_", "REPORT_", "WORKER_", "NEWSSPIDER_")


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
    "RUN_PREFLIGHT": (
        [[], "", "a.b", ["newsspider.distributed.connection.preflight"], "a.b, c.d"],
        ["nodots", ["a b.c"], 12, "a..b"],
    ),
    "ARCHIVE_LOCK_WAIT": SECONDS,
    "ARCHIVE_INDEX_BATCH": (["1", "100", 5], ["0", "-1", "1.5", "abc", "", True]),
    "ARCHIVE_INDEX_BATCH_SECONDS": SECONDS,
    "SINA_CATCHUP_PAGES": (["1", "20"], ["abc", "0", "-3", "2.5", ""]),
    "SINA_MIRROR": (
        ["", "http://127.0.0.1:8000", "https://m.example/"],
        ["127.0.0.1:8000", "ftp://x"],
    ),
    "SINA_REACHABILITY_ENABLED": FLAG,
    "PROGRESS_INTERVAL": SECONDS,
    "PROGRESS_ENABLED": FLAG,
    "RUN_MAX_ERRORS": (["0", "50", "1000000"], ["abc", "-1", "0.5", ""]),
    "RUN_MAX_ERROR_RATIO": RATIO,
    "RUN_MAX_FALLBACK_RATIO": RATIO,
    "RUN_FALLBACK_MIN_PAGES": (["1", "10"], ["0", "-1", "abc", ""]),
    "REPORT_ENABLED": FLAG,
    "REPORT_DIR": (["", "/var/reports", "runs"], ["a\0b"]),
    "REPORT_KEEP": (["0", "100"], ["-1", "abc", "1.5", ""]),
    "WORKER_PROCESSES": (["auto", "AUTO", "0", "3", " 2 "], ["many", "-1", "1.5", ""]),
    "WORKER_TASK_TIMEOUT": SECONDS,
    "CONCURRENT_ITEMS": (["1", "4", "100"], ["0", "-4", "abc", ""]),
    "NEWSSPIDER_DISTRIBUTED": FLAG,
    "REDIS_URL": (
        ["redis://127.0.0.1:6379/0", "rediss://u:p@host:6380", "unix:///run/redis.sock"],
        ["http://host:6379", "localhost:6379", "redis://", "unix://"],
    ),
    "NEWSSPIDER_REDIS_PREFIX": (["newsspider", "archive2"], ["", "  "]),
    "NEWSSPIDER_WRITER_WAIT": SECONDS,
    "NEWSSPIDER_WRITER_IDLE": SECONDS,
    "NEWSSPIDER_HEARTBEAT": POSITIVE_SECONDS,
    "NEWSSPIDER_WORKER_TIMEOUT": POSITIVE_SECONDS,
}


def with_setting(tmp_path: Path, name: str, value: object) -> Settings:
    settings = Settings(get_project_settings().copy_to_dict(), priority="project")
    settings.set("ARCHIVE_DIR", str(tmp_path), priority="cmdline")
    settings.set("REDIS_URL", "redis://127.0.0.1:6379/0", priority="cmdline")
    settings.set(name, value, priority="cmdline")
    return settings


def test_every_documented_setting_is_validated_and_tested():
    documented = readme_settings()
    assert "ARCHIVE_DIR" in documented and "NEWSSPIDER_WORKER_TIMEOUT" in documented
    validated = [name for name, _ in SETTINGS]
    assert len(validated) == len(set(validated))
    assert set(documented) <= set(validated), "a README setting has no row in config.SETTINGS"
    assert set(CASES) == set(validated), "every row of config.SETTINGS has test values"


def test_every_setting_of_settings_py_is_validated():
    defined = re.findall(r"^([A-Z][A-Z0-9_]+) = ", SETTINGS_MODULE.read_text(), re.MULTILINE)
    ours = {name for name in defined if name.startswith(OUR_PREFIXES)}
    assert ours - {name for name, _ in SETTINGS} == set()


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
    from newsspider.addons import DistributedAddon
    from newsspider.distributed.connection import preflight

    settings = with_setting(tmp_path, "NEWSSPIDER_DISTRIBUTED", "1")
    settings.set("REDIS_URL", "", priority="cmdline")
    validate_settings(settings)  # each value is fine; their combination is the add-on's check
    DistributedAddon().update_settings(settings)
    assert "newsspider.distributed.connection.preflight" in settings.getlist("RUN_PREFLIGHT")
    with pytest.raises(ConfigError, match="NEWSSPIDER_DISTRIBUTED needs REDIS_URL"):
        preflight(settings)


def test_the_project_defaults_are_valid():
    validate_settings(Settings(get_project_settings().copy_to_dict(), priority="project"))


@pytest.mark.e2e
@pytest.mark.parametrize(
    "setting",
    [
        "SINA_CATCHUP_PAGES=abc",
        "PROGRESS_INTERVAL=-5",
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
    crawler = get_crawler(Spider, settings)
    threshold = ErrorThreshold.from_crawler(crawler)
    assert crawler.stats is not None
    crawler.stats.set_value("downloader/request_count", 100)
    crawler.stats.set_value("sina/failed/http_503", 100)  # every request failed
    threshold.spider_closed(Spider("s"), "finished")
    assert (crawler.stats.get_value(FAILED_STAT) == "too_many_errors") is fails
