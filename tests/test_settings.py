"""Project settings: politeness for the real Sina hosts, none for a mirror."""

import pytest
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from newsspider.addons import DistributedAddon, PolitenessAddon


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
        "newsspider.pipelines.redis_queue.RedisItemQueuePipeline"
    ]
    assert "newsspider.distributed.coordinator.RunCoordinator" in settings.getdict("EXTENSIONS")
    assert settings["NEWSSPIDER_KNOWLEDGE"] == "newsspider.distributed.knowledge.RedisKnowledge"


def test_the_distributed_writer_runs_the_single_process_pipelines_and_publishes():
    settings = applied(
        NEWSSPIDER_DISTRIBUTED=True, REDIS_URL="redis://127.0.0.1:1/0", NEWSSPIDER_ROLE="writer"
    )
    pipelines = settings.getdict("ITEM_PIPELINES")
    assert "newsspider.pipelines.archive.ArchiveWriterPipeline" in pipelines
    assert "newsspider.pipelines.body.BodyPipeline" in pipelines
    assert "newsspider.pipelines.publish.KnowledgePublisherPipeline" in pipelines
    assert "redis" not in str(settings.get("SCHEDULER")).lower()
