"""Roles. The three administrators of 等保 2.0 (system, security, audit) are kept apart."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SYSTEM_ADMIN = "system_admin"
    SECURITY_ADMIN = "security_admin"
    AUDIT_ADMIN = "audit_admin"
    DEPARTMENT_ADMIN = "department_admin"
    REVIEWER = "reviewer"
    OPERATOR = "operator"
    VIEWER = "viewer"


# GB/T 22239-2019 8.1.4.2 d) and 8.1.10.x: system, security and audit administration are separate
# duties; no one account may hold two of them.
SEPARATED_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})

ROLE_LABELS_ZH = {
    Role.SYSTEM_ADMIN: "系统管理员",
    Role.SECURITY_ADMIN: "安全保密管理员",
    Role.AUDIT_ADMIN: "安全审计员",
    Role.DEPARTMENT_ADMIN: "部门管理员",
    Role.REVIEWER: "复核人员",
    Role.OPERATOR: "业务人员",
    Role.VIEWER: "只读人员",
}
