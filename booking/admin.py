from django.contrib import admin

from booking.models import (
    Appointment,
    BookingRules,
    Closure,
    ExtraOpening,
    Practitioner,
    Service,
    TimeOff,
    WeeklyHours,
)


class WeeklyHoursInline(admin.TabularInline):
    model = WeeklyHours
    extra = 0


@admin.register(Practitioner)
class PractitionerAdmin(admin.ModelAdmin):
    list_display = ["name", "site", "is_active"]
    inlines = [WeeklyHoursInline]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "duration_minutes", "buffer_minutes", "online", "is_active"]
    filter_horizontal = ["practitioners"]


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["starts_at", "patient", "practitioner", "service", "status"]
    list_filter = ["status", "practitioner"]
    date_hierarchy = "starts_at"
    raw_id_fields = ["patient", "client", "booked_by"]
    # Appointments change only through booking.services (locks, versions, notifications).
    readonly_fields = [f.name for f in Appointment._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


admin.site.register([BookingRules, Closure, ExtraOpening, TimeOff])
