"""The scenario catalogue (the "N") and its engine.

A scenario is data: a YAML definition with typed inputs, steps, decision tables whose rows cite
the law, a human gate and its own evaluation cases. The engine runs it offline (rules, retrieval
over shipped excerpts, templates, keyword classifiers) or with a model when one is given.

Public API::

    load_catalogue(*extra_dirs, db=None) -> Catalogue   # .get(id) .by_field() .for_employee()
    run_scenario(id, inputs, *, db=None, gateway=None, knowledge=None) -> RunResult
    evaluate(ids | None, *, catalogue=None) -> EvalReport     # .ok, .by_field(), .failures()
    evaluate_employee(slug) -> EvalReport                     # the go-on-duty gate
    export_pack(ids, name=...) -> str;  import_pack(path, db=...) -> list[ScenarioDef]
"""

from shuzhi.scenarios.catalogue import Catalogue, builtin_catalogue, load_catalogue
from shuzhi.scenarios.definition import FIELD_NAMES_ZH, FieldId, HumanGate, ScenarioDef
from shuzhi.scenarios.engine import RunResult, run_scenario
from shuzhi.scenarios.evaluation import EvalReport, ScenarioEval, evaluate, evaluate_employee
from shuzhi.scenarios.model import GatewayModel, ModelReply, OpenAIEndpointModel, ScenarioModel
from shuzhi.scenarios.packs import export_pack, import_pack, import_pack_text, read_pack
from shuzhi.scenarios.rules import RuleHit
from shuzhi.scenarios.store import apply_decision  # registers the review callback

__all__ = [
    "FIELD_NAMES_ZH",
    "Catalogue",
    "EvalReport",
    "FieldId",
    "GatewayModel",
    "HumanGate",
    "ModelReply",
    "OpenAIEndpointModel",
    "RuleHit",
    "RunResult",
    "ScenarioDef",
    "ScenarioEval",
    "ScenarioModel",
    "apply_decision",
    "builtin_catalogue",
    "evaluate",
    "evaluate_employee",
    "export_pack",
    "import_pack",
    "import_pack_text",
    "load_catalogue",
    "read_pack",
    "run_scenario",
]
