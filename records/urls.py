from django.urls import path

from records import views

app_name = "records"

urlpatterns = [
    path("animals/", views.my_animals, name="my_animals"),
    path("animals/<int:pk>/", views.animal, name="animal"),
    path("animals/<int:pk>/correction/", views.correction, name="correction"),
    path("patients/<int:pk>/photo/", views.patient_photo, name="patient_photo"),
    path("reports/<int:pk>/download/", views.report_download, name="report_download"),
    path("staff/", views.search, name="search"),
    path("staff/patients/new/", views.patient_new, name="patient_new"),
    path("staff/patients/<int:pk>/", views.staff_patient, name="staff_patient"),
    path("staff/patients/<int:pk>/edit/", views.patient_edit, name="patient_edit"),
    path("staff/patients/<int:pk>/link/", views.patient_link, name="patient_link"),
    path("staff/patients/<int:pk>/entries/", views.add_entry, name="add_entry"),
    path("staff/patients/<int:pk>/vaccinations/", views.add_vaccination, name="add_vaccination"),
    path("staff/patients/<int:pk>/treatments/", views.add_treatment, name="add_treatment"),
    path("staff/patients/<int:pk>/weights/", views.add_weight, name="add_weight"),
    path("staff/patients/<int:pk>/reports/upload/", views.upload_report, name="upload_report"),
    path("staff/patients/<int:pk>/reports/write/", views.write_report, name="write_report"),
    path("staff/reports/<int:pk>/publish/", views.publish_report, name="publish_report"),
    path("staff/reports/<int:pk>/delete/", views.delete_report, name="delete_report"),
    path(
        "staff/corrections/<int:pk>/resolve/",
        views.resolve_correction,
        name="resolve_correction",
    ),
]
