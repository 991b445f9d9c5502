"""Display filters for records: dates in the Japanese era form (SPEC: notices and screens show 令和…)."""

from datetime import date

from django import template

from records.rules.dates import era_of, format_era

register = template.Library()


@register.filter
def era_date(value: date | None) -> str:
    """``令和7年4月1日``; empty for no date; the ISO form for dates before the supported eras."""
    if not isinstance(value, date):
        return ""
    try:
        return format_era(value)
    except ValueError:
        return value.isoformat()


@register.filter
def era_month(value: date | None) -> str:
    """``令和7年4月`` for a year-month held as the first day of the month."""
    if not isinstance(value, date):
        return ""
    try:
        era = era_of(value)
    except ValueError:
        return value.strftime("%Y-%m")
    year = value.year - era.start.year + 1
    return f"{era.name}{'元' if year == 1 else year}年{value.month}月"
