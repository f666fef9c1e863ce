"""Project settings: politeness for the real Sina hosts, none for a mirror."""

import pytest
from scrapy.settings import Settings
from scrapy.utils.project import get_project_settings

from newsspider.addons import PolitenessAddon


def applied(**cmdline):
    settings = Settings(get_project_settings().copy_to_dict(), priority="project")
    for name, value in cmdline.items():
        settings.set(name, value, priority="cmdline")
    for path in settings.getdict("ADDONS"):
        assert path == "newsspider.addons.PolitenessAddon"
    PolitenessAddon().update_settings(settings)
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
