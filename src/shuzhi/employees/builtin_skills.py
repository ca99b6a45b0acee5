"""The skills every deployment has. Chinese rules come from ``shuzhi.cn``, never redone here."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from shuzhi.cn.calendar import default_calendar
from shuzhi.cn.ids import parse_credit_code, parse_id_number
from shuzhi.employees.handoff import request_handoff
from shuzhi.employees.skills import Level, SkillContext, skill
from shuzhi.employees.workorders import register
from shuzhi.storage.models import Conversation, Message, WorkOrder


class SearchArgs(BaseModel):
    query: str = Field(min_length=1, max_length=500, description="要检索的问题或关键词")
    k: int = Field(default=4, ge=1, le=10)


@skill("knowledge_search", "在本员工的知识库中检索法规政策原文，返回带出处的段落", SearchArgs)
def knowledge_search(ctx: SkillContext, args: SearchArgs) -> dict[str, Any]:
    if ctx.knowledge is None or not ctx.knowledge_bases:
        return {"passages": [], "note": "本员工未配置知识库"}
    passages = ctx.search(args.query, args.k)
    ctx.sources.extend(p.as_source() for p in passages)
    return {"passages": [{"citation": p.citation, "text": p.text[:600]} for p in passages]}


class IdArgs(BaseModel):
    number: str = Field(min_length=1, max_length=32, description="18 位或 15 位公民身份号码")


@skill("check_id_number", "校验公民身份号码（校验码、出生日期、地区码）", IdArgs)
def check_id_number(_ctx: SkillContext, args: IdArgs) -> dict[str, Any]:
    info = parse_id_number(args.number)
    return {
        "valid": info.valid,
        "problems": info.problems,
        "region": info.region_name,
        "birth_date": info.birth_date.isoformat() if info.birth_date else None,
        "sex": info.sex,
    }


class CreditArgs(BaseModel):
    code: str = Field(min_length=1, max_length=32, description="18 位统一社会信用代码")


@skill(
    "check_credit_code",
    "校验统一社会信用代码（GB 32100-2015 校验码、登记机关、机构类别）",
    CreditArgs,
)
def check_credit_code(_ctx: SkillContext, args: CreditArgs) -> dict[str, Any]:
    info = parse_credit_code(args.code)
    return {
        "valid": info.valid,
        "problems": info.problems,
        "registration_authority": info.registration_authority,
        "org_type": info.org_type,
    }


class DeadlineArgs(BaseModel):
    start: date = Field(description="起算日期（受理或收到之日），YYYY-MM-DD")
    working_days: int = Field(ge=0, le=365, description="期限，工作日")


@skill("working_day_deadline", "按法定节假日和调休计算 N 个工作日后的截止日期", DeadlineArgs)
def working_day_deadline(_ctx: SkillContext, args: DeadlineArgs) -> dict[str, Any]:
    due = default_calendar().add_working_days(args.start, args.working_days)
    return {"due_date": due.date.isoformat(), "warnings": due.warnings}


class PensionArgs(BaseModel):
    avg_wage_last_year: float = Field(gt=0, description="上年度全省在岗职工月平均工资（元）")
    avg_contribution_index: float = Field(ge=0.6, le=3.0, description="本人平均缴费指数")
    contribution_years: float = Field(ge=0, le=60, description="累计缴费年限（含视同缴费）")
    personal_account_balance: float = Field(ge=0, description="个人账户储存额（元）")
    retirement_age: int = Field(ge=45, le=70, description="退休年龄")


# Months divisor of the personal-account pension by retirement age (国发〔2005〕38号 annex).
_DIVISORS = {40: 233, 45: 216, 50: 195, 55: 170, 60: 139, 65: 101, 70: 56}


def _divisor(age: int) -> int:
    nearest = min(_DIVISORS, key=lambda a: (abs(a - age), a))
    return _DIVISORS[nearest]


@skill(
    "pension_estimate",
    "按法定公式估算城镇职工基本养老金（基础养老金+个人账户养老金），结果仅供参考",
    PensionArgs,
)
def pension_estimate(_ctx: SkillContext, args: PensionArgs) -> dict[str, Any]:
    # 国发〔2005〕38号: basic pension = (province average wage + indexed own wage) / 2 × 1% per
    # year of contributions; the 社会保险法 Art. 16 minimum is 15 years.
    indexed_wage = args.avg_wage_last_year * args.avg_contribution_index
    basic = (args.avg_wage_last_year + indexed_wage) / 2 * args.contribution_years * 0.01
    divisor = _divisor(args.retirement_age)
    personal = args.personal_account_balance / divisor
    eligible = args.contribution_years >= 15
    return {
        "basic_pension": round(basic, 2),
        "personal_account_pension": round(personal, 2),
        "monthly_total": round(basic + personal, 2),
        "months_divisor": divisor,
        "eligible_for_monthly_pension": eligible,
        "basis": "国发〔2005〕38号；《社会保险法》第十六条（累计缴费满十五年）",
    }


class MaterialsArgs(BaseModel):
    required: list[str] = Field(min_length=1, description="受理清单要求的材料")
    submitted: list[str] = Field(description="申请人已提交的材料")


def _same_material(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    return bool(a and b) and (a in b or b in a)


@skill("compare_materials", "对照受理清单比对已交材料，列出缺少和多余的材料", MaterialsArgs)
def compare_materials(_ctx: SkillContext, args: MaterialsArgs) -> dict[str, Any]:
    missing = [r for r in args.required if not any(_same_material(r, s) for s in args.submitted)]
    extra = [s for s in args.submitted if not any(_same_material(r, s) for r in args.required)]
    return {"complete": not missing, "missing": missing, "extra": extra}


class OrderArgs(BaseModel):
    text: str = Field(min_length=5, max_length=5000, description="诉求内容（群众原话整理）")
    title: str = Field(default="", max_length=200, description="诉求标题；空则取内容开头")


@skill(
    "create_work_order",
    "把群众诉求登记为 12345 工单：判定类型、承办单位和答复时限，交派单环节处理",
    OrderArgs,
    Level.PUBLIC,
)
def create_work_order(ctx: SkillContext, args: OrderArgs) -> dict[str, Any]:
    return register(ctx, args.title.strip(), args.text.strip())


class NoArgs(BaseModel):
    pass


@skill(
    "my_work_orders",
    "查询当前来电群众本人名下工单的办理状态（只能查本人，身份来自登录认证）",
    NoArgs,
    Level.CITIZEN_OWN,
)
def my_work_orders(ctx: SkillContext, _args: NoArgs) -> dict[str, Any]:
    if not ctx.citizen_ref:
        return {
            "orders": [],
            "message": "未认证身份，无法查询个人工单；请先登录，或回复“转人工”核实身份。",
        }
    own = select(Conversation.id).where(Conversation.citizen_ref == ctx.citizen_ref)
    refs = [f"conversation:{cid}" for cid in ctx.session.scalars(own)]
    orders = ctx.session.scalars(
        select(WorkOrder).where(WorkOrder.source_ref.in_(refs)).order_by(WorkOrder.id)
    ).all()
    listed = [
        {"code": o.code, "title": o.title, "status": o.status, "unit": o.handling_unit}
        for o in orders
    ]
    lines = [f"{o.code}：{o.title}（{_STATUS.get(o.status, o.status)}）" for o in orders]
    message = "您名下的工单：\n" + "\n".join(lines) if lines else "您名下暂无工单。"
    return {"orders": listed, "message": message}


_STATUS = {
    "new": "已登记",
    "pending_review": "待派单员确认",
    "dispatched": "已转承办单位",
    "replied": "已答复",
    "closed": "已办结",
}


class PersonArgs(BaseModel):
    id_number: str = Field(description="任意公民身份号码")


@skill(
    "lookup_person",
    "按身份号码查询任意个人的登记信息（仅限授权工作人员）",
    PersonArgs,
    Level.PRIVILEGED,
)
def lookup_person(_ctx: SkillContext, _args: PersonArgs) -> dict[str, Any]:
    # Exists so that the permission ceiling has something real to refuse: no model-driven
    # employee may reach it, whatever its definition lists.
    return {"error": "该技能只能由工作人员在业务系统中人工使用"}


class HandoffArgs(BaseModel):
    reason: str = Field(min_length=2, max_length=500, description="转人工的原因")
    draft: str = Field(
        default="", max_length=4000, description="拟答复（可选），供工作人员采纳或修改"
    )


@skill("handoff", "转人工：把对话交给部门工作人员处理，并进入复核队列", HandoffArgs)
def handoff(ctx: SkillContext, args: HandoffArgs) -> dict[str, Any]:
    question = _last_question(ctx)
    task = request_handoff(ctx, args.reason, question, args.draft)
    return {"handoff": True, "review_task": task, "message": "已转人工，工作人员会尽快答复"}


def _last_question(ctx: SkillContext) -> str:
    found = ctx.session.scalar(
        select(Message.content)
        .where(Message.conversation_id == ctx.conversation_id, Message.role == "user")
        .order_by(Message.id.desc())
        .limit(1)
    )
    return found or ""
