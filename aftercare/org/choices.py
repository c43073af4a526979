from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    CS_SPECIALIST = "cs_specialist", _("CS specialist")
    CS_MANAGER = "cs_manager", _("CS manager")
    RENEWAL_SPECIALIST = "renewal_specialist", _("Renewal specialist")
    DEPARTMENT_DESIGNEE = "department_designee", _("Department designee")
    SUPERVISOR = "supervisor", _("Supervisor")
    SERVICE_ADVISOR = "service_advisor", _("Service advisor")
    STORE_MANAGER = "store_manager", _("Store manager")
    GROUP_ADMIN = "group_admin", _("Group admin")
    QUALITY_ENGINEER = "quality_engineer", _("Quality engineer")
    ITINERANT_SERVICE = "itinerant_service", _("Itinerant service staff")


class DepartmentKind(models.TextChoices):
    SALES = "sales", _("Sales")
    SERVICE_MECHANICAL = "mechanical", _("Service – mechanical")
    SERVICE_BODY = "body", _("Service – body")
    SERVICE_PAINT = "paint", _("Service – paint")
    SERVICE_WASH = "wash", _("Service – car wash")
    PARTS = "parts", _("Parts")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    INSURANCE = "insurance", _("Insurance")


class SharedResource(models.TextChoices):
    CUSTOMERS = "customers", _("Customers and vehicles")
    POLICIES = "policies", _("Insurance policies")
    PARTS = "parts", _("Spare parts")


class KpiPeriodKind(models.TextChoices):
    """The periods a KPI target is set for (org/kpis.py resolves month → quarter → year → default)."""

    MONTH = "month", _("month")
    QUARTER = "quarter", _("quarter")
    YEAR = "year", _("year")
