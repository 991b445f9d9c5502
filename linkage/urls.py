from django.urls import path

from linkage import views

app_name = "linkage"

urlpatterns = [
    path("", views.ExchangeListView.as_view(), name="exchange_list"),
    path("residents/<int:pk>/query/", views.QueryStartView.as_view(), name="query_start"),
    path("exchanges/<int:pk>/", views.ExchangeDetailView.as_view(), name="exchange_detail"),
    path("exchanges/<int:pk>/retry/", views.ExchangeRetryView.as_view(), name="exchange_retry"),
    path("exchanges/<int:pk>/register/", views.ResultRegisterView.as_view(), name="result_register"),
    path("inbound/", views.InboundListView.as_view(), name="inbound_list"),
    path("inbound/<int:pk>/", views.InboundDetailView.as_view(), name="inbound_detail"),
    path("inbound/<int:pk>/approve/", views.InboundApproveView.as_view(), name="inbound_approve"),
    path("inbound/<int:pk>/refuse/", views.InboundRefuseView.as_view(), name="inbound_refuse"),
    path("records/", views.ProvisionRecordListView.as_view(), name="record_list"),
    path("records/export.csv", views.ProvisionRecordExportView.as_view(), name="record_export_csv"),
]
