from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.conversations, name="conversations"),
    path("<id:pk>/", views.conversation, name="conversation"),
    path("<id:pk>/send/", views.send, name="send"),
    path("<id:pk>/assign/", views.assign, name="assign"),
    path("<id:pk>/take/", views.take, name="take"),
    path("<id:pk>/status/", views.set_status, name="status"),
    path("attachments/<id:pk>/", views.attachment, name="attachment"),
    path("inbox/", views.inbox, name="inbox"),
    path("quick-replies/", views.quick_replies, name="quick_replies"),
    path("quick-replies/<id:pk>/", views.quick_reply_edit, name="quick_reply_edit"),
]
