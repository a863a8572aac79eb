"""WSGI entry point: ``gunicorn wsgi:app``. Refuses to start with development secrets."""

from voting import create_app

app = create_app()
