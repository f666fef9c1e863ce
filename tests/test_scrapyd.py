"""End to end under a real Scrapyd: deploy the egg, schedule.json the spider, as ops would."""

from __future__ import annotations

import json

import pytest

from newsspider.archive.naming import post_filename

from utils.archive import CHINA_DIR, posts_under
from utils.content import GOLDENS
from utils.crawl import REPO
from utils.mocksina import MockSina
from utils.scrapyd import Scrapyd

pytestmark = pytest.mark.e2e

PROJECT = "newsspider"
SPIDER = "sina_finance"


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory):
    """A real Scrapyd on a free port, with this checkout deployed to it as an egg."""
    with Scrapyd(tmp_path_factory.mktemp("scrapyd")) as server:
        server.deploy(REPO)
        yield server


def expected_archive():
    return {(CHINA_DIR / post_filename(g.meta["title"])).as_posix(): g.expected for g in GOLDENS}


def test_scheduled_job_archives_every_golden_post_byte_for_byte(scrapyd, mock_sina, tmp_path):
    assert SPIDER in scrapyd.spiders(PROJECT)
    # The crawl runs the deployed egg's code, not this checkout (installed editable).
    spider_module = scrapyd.runner_module_file("newsspider.spiders.sina_finance")
    assert spider_module.is_relative_to(scrapyd.dir("eggs") / PROJECT), spider_module

    archive = tmp_path / "archive"
    job = scrapyd.schedule(
        SPIDER,
        {"SINA_MIRROR": mock_sina.base_url, "ARCHIVE_DIR": archive, "ARCHIVE_BODY": "verbatim"},
        {"pages": 3, "num": 3},
    )
    finished = scrapyd.wait(job, timeout=120)

    log = scrapyd.log(job)
    assert scrapyd.exit_status(job) == 0, f"{scrapyd.job_stderr(job)}\n{log[-3000:]}"
    assert posts_under(archive) == expected_archive()
    assert "Traceback" not in log
    assert "Traceback" not in scrapyd.output()
    assert finished["spider"] == SPIDER
    assert finished["log_url"] == f"/logs/{PROJECT}/{SPIDER}/{job}.log"
    # Scrapyd passes the job id to the spider as an argument; the spider accepts it.
    assert f"'-a', '_job={job}', '-a', 'pages=3', '-a', 'num=3'" in scrapyd.output()

    (report_file,) = (archive / ".newsspider" / "runs").glob("*.json")
    stats = json.loads(report_file.read_text(encoding="utf-8"))["stats"]
    assert stats["archive/written"] == 8
    assert stats["sina/roll/pages"] == 3
    # Scrapyd's items_dir feed keeps working beside the archive.
    items_file = scrapyd.dir("items") / PROJECT / SPIDER / f"{job}.jl"
    rows = [json.loads(line) for line in items_file.read_text(encoding="utf-8").splitlines()]
    assert sorted(row["url"] for row in rows) == sorted(g.meta["url"] for g in GOLDENS)


def test_failed_runs_are_listed_as_finished_and_only_scrapyds_log_has_the_exit_status(
    scrapyd, tmp_path
):
    with MockSina() as server:
        dead = server.base_url
    unreachable = scrapyd.schedule(
        SPIDER, {"SINA_MIRROR": dead, "ARCHIVE_DIR": tmp_path / "a", "RETRY_TIMES": 0}
    )
    bad_argument = scrapyd.schedule(SPIDER, {"ARCHIVE_DIR": tmp_path / "b"}, {"num": 70})
    for job in (unreachable, bad_argument):
        assert set(scrapyd.wait(job, timeout=120)) >= {"id", "start_time", "end_time"}
        assert scrapyd.exit_status(job) is not None

    assert scrapyd.exit_status(unreachable) == 1
    unreachable_log = scrapyd.log(unreachable)
    assert "Sina could not be reached" in unreachable_log
    assert "Traceback" not in unreachable_log

    # A bad argument stops the run before logging starts: the message is on stderr, which
    # Scrapyd copies into its own log, not into the job's.
    assert scrapyd.exit_status(bad_argument) == 2
    assert "-a num=70 is not valid" in scrapyd.job_stderr(bad_argument)
    assert "-a num=70 is not valid" not in scrapyd.log(bad_argument)
    assert not (tmp_path / "b").exists()
    assert "Traceback" not in scrapyd.output()
