"""批量派单 in a real browser: a wrong file is refused under the form, a right one runs on the
server's embedded worker while the page polls, and the summary, chart and links appear.
Screenshots go to tests/artifacts/screenshots/hotline-batch-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shuzhi.aigc import visible_label
from shuzhi.platform.roles import Role
from shuzhi.storage.db import Database
from tests.console.test_hotline_batch import history_csv, messages_csv
from tests.platform.helpers import PASSWORD, user

pytestmark = pytest.mark.browser


def _files(folder: Path) -> dict[str, Path]:
    taxonomy = "一级分类,二级分类,三级分类\n城乡建设,物业管理,电梯\n".encode()
    contents = {"留言.csv": messages_csv(), "历史工单.csv": history_csv(), "分类体系.csv": taxonomy}
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in contents}


def test_batch_dispatch_page_in_a_browser(
    live_server: str, browser: Any, db: Database, screenshot_dir: Path, tmp_path: Path
) -> None:
    with db.session() as session:
        user(session, "op", (Role.OPERATOR, None))
    files = _files(tmp_path)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/console/login")
    page.fill("input[name=username]", "op")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.goto(f"{live_server}/console/workorders")
    page.click("#batch-link")
    page.wait_for_selector("#batch-form")

    page.set_input_files("#batch-form input[name=file]", str(files["分类体系.csv"]))
    page.set_input_files("#batch-form input[name=history]", str(files["历史工单.csv"]))
    page.click("#batch-form button[type=submit]")
    page.wait_for_selector("#batch-job .error")
    assert "是分类体系表" in page.inner_text("#batch-job")
    page.screenshot(path=str(screenshot_dir / f"hotline-batch-refused-{db.dialect}.png"))

    page.set_input_files("#batch-form input[name=file]", str(files["留言.csv"]))
    page.set_input_files("#batch-form input[name=taxonomy]", str(files["分类体系.csv"]))
    page.click("#batch-form button[type=submit]")
    page.wait_for_selector("#batch-job[data-status=succeeded]", timeout=120_000)
    page.wait_for_function("document.getElementById('batch-job').dataset.chartsReady === '1'")
    assert "/console/workorders/batches/" in page.url, "the job's address is in the location bar"
    assert page.inner_text("[data-figure=messages]") == "9"
    assert page.inner_text("#batch-aigc") == visible_label("offline", classifier=True)
    assert page.locator("#batch-categories canvas").count() == 1
    page.wait_for_selector("#batch-recent tr[data-job] >> text=已完成")
    links = page.eval_on_selector_all("#batch-downloads a", "e => e.map(x => x.dataset.file)")
    assert links == ["workbook", "jsonl", "report"]
    page.screenshot(path=str(screenshot_dir / f"hotline-batch-{db.dialect}.png"), full_page=True)
    print(f"\nscreenshots: {screenshot_dir}/hotline-batch-*.png")
