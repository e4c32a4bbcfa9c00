from django.urls import path

from webhooks import views

app_name = "webhooks"

urlpatterns = [
    path("staff/", views.endpoints, name="endpoints"),
    path("staff/new/", views.endpoint_new, name="endpoint_new"),
    path("staff/<id:pk>/", views.endpoint, name="endpoint"),
    path("staff/<id:pk>/active/", views.endpoint_active, name="endpoint_active"),
    path("staff/<id:pk>/deliveries/<id:delivery>/", views.delivery, name="delivery"),
    path("staff/<id:pk>/deliveries/<id:delivery>/replay/", views.replay, name="replay"),
]
