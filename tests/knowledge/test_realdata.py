"""Retrieval over part of the real law corpus (../shared/data/laws); skipped when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from shuzhi.config import Settings
from shuzhi.knowledge import KnowledgeService
from shuzhi.knowledge.evaluation import EvalReport, load_questions, score
from shuzhi.storage.setup import open_database

QUESTIONS = Path(__file__).resolve().parents[2] / "bench" / "knowledge_questions.yaml"
FOLDERS = ("社会法", "行政法规", "DLC/山东地方法规/地方性法规/山东")
IN_SUBSET = {"社会保险法", "劳动合同法", "工伤保险条例", "失业保险条例", "政府信息公开条例"}
IN_SUBSET |= {"招标投标法实施条例"}


@pytest.mark.realdata
def test_questions_over_three_folders_of_the_law_corpus(shared_data: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="test")
    service = KnowledgeService(open_database(settings), settings)
    service.create("laws", grade="public")
    report = service.import_paths("laws", [shared_data / "laws" / f for f in FOLDERS])
    assert report.added > 1000 and len(report.failed) < 5

    wanted = [
        q for q in load_questions(QUESTIONS) if q.doc in IN_SUBSET or q.doc.startswith("济南市")
    ]
    results = [score(q, service.search("laws", q.q, k=5)) for q in wanted]
    evaluation = EvalReport(5, results)

    assert len(wanted) >= 15
    # A third of the corpus gives other word statistics; the full corpus is in bench/.
    assert evaluation.recall >= 0.85, [m.question.q for m in evaluation.misses]
    first = service.search("laws", "工伤认定申请交上去以后，社保部门最晚多久要给出认定结论？")[0]
    assert first.citation == "《工伤保险条例》第二十条（2010-12-20）"
