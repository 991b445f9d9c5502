"""Clinic CSV imports, included at ``imports/``."""

app_name = "imports"
urlpatterns: list = []
