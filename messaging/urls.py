from django.urls import path

from messaging import views

app_name = "messaging"

urlpatterns = [
    path("", views.conversations, name="conversations"),
    path("<int:pk>/", views.conversation, name="conversation"),
    path("<int:pk>/send/", views.send, name="send"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/take/", views.take, name="take"),
    path("<int:pk>/status/", views.set_status, name="status"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    path("inbox/", views.inbox, name="inbox"),
    path("quick-replies/", views.quick_replies, name="quick_replies"),
    path("quick-replies/<int:pk>/", views.quick_reply_edit, name="quick_reply_edit"),
]
