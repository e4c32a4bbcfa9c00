from django.urls import path

from household import views

app_name = "household"

urlpatterns = [
    path("", views.home, name="home"),
    path("invite/", views.invite, name="invite"),
    path("join/<str:token>/", views.join, name="join"),
    path("links/<id:pk>/revoke/", views.revoke, name="revoke"),
    path("links/<id:pk>/leave/", views.leave, name="leave"),
    path("invitations/<id:pk>/cancel/", views.cancel, name="cancel"),
]
