"""URL configuration for the shop sample project (no views: it only exists for its migrations)."""

urlpatterns = []
