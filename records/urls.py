"""Staff screens of records, included at ``residents/``."""

from django.urls import path

from records import views

app_name = "records"

urlpatterns = [
    path("", views.ResidentSearchView.as_view(), name="resident_search"),
    path("non-residents/new/", views.NonResidentRegisterView.as_view(), name="non_resident_register"),
    path("<int:pk>/", views.ResidentDetailView.as_view(), name="resident_detail"),
    path("<int:pk>/reason/", views.ProtectedViewReasonView.as_view(), name="protected_reason"),
    path("<int:pk>/my-number/", views.MyNumberRevealView.as_view(), name="my_number_reveal"),
    path("<int:pk>/records/new/", views.RecordCreateView.as_view(), name="record_create"),
    path("records/<int:record_pk>/edit/", views.RecordUpdateView.as_view(), name="record_update"),
    path("records/<int:record_pk>/delete/", views.RecordDeleteView.as_view(), name="record_delete"),
]
