from django.urls import path

from notifications import anymail_hooks, views

app_name = "notifications"

urlpatterns = [
    path("preferences/", views.preferences, name="preferences"),
    path("phone/", views.phone, name="phone"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("webhooks/sms/", views.sms_receipt, name="sms_receipt"),
    path("webhooks/sms/twilio/status/", views.twilio_status, name="twilio_status"),
    path("webhooks/sms/twilio/inbound/", views.twilio_inbound, name="twilio_inbound"),
    path("webhooks/sms/ovh/<str:token>/status/", views.ovh_status, name="ovh_status"),
    path("webhooks/sms/ovh/<str:token>/inbound/", views.ovh_inbound, name="ovh_inbound"),
    *anymail_hooks.urlpatterns,  # the ESP's tracking webhooks (e-mail bounces, deliveries)
    path("staff/", views.outbox, name="outbox"),
    path("staff/<id:pk>/", views.detail, name="detail"),
    path("staff/<id:pk>/resend/", views.resend, name="resend"),
    path("staff/clients/<id:pk>/", views.client_history, name="client_history"),
    path("staff/clients/<id:pk>/phone/", views.client_phone, name="client_phone"),
    path("staff/clients/<id:pk>/email/", views.client_email, name="client_email"),
    path("staff/templates/", views.templates, name="templates"),
    path(
        "staff/templates/<str:kind>/<str:channel>/<str:language>/",
        views.template_edit,
        name="template_edit",
    ),
    path("staff/campaigns/", views.campaigns, name="campaigns"),
    path("staff/campaigns/<id:pk>/send/", views.campaign_send, name="campaign_send"),
]
