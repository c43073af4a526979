"""The role → permission table. The only place that decides what a role may do.

`docs/roles.md` renders this table for people; a test keeps the two in step.
"""

from django.core.exceptions import PermissionDenied

from .choices import Role


class Perm:
    CUSTOMER_VIEW = "customer.view"
    CUSTOMER_EDIT = "customer.edit"
    CUSTOMER_MERGE = "customer.merge"
    CUSTOMER_REVEAL_PHONE = "customer.reveal_phone"
    CUSTOMER_SETTINGS = "customer.settings"
    DATA_QUALITY_VIEW = "data_quality.view"
    DMS_IMPORT = "dms.import"
    AUDIT_VIEW = "audit.view"
    ALL_GROUP_STORES = "scope.all_group_stores"
    FOLLOWUP_CALL = "followup.call"
    FOLLOWUP_MANAGE = "followup.manage"
    FOLLOWUP_RULES = "followup.rules"
    FOLLOWUP_TEMPLATES = "followup.templates"
    FEEDBACK_VIEW = "feedback.view"
    FEEDBACK_CREATE = "feedback.create"
    FEEDBACK_ROUTE = "feedback.route"
    FEEDBACK_HANDLE = "feedback.handle"
    FEEDBACK_VERIFY = "feedback.verify"
    FEEDBACK_ARCHIVE = "feedback.archive"
    FEEDBACK_SETTINGS = "feedback.settings"
    LOGIN_UNLOCK = "login.unlock"
    JOBS_VIEW = "jobs.view"
    KPI_SET_TARGET = "kpi.set_target"
    REPORTS_VIEW = "reports.view"
    APPOINTMENT_BOOK = "appointment.book"
    APPOINTMENT_BOARD = "appointment.board"
    APPOINTMENT_SETTINGS = "appointment.settings"
    RENEWAL_WORK = "renewal.work"
    RENEWAL_MANAGE = "renewal.manage"
    RENEWAL_PREMIUM = "renewal.premium"
    # ---- remind: care (issue 18; every care part uses these two) ----
    CARE_WORK = "care.work"
    CARE_MANAGE = "care.manage"
    # ---- end remind ----
    # ---- mail: reports by mail (issue 19; docs/reports.md) ----
    REPORT_ARCHIVE = "report.archive"
    REPORT_ARCHIVE_ALL = "report.archive_all"
    REPORT_SEND = "report.send"
    # ---- end mail ----
    # ---- quality: parts quality and dealer evaluation (issue 20; docs/quality.md) ----
    QUALITY_VIEW = "quality.view"
    QUALITY_REPORT = "quality.report"
    QUALITY_MANAGE = "quality.manage"
    QUALITY_GROUP = "quality.group"
    QUALITY_EVALUATE = "quality.evaluate"
    # ---- end quality ----

    ALL = [
        CUSTOMER_VIEW,
        CUSTOMER_EDIT,
        CUSTOMER_MERGE,
        CUSTOMER_REVEAL_PHONE,
        CUSTOMER_SETTINGS,
        DATA_QUALITY_VIEW,
        DMS_IMPORT,
        AUDIT_VIEW,
        ALL_GROUP_STORES,
        FOLLOWUP_CALL,
        FOLLOWUP_MANAGE,
        FOLLOWUP_RULES,
        FOLLOWUP_TEMPLATES,
        FEEDBACK_VIEW,
        FEEDBACK_CREATE,
        FEEDBACK_ROUTE,
        FEEDBACK_HANDLE,
        FEEDBACK_VERIFY,
        FEEDBACK_ARCHIVE,
        FEEDBACK_SETTINGS,
        LOGIN_UNLOCK,
        JOBS_VIEW,
        KPI_SET_TARGET,
        REPORTS_VIEW,
        APPOINTMENT_BOOK,
        APPOINTMENT_BOARD,
        APPOINTMENT_SETTINGS,
        RENEWAL_WORK,
        RENEWAL_MANAGE,
        RENEWAL_PREMIUM,
        CARE_WORK,
        CARE_MANAGE,
        REPORT_ARCHIVE,
        REPORT_ARCHIVE_ALL,
        REPORT_SEND,
        QUALITY_VIEW,
        QUALITY_REPORT,
        QUALITY_MANAGE,
        QUALITY_GROUP,
        QUALITY_EVALUATE,
    ]


