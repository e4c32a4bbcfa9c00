from django.urls import path

from records import audit, views

app_name = "records"

urlpatterns = [
    path("animals/", views.my_animals, name="my_animals"),
    path("animals/new/", views.animal_new, name="animal_new"),
    path("animals/<id:pk>/", views.animal, name="animal"),
    path("animals/<id:pk>/edit/", views.animal_edit, name="animal_edit"),
    path("animals/<id:pk>/correction/", views.correction, name="correction"),
    path("animals/access-history/", audit.access_history, name="access_history"),
    path("patients/<id:pk>/photo/", views.patient_photo, name="patient_photo"),
    path("reports/<id:pk>/download/", views.report_download, name="report_download"),
    path("staff/", views.search, name="search"),
    path("staff/to-confirm/", views.to_confirm, name="to_confirm"),
    path("staff/patients/new/", views.patient_new, name="patient_new"),
    path("staff/patients/<id:pk>/confirm/", views.confirm_patient, name="confirm_patient"),
    path("staff/patients/<id:pk>/", views.staff_patient, name="staff_patient"),
    path("staff/patients/<id:pk>/edit/", views.patient_edit, name="patient_edit"),
    path("staff/patients/<id:pk>/link/", views.patient_link, name="patient_link"),
    path("staff/patients/<id:pk>/entries/", views.add_entry, name="add_entry"),
    path("staff/patients/<id:pk>/vaccinations/", views.add_vaccination, name="add_vaccination"),
    path("staff/patients/<id:pk>/treatments/", views.add_treatment, name="add_treatment"),
    path("staff/patients/<id:pk>/weights/", views.add_weight, name="add_weight"),
    path("staff/patients/<id:pk>/reports/upload/", views.upload_report, name="upload_report"),
    path("staff/patients/<id:pk>/reports/write/", views.write_report, name="write_report"),
    path("staff/reports/<id:pk>/publish/", views.publish_report, name="publish_report"),
    path("staff/reports/<id:pk>/delete/", views.delete_report, name="delete_report"),
    path(
        "staff/corrections/<id:pk>/resolve/",
        views.resolve_correction,
        name="resolve_correction",
    ),
]
