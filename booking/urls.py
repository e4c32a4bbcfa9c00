from django.urls import path

from booking import views

app_name = "booking"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("new/", views.new, name="new"),
    path("new/confirm/", views.confirm, name="confirm"),
    path("<id:pk>/", views.detail, name="detail"),
    path("<id:pk>/ics/", views.ics_download, name="ics"),
    path("<id:pk>/cancel/", views.cancel, name="cancel"),
    path("<id:pk>/move/", views.move, name="move"),
    path("r/<str:token>/", views.one_tap, name="one_tap"),
    path("staff/agenda/", views.agenda, name="agenda"),
    path("staff/book/", views.staff_book, name="staff_book"),
    path("staff/appointments/<id:pk>/", views.staff_appointment, name="staff_appointment"),
    path("staff/appointments/<id:pk>/cancel/", views.staff_cancel, name="staff_cancel"),
    path("staff/appointments/<id:pk>/outcome/", views.staff_outcome, name="staff_outcome"),
    path("staff/appointments/<id:pk>/move/", views.staff_move, name="staff_move"),
    path("staff/appointments/<id:pk>/mark/", views.staff_mark, name="staff_mark"),
    path("staff/hours/", views.hours, name="hours"),
    path("staff/absences/<str:kind>/<id:pk>/", views.absence, name="absence"),
    path("staff/rules/", views.rules, name="rules"),
    path("staff/services/", views.services_page, name="services"),
    path("staff/services/<id:pk>/", views.services_page, name="service_edit"),
    path("staff/feeds/", views.feeds, name="feeds"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
]
