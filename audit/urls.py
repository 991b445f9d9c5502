"""Auditor desk, included at ``audit/``."""

app_name = "audit"
urlpatterns: list = []
