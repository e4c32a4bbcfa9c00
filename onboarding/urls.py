from django.urls import path

from onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("", views.start, name="start"),
    path("account/", views.account, name="account"),
    path("verify/", views.verify, name="verify"),
    path("link/", views.link, name="link"),
    path("link-my-file/", views.link_record, name="link_record"),
    path("<slug:slug>/", views.day, name="day"),
    path("<slug:slug>/hold/", views.hold, name="hold"),
]
