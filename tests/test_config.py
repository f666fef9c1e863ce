"""The typed configuration: defaults from settings.py only, parsed once per crawl and reached from
the crawler, and the old setting names that keep working for one release."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from scrapy import Spider
from scrapy.settings import Settings
from scrapy.utils.test import get_crawler

from newsspider import settings as project_module
from newsspider.archive.body import BodyMode
from newsspider.config import (
    RENAMED,
    SETTINGS,
    ArchiveConfig,
    AuthorMode,
    Config,
    ConfigAddon,
    ConfigError,
    RunConfig,
    known_settings,
    rename_deprecated,
    validate_settings,
)
from newsspider.distributed.config import DistributedConfig, Role
from newsspider.extensions.progress import Progress
from newsspider.extensions.report import RunReport

from utils.settings import PROJECT


def project(**given: object) -> Settings:
    """The project settings, with ``given`` at the command line's priority."""
    settings = Settings(PROJECT, priority="project")
    settings.setdict(given, priority="cmdline")
    return settings


def crawler_of(**settings: object):
    """A crawler with the project's settings; of its extensions only the config's reader (the
    archive's owner would open ARCHIVE_DIR, and no crawl runs here)."""
    return get_crawler(Spider, {**PROJECT, "EXTENSIONS": {}, **settings})


# --- defaults ---------------------------------------------------------------------------------


def test_the_project_defaults_parse_to_the_values_of_settings_py():
    config = Config.from_settings(project())
    assert config.archive == ArchiveConfig(
        root=Path("output"),
        body=BodyMode.CLEAN,
        author=AuthorMode.SITE,
        fsync=True,
        lock_wait=0,
        index_batch=100,
        index_batch_seconds=2.0,
        writes=True,
        knowledge="newsspider.extensions.archive.CrawlArchive",
    )
    assert config.run.progress_interval == project_module.RUN_PROGRESS_INTERVAL
    assert config.sina.mirror_inner_handler == project_module.SINA_MIRROR_INNER_HANDLER
    assert config.report.folder is None
    assert config.worker.processes is None  # auto
    distributed = DistributedConfig.from_settings(project())
    assert (distributed.enabled, distributed.keys.prefix, distributed.role) == (
        False,
        "newsspider",
        Role.WORKER,
    )


def test_settings_that_lack_a_setting_altogether_get_its_value_from_settings_py():
    assert Config.from_settings(Settings()) == Config.from_settings(project())
    assert DistributedConfig.from_settings(Settings()) == DistributedConfig.from_settings(project())


def test_a_given_value_is_parsed_as_its_area_uses_it():
    config = Config.from_settings(
        project(ARCHIVE_BODY="Verbatim", RUN_PREFLIGHT="a.b, c.d", WORKER_PROCESSES="3")
    )
    assert config.archive.body is BodyMode.VERBATIM
    assert config.run.preflight == ("a.b", "c.d")
    assert config.worker.process_count(auto_max=4) == 3


# --- parsed once per crawl, reached from the crawler ---------------------------------------------


def test_a_crawl_parses_its_configuration_once_and_every_component_gets_that_one(tmp_path):
    crawler = crawler_of(ARCHIVE_DIR=str(tmp_path), RUN_PROGRESS_INTERVAL="7")
    config = Config.of(crawler)
    assert Config.of(crawler) is config
    assert DistributedConfig.of(crawler) is DistributedConfig.of(crawler)
    assert Progress.from_crawler(crawler).interval == 7
    assert RunReport.from_crawler(crawler).folder == tmp_path / ".newsspider" / "runs"


def test_a_crawler_without_the_project_add_ons_gets_a_configuration_of_its_settings():
    crawler = get_crawler(Spider, {"RUN_MAX_ERRORS": "3"})
    assert crawler.get_addon(ConfigAddon) is None
    assert Config.of(crawler).run.max_errors == 3
    assert Config.of(crawler).run.max_error_ratio == project_module.RUN_MAX_ERROR_RATIO


def test_every_add_on_setting_is_known_and_every_known_setting_has_one_name():
    names = [setting.name for setting in known_settings(project())]
    assert len(names) == len(set(names))
    assert {setting.name for setting in SETTINGS} < set(names)
    assert "DISTRIBUTED_HEARTBEAT" in names


# --- old names ----------------------------------------------------------------------------------


def line(old: str) -> str:
    return f"{old} is deprecated; use {RENAMED[old]} (the old name works until the next release)"


