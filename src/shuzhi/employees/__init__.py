"""Digital employees (数智员工): definitions, lifecycle, skills, runtime, guardrails, front desk.

Public API::

    from shuzhi.employees import EmployeeRuntime, service, builtin_definitions

    with db.session() as session:
        service.install_builtin(session)              # shipped employees; on duty if eval passes
        service.transition(session, "social-insurance-clerk", "suspended", actor, "reason")
    runtime = EmployeeRuntime(db, settings, gateway=gateway_or_None, knowledge=kb_or_None)
    conv = runtime.start("social-insurance-clerk", channel="console", citizen_ref=None)
    turn = await runtime.reply(conv, "养老保险交多少年能领养老金？")
    turn.content, turn.mode, turn.sources, turn.review_task_id
    async for event in runtime.stream(conv, text): ...   # str deltas, then the Turn
"""

from shuzhi.employees.definition import (
    EmployeeDefinition,
    builtin_definitions,
    definition_from_text,
    load_definition_file,
)
from shuzhi.employees.runtime import EmployeeRuntime, Turn

__all__ = [
    "EmployeeDefinition",
    "EmployeeRuntime",
    "Turn",
    "builtin_definitions",
    "definition_from_text",
    "load_definition_file",
]
