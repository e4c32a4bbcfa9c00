from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("staff/api-keys/", views.keys, name="keys"),
    path("staff/api-keys/<id:pk>/revoke/", views.revoke, name="key_revoke"),
    path("api/docs", views.docs, name="docs"),
]
