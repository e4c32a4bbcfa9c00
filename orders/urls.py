from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("new/", views.new, name="new"),
    path("renew/<id:pk>/", views.renew, name="renew"),
    path("<id:pk>/", views.detail, name="detail"),
    path("<id:pk>/cancel/", views.cancel, name="cancel"),
    path("<id:pk>/prescription/", views.prescription, name="prescription"),
    path("staff/", views.queue, name="queue"),
    path("staff/figures/", views.figures_page, name="figures"),
    path("staff/catalogue/", views.catalogue, name="catalogue"),
    path("staff/catalogue/<id:pk>/", views.catalogue, name="product_edit"),
    path("staff/<id:pk>/", views.staff_detail, name="staff_detail"),
    path("staff/<id:pk>/step/", views.step, name="step"),
]
