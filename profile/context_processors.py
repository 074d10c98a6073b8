from django.conf import settings

from nowwatching import __version__


def site(request):
    """What every page's frame needs: the demo label and the version in the footer."""
    return {"demo_mode": settings.DEMO_MODE, "version": __version__}