_BASE = {Perm.CUSTOMER_VIEW}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.CS_SPECIALIST: frozenset(
        _BASE
        | {
            Perm.CUSTOMER_EDIT,
            Perm.CUSTOMER_REVEAL_PHONE,
            Perm.DATA_QUALITY_VIEW,
            Perm.FOLLOWUP_CALL,
            Perm.FEEDBACK_VIEW,
            Perm.FEEDBACK_CREATE,
            Perm.FEEDBACK_ROUTE,
            Perm.FEEDBACK_VERIFY,
            Perm.APPOINTMENT_BOOK,
            Perm.CARE_WORK,
        }
    ),
    Role.CS_MANAGER: frozenset(
        _BASE
        | {
            Perm.CUSTOMER_EDIT,
            Perm.CUSTOMER_MERGE,
            Perm.CUSTOMER_REVEAL_PHONE,
            Perm.CUSTOMER_SETTINGS,
            Perm.DATA_QUALITY_VIEW,
            Perm.DMS_IMPORT,
            Perm.AUDIT_VIEW,
            Perm.FOLLOWUP_CALL,
            Perm.FOLLOWUP_MANAGE,
            Perm.FOLLOWUP_RULES,
            Perm.FEEDBACK_VIEW,
            Perm.FEEDBACK_CREATE,
            Perm.FEEDBACK_ROUTE,
            Perm.FEEDBACK_VERIFY,
            Perm.FEEDBACK_ARCHIVE,
            Perm.FEEDBACK_SETTINGS,
            Perm.KPI_SET_TARGET,
            Perm.REPORTS_VIEW,
            Perm.RENEWAL_WORK,
            Perm.RENEWAL_MANAGE,
            Perm.RENEWAL_PREMIUM,
            Perm.APPOINTMENT_BOOK,
            Perm.APPOINTMENT_BOARD,
            Perm.APPOINTMENT_SETTINGS,
            Perm.CARE_WORK,
            Perm.CARE_MANAGE,
            Perm.REPORT_ARCHIVE,
            Perm.REPORT_ARCHIVE_ALL,
            Perm.REPORT_SEND,
            Perm.QUALITY_VIEW,
            Perm.QUALITY_REPORT,
        }
    ),
    Role.RENEWAL_SPECIALIST: frozenset(
        _BASE
        | {
            Perm.CUSTOMER_REVEAL_PHONE,
            Perm.FOLLOWUP_CALL,
            Perm.RENEWAL_WORK,
            Perm.RENEWAL_PREMIUM,
            Perm.APPOINTMENT_BOOK,
        }
    ),
    Role.SERVICE_ADVISOR: frozenset(
        _BASE
        | {
            Perm.CUSTOMER_REVEAL_PHONE,
            Perm.APPOINTMENT_BOOK,
            Perm.APPOINTMENT_BOARD,
            Perm.QUALITY_VIEW,
            Perm.QUALITY_REPORT,
        }
    ),
    Role.DEPARTMENT_DESIGNEE: frozenset(_BASE | {Perm.FEEDBACK_VIEW, Perm.FEEDBACK_HANDLE, Perm.REPORT_ARCHIVE}),
    Role.SUPERVISOR: frozenset(
        _BASE
        | {
            Perm.CUSTOMER_EDIT,
            Perm.CUSTOMER_REVEAL_PHONE,
            Perm.DATA_QUALITY_VIEW,
            Perm.FEEDBACK_VIEW,
            Perm.FEEDBACK_CREATE,
            Perm.FEEDBACK_ROUTE,
            Perm.FEEDBACK_HANDLE,
            Perm.REPORT_ARCHIVE,
        }
    ),
    Role.STORE_MANAGER: frozenset(
        _BASE
        | {
            Perm.CUSTOMER_EDIT,
            Perm.CUSTOMER_MERGE,
            Perm.CUSTOMER_REVEAL_PHONE,
            Perm.CUSTOMER_SETTINGS,
            Perm.DATA_QUALITY_VIEW,
            Perm.DMS_IMPORT,
            Perm.AUDIT_VIEW,
            Perm.FOLLOWUP_MANAGE,
            Perm.FOLLOWUP_RULES,
            Perm.FEEDBACK_VIEW,
            Perm.FEEDBACK_CREATE,
            Perm.FEEDBACK_ROUTE,
            Perm.FEEDBACK_HANDLE,
            Perm.FEEDBACK_ARCHIVE,
            Perm.FEEDBACK_SETTINGS,
            Perm.KPI_SET_TARGET,
            Perm.REPORTS_VIEW,
            Perm.RENEWAL_WORK,
            Perm.RENEWAL_MANAGE,
            Perm.RENEWAL_PREMIUM,
            Perm.APPOINTMENT_BOOK,
            Perm.APPOINTMENT_BOARD,
            Perm.APPOINTMENT_SETTINGS,
            Perm.CARE_MANAGE,
            Perm.REPORT_ARCHIVE,
            Perm.REPORT_ARCHIVE_ALL,
            Perm.REPORT_SEND,
            Perm.QUALITY_VIEW,
            Perm.QUALITY_REPORT,
        }
    ),
    Role.GROUP_ADMIN: frozenset(Perm.ALL),
    # group-wide on parts quality, but no customer file: a report shows the VIN and the store, never the owner
    Role.QUALITY_ENGINEER: frozenset({Perm.QUALITY_VIEW, Perm.QUALITY_MANAGE, Perm.QUALITY_GROUP}),
    Role.ITINERANT_SERVICE: frozenset(
        _BASE | {Perm.QUALITY_VIEW, Perm.QUALITY_REPORT, Perm.QUALITY_EVALUATE}
    ),
}


def role_of(user) -> str | None:
    staff = getattr(user, "staff", None) if user is not None and user.is_authenticated else None
    return staff.role if staff is not None else None


def has_perm(user, perm: str) -> bool:
    role = role_of(user)
    return role is not None and perm in ROLE_PERMISSIONS.get(role, frozenset())


def has_any_perm(user, *perms: str) -> bool:
    """Whether the user's role grants at least one of `perms` (e.g. a list that workers and managers both read)."""
    return any(has_perm(user, perm) for perm in perms)


def require_staff(user) -> None:
    """Raise PermissionDenied (403) unless the user has a staff role (any role may read, e.g., the KPI catalogue)."""
    if role_of(user) is None:
        raise PermissionDenied


def require_perm(user, perm: str) -> None:
    """Raise PermissionDenied (403) unless the user's role grants `perm`."""
    if not has_perm(user, perm):
        raise PermissionDenied(perm)


def require_any_perm(user, *perms: str) -> None:
    """Raise PermissionDenied (403) unless the user's role grants one of `perms`."""
    if not has_any_perm(user, *perms):
        raise PermissionDenied(perms[0])
