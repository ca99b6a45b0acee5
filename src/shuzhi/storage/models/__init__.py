"""All tables, one module per concern. Import this package to register every table on ``Base``."""

from shuzhi.storage.models.base import Base
from shuzhi.storage.models.conversations import Conversation, Message
from shuzhi.storage.models.core import (
    ApiKey,
    AuditAnchor,
    AuditRecord,
    Department,
    LoginSession,
    User,
    UserRole,
)
from shuzhi.storage.models.dataofficer import (
    CatalogueEntry,
    Dataset,
    DatasetField,
    QualityRuleRow,
    QualityRun,
    SqlTemplateRow,
)
from shuzhi.storage.models.employees import Employee, EmployeeVersion
from shuzhi.storage.models.gateway import ModelAlias, ModelEndpoint
from shuzhi.storage.models.jobs import Job, JobItem, JobLease, JobSchedule
from shuzhi.storage.models.knowledge import KbChunk, KbDocument, KbVector, KnowledgeBase
from shuzhi.storage.models.review import ReviewTask
from shuzhi.storage.models.scenarios import Scenario, ScenarioRun
from shuzhi.storage.models.usage import ModelUsage
from shuzhi.storage.models.workorders import WorkOrder

__all__ = [
    "ApiKey",
    "AuditAnchor",
    "AuditRecord",
    "Base",
    "CatalogueEntry",
    "Conversation",
    "Dataset",
    "DatasetField",
    "Department",
    "Employee",
    "EmployeeVersion",
    "Job",
    "JobItem",
    "JobLease",
    "JobSchedule",
    "KbChunk",
    "KbDocument",
    "KbVector",
    "KnowledgeBase",
    "LoginSession",
    "Message",
    "ModelAlias",
    "ModelEndpoint",
    "ModelUsage",
    "QualityRuleRow",
    "QualityRun",
    "ReviewTask",
    "Scenario",
    "ScenarioRun",
    "SqlTemplateRow",
    "User",
    "UserRole",
    "WorkOrder",
]
