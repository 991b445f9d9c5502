"""Administrator desk, included at ``manage/``."""

app_name = "manage"
urlpatterns: list = []
