"""Parts quality (issue 20): parts-quality reports, the batch-defect alarm, dealer evaluation. So far only the
alarm's statistic (`alarm.py`, docs/quality.md); the models come with the reports."""

from .shipment_models import PartsShipmentMonth  # noqa: E402, F401
