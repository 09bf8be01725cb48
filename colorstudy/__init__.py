"""The blinded 2AFC study site: Django project settings and the study app in one package."""
