from django.contrib.auth.decorators import login_not_required
from django.urls import path

from portal.urls import urlpatterns as portal_urlpatterns


@login_not_required  # the error page must reach anyone, signed in or not
def boom(request):
    raise RuntimeError("a deliberate failure for the 500 page test")


urlpatterns = [path("boom/", boom), *portal_urlpatterns]
handler500 = "portal.views.server_error"
