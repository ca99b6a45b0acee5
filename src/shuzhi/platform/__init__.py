"""The management platform: identity, departments, roles, audit, review queues and metrics.

Every state change a person cares about goes through here so it is audited once, in one place.

What other concerns call (all take the caller's SQLAlchemy ``Session`` and never commit it):

Review queues (人机协同), :mod:`shuzhi.platform.review`::

    from shuzhi.platform.review import create_review_task, on_decision

    task = create_review_task(
        session, department_id, "dispatch", "work_order", order.id, "派单复核：…",
        {"handling_unit": "市城管局", "confidence": 0.42},
        due_in_hours=4,            # or due_in_working_days=2, or due_at=<aware datetime>
        assignee_id=None,          # a named reviewer, optional
    )

    @on_decision("dispatch")
    def apply_dispatch(session: Session, task: ReviewTask) -> None:
        if task.status in ("accepted", "edited"):
            content = task.decision["content"]   # the proposal as accepted or as edited
            ...

  The callback runs inside the deciding transaction for every outcome (``accepted``, ``edited``,
  ``rejected``); raising rolls the decision back. Decisions are audited here: do not audit again.

Audit, :mod:`shuzhi.platform.audit`::

    audit(session, "employee.on_duty", actor=principal.name, target="employee:7",
          department_id=3, source_ip=ip, **detail)  # ip: shuzhi.api.deps.client_ip

Permissions, :mod:`shuzhi.platform.permissions` and ``principal.can(permission, department_id)``
/ ``principal.visible_departments(permission)`` on :class:`shuzhi.platform.identity.Principal`.
"""
