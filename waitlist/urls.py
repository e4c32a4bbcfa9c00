from django.urls import path

from waitlist import views

app_name = "waitlist"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("join/", views.join, name="join"),
    path("earlier/", views.earlier, name="earlier"),
    path("<id:pk>/leave/", views.leave, name="leave"),
    path("o/<str:token>/", views.offer, name="offer"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/offer/", views.staff_offer, name="staff_offer"),
    path("staff/releases/<id:pk>/withdraw/", views.staff_withdraw, name="staff_withdraw"),
    path("staff/releases/<id:pk>/book/", views.staff_book, name="staff_book"),
]