def test_every_old_name_has_a_known_new_name_and_no_default_of_its_own():
    known = {setting.name for setting in known_settings(project())}
    assert set(RENAMED.values()) <= known
    assert not set(RENAMED) & set(PROJECT)


@pytest.mark.parametrize(("old", "new"), list(RENAMED.items()))
def test_an_old_name_on_the_command_line_gives_the_new_name_its_value(old, new):
    settings = project(**{old: "given"})
    assert rename_deprecated(settings) == [line(old)]
    assert settings[new] == "given"
    assert settings.getpriority(new) == settings.getpriority(old)


def test_an_old_name_in_a_projects_settings_py_wins_over_the_default_it_imports():
    settings = Settings(PROJECT, priority="project")
    settings.set("PROGRESS_INTERVAL", 5, priority="project")
    assert rename_deprecated(settings) == [line("PROGRESS_INTERVAL")]
    assert RunConfig.from_settings(settings).progress_interval == 5


@pytest.mark.parametrize(
    ("old_priority", "new_priority", "new_value"),
    [
        ("cmdline", "cmdline", "9"),  # both given with -s
        ("project", "cmdline", "9"),  # the new name given more firmly
        ("project", "project", 9),  # both in a project's settings.py, the new one not the default
    ],
)
def test_a_new_name_given_too_at_the_same_priority_or_higher_wins(
    old_priority, new_priority, new_value
):
    settings = Settings(PROJECT, priority="project")
    settings.set("PROGRESS_INTERVAL", "5", priority=old_priority)
    settings.set("RUN_PROGRESS_INTERVAL", new_value, priority=new_priority)
    (message,) = rename_deprecated(settings)
    assert message == (
        "PROGRESS_INTERVAL is deprecated; use RUN_PROGRESS_INTERVAL (the old name works until "
        "the next release; RUN_PROGRESS_INTERVAL is given too, and wins)"
    )
    assert RunConfig.from_settings(settings).progress_interval == 9


def test_without_old_names_nothing_changes():
    settings = project(RUN_PROGRESS_INTERVAL="3")
    before = settings.copy_to_dict()
    assert rename_deprecated(settings) == []
    assert settings.copy_to_dict() == before


def test_the_crawls_add_on_logs_one_warning_line_per_old_name(caplog):
    with caplog.at_level(logging.WARNING, logger="newsspider.config"):
        crawler = crawler_of(PROGRESS_INTERVAL="5", NEWSSPIDER_REDIS_PREFIX="old")
    warnings = [r.getMessage() for r in caplog.records if r.name == "newsspider.config"]
    assert sorted(warnings) == sorted([line("PROGRESS_INTERVAL"), line("NEWSSPIDER_REDIS_PREFIX")])
    assert all(
        r.levelno == logging.WARNING for r in caplog.records if r.name == "newsspider.config"
    )
    assert Config.of(crawler).run.progress_interval == 5
    assert DistributedConfig.of(crawler).keys.prefix == "old"


def test_settings_looked_at_before_a_crawl_are_renamed_without_a_word(caplog):
    settings = project(NEWSSPIDER_DISTRIBUTED="1")
    with caplog.at_level(logging.WARNING):
        ConfigAddon().update_settings(settings)
    assert settings.getbool("DISTRIBUTED_ENABLED") is True
    assert not [r for r in caplog.records if r.name == "newsspider.config"]


@pytest.mark.parametrize(
    ("old", "value", "message"),
    [
        ("PROGRESS_INTERVAL", "-5", "PROGRESS_INTERVAL='-5' is not valid; use seconds (0 or more)"),
        ("PROGRESS_ENABLED", "maybe", "PROGRESS_ENABLED='maybe' is not valid; use True or False"),
        ("NEWSSPIDER_HEARTBEAT", "0", "NEWSSPIDER_HEARTBEAT='0' is not valid; use seconds (more"),
        ("NEWSSPIDER_REDIS_PREFIX", " ", "NEWSSPIDER_REDIS_PREFIX=' ' is not valid; use a non-emp"),
        ("NEWSSPIDER_ROLE", "boss", "NEWSSPIDER_ROLE='boss' is not valid; use one of: worker, wr"),
        ("NEWSSPIDER_KNOWLEDGE", "x", "NEWSSPIDER_KNOWLEDGE='x' is not valid; use an import path"),
    ],
)
def test_a_bad_value_under_an_old_name_is_refused_under_that_name(old, value, message):
    with pytest.raises(ConfigError) as caught:
        validate_settings(project(**{old: value}))
    assert str(caught.value).startswith(message)
