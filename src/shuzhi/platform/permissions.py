"""The one permission table. Every API route and console page names a permission from here.

A role held with a department applies within that department; a role held without one applies to
all departments. The three administrators (system, security, audit) are kept apart: the audit
admin alone reads the audit log, the security admin alone grants roles and sets security policy.
"""

from __future__ import annotations

from shuzhi.platform.roles import Role

R = Role
_BUSINESS = {R.SYSTEM_ADMIN, R.DEPARTMENT_ADMIN, R.OPERATOR, R.REVIEWER, R.VIEWER}
_WORKERS = {R.SYSTEM_ADMIN, R.DEPARTMENT_ADMIN, R.OPERATOR, R.REVIEWER}
_MANAGERS = {R.SYSTEM_ADMIN, R.DEPARTMENT_ADMIN}

PERMISSIONS: dict[str, frozenset[Role]] = {
    name: frozenset(roles)
    for name, roles in {
        # the model base
        "model.use": _WORKERS,
        "model.manage": {R.SYSTEM_ADMIN},
        "usage.read": _MANAGERS | {R.VIEWER},
        # knowledge bases
        "kb.read": _BUSINESS,
        "kb.write": _MANAGERS | {R.OPERATOR},
        "kb.read_restricted": _MANAGERS | {R.OPERATOR},  # bases graded restricted (DSL Art. 21)
        # digital employees
        "employee.read": _BUSINESS,
        "employee.chat": _WORKERS | {R.VIEWER},
        "employee.write": _MANAGERS,
        "employee.lifecycle": _MANAGERS,
        # scenarios
        "scenario.read": _BUSINESS,
        "scenario.run": _WORKERS,
        "scenario.manage": _MANAGERS,
        # hotline work orders
        "workorder.read": _BUSINESS,
        "workorder.write": _MANAGERS | {R.OPERATOR},
        # human review
        "review.read": _MANAGERS | {R.REVIEWER, R.VIEWER},
        "review.decide": {R.DEPARTMENT_ADMIN, R.REVIEWER},
        # jobs
        "job.read": _BUSINESS,
        "job.submit": _WORKERS,
        "job.cancel": _MANAGERS | {R.OPERATOR},
        # the AI data officer
        "data.read": _BUSINESS,
        "data.manage": _MANAGERS | {R.OPERATOR},
        "data.ask": _WORKERS | {R.VIEWER},
        "data.connect": _MANAGERS,  # register tables from database connections (allow-listed)
        # the platform itself
        "metrics.read": _MANAGERS | {R.VIEWER},
        "department.manage": {R.SYSTEM_ADMIN},
        "user.manage": {R.SYSTEM_ADMIN},
        "role.grant": {R.SECURITY_ADMIN},
        "security.manage": {R.SECURITY_ADMIN},
        "audit.read": {R.AUDIT_ADMIN},
        "audit.export": {R.AUDIT_ADMIN},
    }.items()
}


def roles_for(permission: str) -> frozenset[Role]:
    try:
        return PERMISSIONS[permission]
    except KeyError:
        raise KeyError(f"unknown permission {permission!r}; add it to PERMISSIONS") from None
