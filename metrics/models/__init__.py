"""Stabilisation and metrics models, one module per area (DESIGN: metrics/).

Each area imports its models here, one line per area.
"""

from metrics.models.kpis import Kpi, KpiSample  # noqa: F401
