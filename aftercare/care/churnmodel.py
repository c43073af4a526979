"""The churn-risk model (issue 18, "Classes and churn"): the label, the features and the model, shared by the
simulator's backtest (`churnsim.py`) and the scoring of the real database (`services/churn.py`).

Label: at a cutoff day, a customer is *active* when they had a counted visit (`visits.py`) in the 6 months before
it, and *lost within 6 months* when they have no counted visit in the 6 months after it.

Features are assembled by `features_assemble` from per-customer aggregates as of the cutoff (only data before it).
The database path reads those aggregates in one set-based statement (`services/churn.py`); the simulator computes the
same aggregates with numpy (`aggregates_from_events`), so both use one definition of every feature.

Model: a logistic regression on standardized features (scikit-learn). Its top reasons for a customer are the
features with the largest positive contributions, coefficient × standardized value.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext_lazy as _

DAY_6M = 182.5
DAY_12M = 365.25
DAY_24M = 730.5
DEFAULT_INTERVAL_DAYS = 150.0  # a customer's usual interval when they have fewer than two visits
DEFAULT_KM_PER_DAY = 40.0  # when fewer than two mileage readings
DEFAULT_DISTANCE_KM = 20.0  # when the store has not filled the distance
LOW_SURVEY_SCORE = 900  # on the carmaker's 1000-point scale (`followups.AnswerSheet.score_total`)

# (name, label when the value is high, label when the value is low): a reason is shown in the direction of the
# customer's standardized value, so a negative coefficient on visits reads "few visits".
FEATURES: tuple[tuple[str, object, object], ...] = (
    ("days_since_last_visit", _("Long since the last visit"), _("Visited recently")),
    ("overdue_ratio", _("Overdue against their usual interval"), _("Within their usual interval")),
    ("days_overdue", _("Days overdue against their usual interval"), _("Not overdue")),
    ("missed_a_visit", _("Missed their usual visit"), _("Has not missed a visit")),
    ("visits_12m", _("Many visits in 12 months"), _("Few visits in 12 months")),
    ("visits_24m", _("Many visits in 24 months"), _("Few visits in 24 months")),
    ("spend_12m", _("High spend in 12 months"), _("Low spend in 12 months")),
    ("spend_24m", _("High spend in 24 months"), _("Low spend in 24 months")),
    ("vehicle_age_years", _("Older vehicle"), _("Newer vehicle")),
    ("warranty_ended", _("Warranty has ended"), _("Still under warranty")),
    ("years_past_warranty", _("Long past the warranty end"), _("Far from the warranty end")),
    ("km_per_day", _("Drives a lot"), _("Drives little")),
    ("complaints_6m", _("Complaint in the last 6 months"), _("No recent complaint")),
    ("survey_low", _("Last survey score under 900"), _("Last survey score 900 or more")),
    ("survey_score", _("High last survey score"), _("Low last survey score")),
    ("no_survey", _("No survey answered"), _("Answered a survey")),
    ("distance_km", _("Lives far from the store"), _("Lives near the store")),
    ("km_beyond_20", _("More than 20 km from the store"), _("Within 20 km of the store")),
    ("books_appointments", _("Books appointments"), _("Does not book appointments")),
)
FEATURE_NAMES: tuple[str, ...] = tuple(f[0] for f in FEATURES)
_LABELS = {f[0]: (f[1], f[2]) for f in FEATURES}

AGGREGATES = (
    "last_visit", "first_visit", "n_visits", "visits_6m", "visits_12m", "visits_24m", "spend_12m", "spend_24m",
    "mileage_min", "mileage_max", "mileage_day_min", "mileage_day_max", "delivery", "warranty_end",
    "complaints_6m", "survey_score", "distance_km", "books_appointments",
)


def empty_aggregates(n: int) -> dict[str, np.ndarray]:
    """Per-customer aggregates (days are day numbers, nan when unknown), all customers unknown."""
    agg = {k: np.full(n, np.nan) for k in AGGREGATES}
    for k in ("n_visits", "visits_6m", "visits_12m", "visits_24m", "spend_12m", "spend_24m", "complaints_6m",
              "books_appointments"):
        agg[k] = np.zeros(n)
    return agg


def features_assemble(agg: dict[str, np.ndarray], cutoff: float) -> np.ndarray:
    """The feature matrix (customers × `FEATURE_NAMES`) from the aggregates as of day `cutoff`."""
    since = cutoff - agg["last_visit"]
    days_since = np.where(np.isnan(since), DAY_24M, since)
    n = agg["n_visits"]
    span = agg["last_visit"] - agg["first_visit"]
    with np.errstate(invalid="ignore", divide="ignore"):
        interval = np.where(n >= 2, span / np.maximum(n - 1, 1), DEFAULT_INTERVAL_DAYS)
        interval = np.clip(np.nan_to_num(interval, nan=DEFAULT_INTERVAL_DAYS), 30, 730)
        km_days = agg["mileage_day_max"] - agg["mileage_day_min"]
        rate = (agg["mileage_max"] - agg["mileage_min"]) / km_days
    rate = np.where((km_days >= 30) & np.isfinite(rate) & (rate >= 0), rate, DEFAULT_KM_PER_DAY)
    age = np.nan_to_num((cutoff - agg["delivery"]) / DAY_12M, nan=3.0)
    past = (cutoff - agg["warranty_end"]) / DAY_12M
    ended = np.nan_to_num((past >= 0).astype(float) * ~np.isnan(past), nan=0.0)
    score = agg["survey_score"]
    distance = np.nan_to_num(agg["distance_km"], nan=DEFAULT_DISTANCE_KM)
    return np.column_stack([
        days_since,
        days_since / interval,
        np.maximum(days_since - interval, 0),
        (days_since > 1.12 * interval).astype(float),
        agg["visits_12m"],
        agg["visits_24m"],
        agg["spend_12m"] / 1000,
        agg["spend_24m"] / 1000,
        np.clip(age, 0, 30),
        ended,
        np.clip(np.nan_to_num(past, nan=0.0), -3, 5),
        np.clip(rate, 0, 500),
        agg["complaints_6m"],
        (np.nan_to_num(score, nan=1000) < LOW_SURVEY_SCORE).astype(float),
        np.nan_to_num(score, nan=950.0),
        np.isnan(score).astype(float),
        distance,
        np.maximum(distance - 20, 0),
        agg["books_appointments"],
    ])


def active_mask(agg: dict[str, np.ndarray]) -> np.ndarray:
    """Customers with a counted visit in the 6 months before the cutoff."""
    return agg["visits_6m"] > 0


# ---- the model -----------------------------------------------------------------------------------------------


@dataclass
class TrainedModel:
    pipeline: object  # sklearn Pipeline(StandardScaler, LogisticRegression)
    feature_names: tuple[str, ...] = FEATURE_NAMES

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.pipeline.predict_proba(X)[:, 1]

    def reason_codes(self) -> list[str]:
        """Every reason code, in the order `reason_index` numbers them from 1: "feature:-", "feature:+", …"""
        return [f"{n}:{sign}" for n in self.feature_names for sign in "-+"]

    def reason_index(self, X: np.ndarray, top: int = 3) -> np.ndarray:
        """The (up to) `top` features pushing each customer's risk up most, ranked by contribution (coefficient ×
        standardized value, kept above 0.05), as 1-based positions in `reason_codes` (0: no further reason):
        "feature:+" when the value is high, "feature:-" when low. A customers × `top` integer array."""
        scaler = self.pipeline.named_steps["scale"]
        z = scaler.transform(X)
        contrib = z * self.pipeline.named_steps["lr"].coef_[0]
        order = np.argsort(-contrib, axis=1)[:, :top]
        high = (np.take_along_axis(z, order, axis=1) >= 0).astype(int)
        keep = np.take_along_axis(contrib, order, axis=1) > 0.05
        return np.where(keep, 2 * order + high + 1, 0)

    def reasons(self, X: np.ndarray, top: int = 3) -> list[list[str]]:
        """The codes of `reason_index` for each customer, as lists; `reason_label` names them."""
        codes = [""] + self.reason_codes()
        return [[codes[i] for i in row if i] for row in self.reason_index(X, top).tolist()]

    def coefficients(self) -> dict[str, float]:
        lr = self.pipeline.named_steps["lr"]
        return {n: round(float(c), 4) for n, c in zip(self.feature_names, lr.coef_[0], strict=True)}

    def dumps(self) -> bytes:
        import joblib

        buf = io.BytesIO()
        joblib.dump(self.pipeline, buf)
        return buf.getvalue()

    @classmethod
    def loads(cls, data: bytes, feature_names) -> TrainedModel:
        """Only ever called on bytes of our own `ChurnModel` rows."""
        import joblib

        return cls(pipeline=joblib.load(io.BytesIO(bytes(data))), feature_names=tuple(feature_names))


def reason_label(code: str) -> str:
    """The translated label of a reason code of `TrainedModel.reasons` ("" for a code of an older model)."""
    name, _sep, sign = code.partition(":")
    labels = _LABELS.get(name)
    if labels is None:
        return ""
    return str(labels[0] if sign != "-" else labels[1])


def reason_labels(codes, top: int | None = 3, *, drop_unknown: bool = True) -> list[str]:
    """The labels of the first `top` (all when None) reason codes of a profile; the codes of an older model are
    dropped, or kept as "" (so the labels stay parallel to the codes) with `drop_unknown=False`."""
    labels = [reason_label(c) for c in list(codes or [])[:top]]
    return [label for label in labels if label] if drop_unknown else labels


def risk_percent(risk: float | None) -> int | None:
    """The churn risk as a whole percentage (None when not scored)."""
    return round(risk * 100) if risk is not None else None


def model_fit(X: np.ndarray, y: np.ndarray) -> TrainedModel:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    pipeline = Pipeline([("scale", StandardScaler()), ("lr", LogisticRegression(C=1.0, max_iter=2000))])
    pipeline.fit(X, y)
    return TrainedModel(pipeline=pipeline)


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (nan when only one class is present)."""
    from sklearn.metrics import roc_auc_score

    if len(set(np.asarray(y).tolist())) < 2:
        return float("nan")
    return float(roc_auc_score(y, score))


def risk_band(risk: float | None) -> str:
    """low < 15 % ≤ medium < 35 % ≤ high (the 6-month base rate of a store is around 10–20 %)."""
    if risk is None:
        return ""
    if risk >= 0.35:
        return "high"
    if risk >= 0.15:
        return "medium"
    return "low"
