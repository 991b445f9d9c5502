"""Residents' rights (seed V), included at ``rights/``."""

from django.urls import path

from rights import views

app_name = "rights"

urlpatterns = [
    path("", views.TicketListView.as_view(), name="ticket_list"),
    path("tickets/<int:pk>/", views.TicketDetailView.as_view(), name="ticket_detail"),
    path("tickets/<int:pk>/answer/", views.TicketAnswerView.as_view(), name="ticket_answer"),
    path("inquiries/new/", views.InquiryCreateView.as_view(), name="inquiry_create"),
    path("disclosures/new/", views.DisclosureCreateView.as_view(), name="disclosure_create"),
    path("disclosures/<int:pk>/document/", views.DisclosureDocumentView.as_view(), name="disclosure_document"),
    path("disclosures/<int:pk>/handover/", views.DisclosureHandoverView.as_view(), name="disclosure_handover"),
    path("corrections/new/", views.CorrectionCreateView.as_view(), name="correction_create"),
    path("corrections/<int:pk>/decide/", views.CorrectionDecideView.as_view(), name="correction_decide"),
    path("suspensions/new/", views.SuspensionCreateView.as_view(), name="suspension_create"),
    path("suspensions/<int:pk>/decide/", views.SuspensionDecideView.as_view(), name="suspension_decide"),
    path("suspensions/<int:pk>/lift/", views.SuspensionLiftView.as_view(), name="suspension_lift"),
    path("protection/", views.ProtectionListView.as_view(), name="protection"),
    path("protection/change/", views.ProtectionChangeView.as_view(), name="protection_change"),
]
