from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns


def boom(request):
    raise RuntimeError("a deliberate failure for the 500 page test")


urlpatterns = [path("boom/", boom), *portal_urlpatterns]
handler500 = "portal.views.server_error"
